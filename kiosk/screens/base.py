"""What every kiosk screen has: Escape for Back, a Back button, and a typed way to reach the app."""

from typing import TYPE_CHECKING, ClassVar, TypeVar

from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Button

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
