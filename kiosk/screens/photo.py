"""An optional photo for the badge: one camera frame, sent to the hub as a small JPEG."""

import base64
from dataclasses import dataclass

import cv2
import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from kiosk.camera import CameraUnavailable, Frame, open_camera
from kiosk.screens.base import KioskScreen, back_button

PHOTO_WIDTH = 480
"""Badge photos are small; a full 720p frame would only cost upload time and storage."""
JPEG_QUALITY = 80


@dataclass(frozen=True, slots=True)
class Photo:
    """The visitor's choice: a JPEG (base64) or ``None`` for no photo."""

    jpeg_b64: str | None


def frame_to_jpeg_b64(frame: Frame, *, width: int = PHOTO_WIDTH) -> str:
    """A frame shrunk to ``width`` pixels wide (never enlarged) as base64 JPEG."""
    height, original = frame.shape[:2]
    if original > width:
        size = (width, round(height * width / original))
        frame = np.asarray(cv2.resize(frame, size, interpolation=cv2.INTER_AREA), np.uint8)
    ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise CameraUnavailable("The picture could not be encoded.")
    return base64.b64encode(encoded.tobytes()).decode("ascii")


def take_photo(source: str | None) -> str:
    """One frame from the camera as base64 JPEG; :class:`CameraUnavailable` when there is none."""
    if source is None:
        raise CameraUnavailable("This kiosk has no camera set up.")
    with open_camera(source) as frames:
        for frame in frames:
            return frame_to_jpeg_b64(frame)
    raise CameraUnavailable("The camera sent no picture.")


class PhotoScreen(KioskScreen[Photo]):
    """Take a photo, retake it, or skip; dismisses with :class:`Photo`, or None on Back."""

    def __init__(self) -> None:
        super().__init__(id="photo")
        self._jpeg: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="body"):
            yield Static("A photo for your badge", classes="title")
            yield Static("Look at the camera and tap Take photo, or skip this step.", id="message")
            with Horizontal(id="actions", classes="actions"):
                yield Button("Take photo", id="take", classes="big primary", variant="primary")
                yield Button("Skip", id="skip", classes="big")
            yield back_button()

    @work(thread=True, exclusive=True, group="camera", exit_on_error=False)
    def _take(self) -> None:
        try:
            jpeg = take_photo(self.kiosk.camera)
        except CameraUnavailable as error:
            self.app.call_from_thread(self._show, f"No photo: {error} You can skip this step.", taken=False)
            return
        self._jpeg = jpeg
        self.app.call_from_thread(self._show, f"Photo taken ({len(jpeg) * 3 // 4 // 1024} kB).", taken=True)

    def _show(self, message: str, *, taken: bool) -> None:
        self.query_one("#message", Static).update(message)
        self.query_one("#take", Button).label = "Retake" if taken else "Take photo"
        if taken:
            actions = self.query_one("#actions", Horizontal)
            if not self.query("#use"):
                actions.mount(Button("Use this photo", id="use", classes="big primary", variant="primary"), before=0)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "take":
            self.query_one("#message", Static).update("Smile…")
            self._take()
        elif event.button.id == "use" and self._jpeg:
            self.dismiss(Photo(self._jpeg))
        elif event.button.id == "skip":
            self.dismiss(Photo(None))
