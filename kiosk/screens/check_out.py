"""Check out by holding the visitor badge's QR code up to the camera."""

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from kiosk.hub_client import HubError
from kiosk.screens.base import KioskScreen, back_button
from kiosk.screens.wording import explanation
from kiosk.widgets.camera_scanner import CameraScanner

PROMPT = "Hold the QR code on your visitor badge up to the camera."


class CheckOutScreen(KioskScreen[None]):
    """Reads the badge, checks the visit out at the hub, and says goodbye (or why not)."""

    def __init__(self) -> None:
        super().__init__(id="check-out")

    def compose(self) -> ComposeResult:
        with Vertical(classes="body"):
            yield Static("Check out", classes="title")
            yield Static(PROMPT, id="message", markup=False)
            yield CameraScanner(self.kiosk.camera, frame_interval_s=self.kiosk.frame_interval_s, id="scanner")
            yield Horizontal(id="actions", classes="actions")
            yield back_button("Cancel")

    def on_mount(self) -> None:
        self.query_one(CameraScanner).start()

    def _say(self, message: str, *buttons: Button) -> None:
        self.query_one("#message", Static).update(message)
        actions = self.query_one("#actions", Horizontal)
        actions.remove_children()
        actions.mount_all(buttons)
        if buttons:
            self.call_after_refresh(buttons[0].focus)

    def on_camera_scanner_code_read(self, event: CameraScanner.CodeRead) -> None:
        self.query_one(CameraScanner).update("Code read. Checking you out…")
        self._check_out(event.text)

    def on_camera_scanner_camera_failed(self, event: CameraScanner.CameraFailed) -> None:
        self.query_one(CameraScanner).update(event.reason)
        self._say("The camera is not working, so your badge cannot be read. Please hand it to reception.")

    @work(exclusive=True, group="hub", exit_on_error=False)
    async def _check_out(self, token: str) -> None:
        try:
            visit = await self.kiosk.client.check_out(token)
        except HubError as error:
            self._say(
                f"{explanation(error)}\nTry again, or hand your badge to reception.",
                Button("Try again", id="retry", classes="big"),
            )
            return
        self.query_one(CameraScanner).update("")
        self._say(
            f"Goodbye, {visit.visitor_name}. You are checked out. Thank you for visiting!",
            Button("Finish", id="finish", classes="big primary", variant="primary"),
        )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "retry":
            self._say(PROMPT)
            self.query_one(CameraScanner).start()
        elif event.button.id == "finish":
            self.dismiss(None)
