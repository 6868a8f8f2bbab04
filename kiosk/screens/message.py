"""A full-screen message with a few choices: what a flow shows when it cannot go on."""

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from kiosk.screens.base import KioskScreen, back_button


class MessageScreen(KioskScreen[str]):
    """Dismisses with the id of the choice tapped, or None on Back."""

    def __init__(self, title: str, text: str, choices: dict[str, str] | None = None) -> None:
        super().__init__(id="message-screen")
        self.heading = title
        self.text = text
        self.choices = dict(choices or {})

    def compose(self) -> ComposeResult:
        with Vertical(classes="body"):
            yield Static(self.heading, classes="title", markup=False)
            yield Static(self.text, id="message", markup=False)
            with Horizontal(classes="actions"):
                for choice, label in self.choices.items():
                    yield Button(label, id=choice, classes="big primary", variant="primary")
                yield back_button("Back to start")

    def on_mount(self) -> None:
        self.query(Button).first().focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id in self.choices:
            event.stop()
            self.dismiss(event.button.id)
