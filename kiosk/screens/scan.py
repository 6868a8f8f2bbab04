"""Check in with an invitation: read its QR code, ask the hub who it is for, and let the visitor confirm."""

from dataclasses import dataclass
from typing import Literal

from textual import work
from textual.widgets import Button

from kiosk.hub_client import HubDenied, HubError, ScanPreview
from kiosk.screens.base import CameraScreen
from kiosk.screens.wording import explanation
from kiosk.widgets.camera_scanner import CameraScanner

WALK_IN: Literal["walk-in"] = "walk-in"


@dataclass(frozen=True, slots=True)
class Invitation:
    """An invitation the visitor confirmed is theirs."""

    token: str
    preview: ScanPreview


ScanOutcome = Invitation | Literal["walk-in"]


class ScanScreen(CameraScreen[ScanOutcome]):
    """Dismisses with the confirmed :class:`Invitation`, ``"walk-in"`` when the visitor takes that path, or None."""

    TITLE_TEXT = "Check in with your invitation"
    PROMPT = "Hold the QR code from your invitation up to the camera."

    def __init__(self) -> None:
        super().__init__(id="scan")
        self._token: str | None = None
        self._preview: ScanPreview | None = None

    def on_camera_scanner_code_read(self, event: CameraScanner.CodeRead) -> None:
        self._token = event.text
        self.scanner.update("Code read. Checking it…")
        self._check(event.text)

    def on_camera_scanner_camera_failed(self, event: CameraScanner.CameraFailed) -> None:
        self.scanner.update(event.reason)
        self.say(
            "The camera is not working, so your QR code cannot be read. "
            "You can check in without an invitation, or ask reception.",
            _walk_in_button(),
        )

    @work(exclusive=True, group="hub", exit_on_error=False)
    async def _check(self, token: str) -> None:
        try:
            preview = await self.kiosk.client.scan(token)
        except HubDenied as denied:
            self.say(explanation(denied))  # no other way in works either: only reception can help
            return
        except HubError as error:
            self.say(
                f"{explanation(error)}\nYou can try again, check in without an invitation, or ask reception.",
                Button("Try again", id="retry", classes="big"),
                _walk_in_button(),
            )
            return
        self._preview = preview
        if preview.kind == "checkout":
            self.say(
                f"This is the badge of {preview.visitor_name}. Leaving? Check out here.",
                Button("Check me out", id="check-out", classes="big primary", variant="primary"),
                Button("Try again", id="retry", classes="big"),
            )
            return
        company = f" from {preview.company}" if preview.company else ""
        host = f"\nYou are visiting {preview.host_name}." if preview.host_name else ""
        self.say(
            f"Welcome, {preview.visitor_name}{company}.{host}\nIs this you?",
            Button("Yes, check me in", id="confirm", classes="big primary", variant="primary"),
            Button("No, that's not me", id="retry", classes="big"),
        )

    @work(exclusive=True, group="hub", exit_on_error=False)
    async def _check_out(self, token: str) -> None:
        try:
            visit = await self.kiosk.client.check_out(token)
        except HubError as error:
            self.say(explanation(error), Button("Try again", id="retry", classes="big"))
            return
        self.say(
            f"Goodbye, {visit.visitor_name}. You are checked out. Thank you for visiting!",
            Button("Finish", id="finish", classes="big primary", variant="primary"),
        )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "retry":
            self._token = self._preview = None
            self.say("Hold the QR code from your invitation up to the camera.")
            self.scanner.start()
        elif event.button.id == "walk-in":
            self.dismiss(WALK_IN)
        elif event.button.id == "confirm" and self._token and self._preview:
            self.dismiss(Invitation(self._token, self._preview))
        elif event.button.id == "check-out" and self._token:
            self._check_out(self._token)
        elif event.button.id == "finish":
            self.dismiss(None)


def _walk_in_button() -> Button:
    return Button("Check in without an invitation", id="walk-in", classes="big primary", variant="primary")
