"""Check out by holding the visitor badge's QR code up to the camera."""

from textual import work
from textual.widgets import Button

from kiosk.hub_client import HubDenied, HubError
from kiosk.screens.base import CameraScreen
from kiosk.screens.wording import explanation
from kiosk.widgets.camera_scanner import CameraScanner


class CheckOutScreen(CameraScreen[None]):
    """Reads the badge, checks the visit out at the hub, and says goodbye (or why not)."""

    TITLE_TEXT = "Check out"
    PROMPT = "Hold the QR code on your visitor badge up to the camera."

    def __init__(self) -> None:
        super().__init__(id="check-out")

    def on_camera_scanner_code_read(self, event: CameraScanner.CodeRead) -> None:
        self.scanner.update("Code read. Checking you out…")
        self._check_out(event.text)

    def on_camera_scanner_camera_failed(self, event: CameraScanner.CameraFailed) -> None:
        self.scanner.update(event.reason)
        self.say("The camera is not working, so your badge cannot be read. Please hand it to reception.")

    @work(exclusive=True, group="hub", exit_on_error=False)
    async def _check_out(self, token: str) -> None:
        try:
            visit = await self.kiosk.client.check_out(token)
        except HubDenied as denied:
            self.say(f"{explanation(denied)}\nPlease hand your badge to reception.")
            return
        except HubError as error:
            self.say(
                f"{explanation(error)}\nTry again, or hand your badge to reception.",
                Button("Try again", id="retry", classes="big"),
            )
            return
        self.scanner.update("")
        self.say(
            f"Goodbye, {visit.visitor_name}. You are checked out. Thank you for visiting!",
            Button("Finish", id="finish", classes="big primary", variant="primary"),
        )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "retry":
            self.say(self.PROMPT)
            self.scanner.start()
        elif event.button.id == "finish":
            self.dismiss(None)
