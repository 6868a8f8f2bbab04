"""A camera read in a thread until a QR code shows up: the part the scan and check-out screens share."""

import time

from textual.message import Message
from textual.widgets import Static
from textual.worker import get_current_worker

from kiosk.camera import CameraUnavailable, open_camera
from kiosk.decode import QrReader

NO_CAMERA = "This kiosk has no camera set up."


class CameraScanner(Static):
    """Shows what the camera is doing; posts :class:`CodeRead` once per :meth:`start`, or :class:`CameraFailed`.

    Frames are read and decoded in a thread worker so a slow decode never freezes the screen; the
    worker stops at the first code, when the widget goes away, or when the source runs dry.
    """

    class CodeRead(Message):
        """A QR code's text, as read from the camera."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class CameraFailed(Message):
        """No frames can be read; ``reason`` says why, for staff."""

        def __init__(self, reason: str) -> None:
            super().__init__()
            self.reason = reason

    def __init__(self, source: str | None, *, frame_interval_s: float = 0.05, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.source = source
        self.frame_interval_s = frame_interval_s

    def start(self) -> None:
        """Look for a code (again), replacing any scan in progress."""
        self.update("Looking for a QR code…")
        self.run_worker(self._scan, thread=True, exclusive=True, group="camera", exit_on_error=False)

    def stop(self) -> None:
        """Stop looking."""
        self.workers.cancel_group(self, "camera")

    def _scan(self) -> None:
        worker = get_current_worker()
        if self.source is None:
            self.post_message(self.CameraFailed(NO_CAMERA))
            return
        reader = QrReader(fallback_every=3)
        try:
            with open_camera(self.source, loop=True) as frames:
                for frame in frames:
                    if worker.is_cancelled:
                        return
                    texts = reader.read(frame)
                    if texts:
                        self.post_message(self.CodeRead(texts[0]))
                        return
                    time.sleep(self.frame_interval_s)
        except CameraUnavailable as error:
            if not worker.is_cancelled:
                self.post_message(self.CameraFailed(str(error)))
            return
        if not worker.is_cancelled:
            self.post_message(self.CameraFailed("The camera stopped sending pictures."))
