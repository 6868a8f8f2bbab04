"""Where the kiosk's frames come from: a camera, a video file, a stream URL, a folder of images or one image.

``open_camera`` takes what ``--camera`` was given and returns a source that is both a context
manager and an iterator of BGR frames. It reads the first frame at once, so a missing camera or an
unreadable file is reported before the kiosk starts, as :class:`CameraUnavailable` with advice.
"""

import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Self

import cv2
import numpy as np
from numpy.typing import NDArray

from hub.errors import AtriumError

log = logging.getLogger(__name__)

Frame = NDArray[np.uint8]
"""A camera frame: BGR (height, width, 3), BGRA (4 channels) or grey (height, width)."""

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
LIVE_SIZE = (1280, 720)
"""Frame size asked of live cameras; webcams often start at 640x480, too coarse for a QR code held at arm's length."""
_CHOICES = "Use --camera with a camera index (0, 1, ...), a video file, or a folder of images."


class CameraUnavailable(AtriumError):
    """No frames can be had from the source; the message says what to try instead."""


class FrameSource(ABC):
    """Frames from somewhere, as a context manager and an iterator; ``description`` names it for people."""

    description: str

    def __iter__(self) -> Iterator[Frame]:
        return self

    @abstractmethod
    def __next__(self) -> Frame: ...

    @abstractmethod
    def close(self) -> None:
        """Release the device or file; iteration ends."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


class CaptureSource(FrameSource):
    """A camera, stream or video file read through OpenCV's VideoCapture."""

    def __init__(self, capture: cv2.VideoCapture, description: str, *, live: bool, loop: bool) -> None:
        self.description = description
        self._capture = capture
        self._live = live
        self._loop = loop and not live
        self._first = _read(capture)
        if self._first is None:
            capture.release()
            raise CameraUnavailable(
                f"The {description} sends no frames"
                + (" (is another program using it?). " if live else ": OpenCV cannot decode it. ")
                + _CHOICES
            )

    def __next__(self) -> Frame:
        first, self._first = self._first, None
        if first is not None:
            return first
        if not self._capture.isOpened():
            raise StopIteration
        frame = _read(self._capture)
        if frame is not None:
            return frame
        if self._live:
            self.close()
            raise CameraUnavailable(
                f"The {self.description} stopped sending frames. Check its cable or network. {_CHOICES}"
            )
        if self._loop and self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0):
            frame = _read(self._capture)
            if frame is not None:
                return frame
        self.close()
        raise StopIteration

    def close(self) -> None:
        self._capture.release()


class ImageSource(FrameSource):
    """Still images in a fixed order: a folder of test frames, or one picture of an invitation."""

    def __init__(self, paths: list[Path], description: str, *, loop: bool) -> None:
        self.description = description
        self._paths = paths
        self._loop = loop
        self._index = 0
        self._read_in_pass = 0
        self._closed = False

    def __next__(self) -> Frame:
        while not self._closed:
            if self._index == len(self._paths):
                if not self._loop or not self._read_in_pass:
                    break
                self._index, self._read_in_pass = 0, 0
            path = self._paths[self._index]
            self._index += 1
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                log.warning("Skipping %s: not an image OpenCV can read", path)
                continue
            self._read_in_pass += 1
            return np.asarray(image, np.uint8)
        self._closed = True
        raise StopIteration

    def close(self) -> None:
        self._closed = True


def open_camera(source: str | int | Path, *, loop: bool = False) -> FrameSource:
    """Open what ``--camera`` names: an index or digits (a camera), a URL (a stream), a folder of .png and
    .jpg images (name order), an image, or a video file. ``loop`` replays files and folders from the start."""
    if isinstance(source, int) or (isinstance(source, str) and source.isdigit()):
        return _open_device(int(source))
    if isinstance(source, str) and "://" in source:
        return CaptureSource(_capture(source, f"stream {source}"), f"stream {source}", live=True, loop=False)
    path = Path(source)
    if path.is_dir():
        images = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise CameraUnavailable(f"No .png or .jpg images in the folder {path}. {_CHOICES}")
        return ImageSource(images, f"folder {path} ({len(images)} images)", loop=loop)
    if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource([path], f"image {path}", loop=loop)
    if path.is_file():
        return CaptureSource(_capture(str(path), f"video file {path}"), f"video file {path}", live=False, loop=loop)
    raise CameraUnavailable(f"No such file or folder: {path}. {_CHOICES}")


def _open_device(index: int) -> FrameSource:
    advice = "Use --camera PATH to read a video file or a folder of images."
    if index < 0:
        raise CameraUnavailable(f"No camera at index {index}. {advice}")
    with _quiet_opencv():
        capture = cv2.VideoCapture(index)
    if not capture.isOpened():
        raise CameraUnavailable(f"No camera at index {index}. {advice}")
    capture.set(cv2.CAP_PROP_FRAME_WIDTH, LIVE_SIZE[0])
    capture.set(cv2.CAP_PROP_FRAME_HEIGHT, LIVE_SIZE[1])
    return CaptureSource(capture, f"camera at index {index}", live=True, loop=False)


def _capture(target: str, description: str) -> cv2.VideoCapture:
    with _quiet_opencv():
        capture = cv2.VideoCapture(target)
    if not capture.isOpened():
        raise CameraUnavailable(f"Cannot open the {description}. {_CHOICES}")
    return capture


def _read(capture: cv2.VideoCapture) -> Frame | None:
    ok, frame = capture.read()
    return np.asarray(frame, np.uint8) if ok else None


@contextlib.contextmanager
def _quiet_opencv() -> Iterator[None]:
    """OpenCV warns on stderr when a device is missing, which would scribble over the kiosk's screen."""
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(previous)
