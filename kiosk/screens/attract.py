"""The idle screen: a welcome and the four ways in."""

from enum import StrEnum

from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.message import Message
from textual.widgets import Button, Static

from kiosk.screens.base import KioskScreen


class Choice(StrEnum):
    """What a visitor (or staff member) tapped on the attract screen; the value is the button's id."""

    QR = "qr"
    WALK_IN = "walk-in"
    CHECK_OUT = "check-out"
    ROLL_CALL = "roll-call"


class AttractScreen(KioskScreen[None]):
    """Welcome — tap to check in. The app starts a flow for each :class:`Chosen`."""

    class Chosen(Message):
        def __init__(self, choice: Choice) -> None:
            super().__init__()
            self.choice = choice

    def __init__(self, site_name: str = "") -> None:
        super().__init__(id="attract")
        self.site_name = site_name

    def compose(self) -> ComposeResult:
        with Vertical(id="attract-body"):
            yield Static("Welcome", classes="title")
            if self.site_name:
                yield Static(self.site_name, classes="subtitle", markup=False)
            yield Static("Tap to check in", classes="subtitle")
            with Center():
                yield Button("I have a QR code", id=Choice.QR, classes="big primary", variant="primary")
            with Center():
                yield Button("I don't have an invitation", id=Choice.WALK_IN, classes="big")
            with Center():
                yield Button("Check out", id=Choice.CHECK_OUT, classes="big")
            with Center():
                yield Button("Roll call (staff)", id=Choice.ROLL_CALL, classes="big secondary")

    def on_mount(self) -> None:
        self.query_one(f"#{Choice.QR}", Button).focus()

    def action_back(self) -> None:
        """Nothing to go back to: this is where everything returns."""

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id in set(Choice):
            event.stop()
            self.post_message(self.Chosen(Choice(event.button.id)))
