"""What every kiosk screen has (Escape for Back, a Back button, a typed way to reach the app), and camera screens."""

from typing import TYPE_CHECKING, ClassVar, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Static

from kiosk.widgets.camera_scanner import CameraScanner

if TYPE_CHECKING:
    from kiosk.app import KioskApp

T = TypeVar("T")


class KioskScreen(Screen[T]):
    """A full screen of the kiosk that dismisses with ``None`` on Back (the Escape key or the Back button)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back", priority=True)]

    def on_screen_resume(self) -> None:
        """A screen appearing counts as activity: the visitor gets the whole timeout to read it."""
        self.kiosk.touch()

    def action_back(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.kiosk.touch()
        if event.button.id == "back":
            event.stop()
            self.action_back()

    @property
    def kiosk(self) -> "KioskApp":
        """The running kiosk app: its hub client and settings."""
        from kiosk.app import KioskApp

        if not isinstance(self.app, KioskApp):
            raise RuntimeError("kiosk screens run inside KioskApp")
        return self.app


def back_button(label: str = "Back") -> Button:
    """The Back/Cancel button every screen shows (Escape does the same)."""
    return Button(label, id="back", classes="big secondary")


class CameraScreen(KioskScreen[T]):
    """A screen that reads a QR code with the camera: a title, a message, the scanner, and buttons as it goes."""

    TITLE_TEXT = ""
    PROMPT = ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="body"):
            yield Static(self.TITLE_TEXT, classes="title")
            yield Static(self.PROMPT, id="message", markup=False)
            yield CameraScanner(self.kiosk.camera, frame_interval_s=self.kiosk.frame_interval_s, id="scanner")
            yield Horizontal(id="actions", classes="actions")
            yield back_button("Cancel")

    def on_mount(self) -> None:
        self.scanner.start()

    @property
    def scanner(self) -> CameraScanner:
        return self.query_one(CameraScanner)

    def say(self, message: str, *buttons: Button) -> None:
        """Show ``message`` and offer ``buttons`` (the first takes the focus)."""
        self.query_one("#message", Static).update(message)
        actions = self.query_one("#actions", Horizontal)
        actions.remove_children()
        actions.mount_all(buttons)
        if buttons:
            self.call_after_refresh(buttons[0].focus)
