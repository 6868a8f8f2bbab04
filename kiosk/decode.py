"""QR codes in camera frames: zxing-cpp first, then OpenCV's two detectors, then zxing-cpp on sharpened images.

zxing-cpp reads the most frames and is the fastest by far (a couple of milliseconds for a 720p
frame), so every frame goes to it; the other stages run only when it finds nothing, which makes the
decoder a superset of zxing-cpp alone. OpenCV's detectors locate codes their own way; the sharpened
retry answers the kiosk's most common failure: a fixed-focus webcam, focused at a metre or more,
sees a phone held close as blurred. Stages that find nothing cost time on every frame without a QR
code, so :class:`QrReader` can run them on one empty frame in N (figures in ``bench/README.md``).
"""

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import cv2
import numpy as np
import zxingcpp
from numpy.typing import NDArray

from kiosk.camera import Frame

log = logging.getLogger(__name__)

_QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
SHARPEN_PASSES: tuple[tuple[float, float], ...] = ((2.0, 1.5), (3.0, 3.0))
"""Unsharp masks tried in turn, as (Gaussian sigma in pixels, amount): mild defocus, then strong."""


class Stage(StrEnum):
    """The step of the cascade that read a frame."""

    ZXING = "zxing"
    OPENCV_ARUCO = "opencv_aruco"
    OPENCV = "opencv"
    SHARPENED = "sharpened"


def to_gray(frame: NDArray[np.generic]) -> Frame:
    """The frame as one contiguous 8-bit grey plane, which every stage reads (and which halves zxing-cpp's time)."""
    if frame.dtype != np.uint8:
        raise ValueError(f"frames must be 8-bit images, got dtype {frame.dtype}")
    image = np.asarray(frame, np.uint8)
    if image.ndim == 3 and image.shape[2] in (3, 4):
        code = cv2.COLOR_BGR2GRAY if image.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
        return np.asarray(cv2.cvtColor(image, code), np.uint8)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim != 2:
        raise ValueError(f"frames must be BGR, BGRA or grey images, got shape {image.shape}")
    return np.ascontiguousarray(image)


def read_zxing(gray: Frame) -> list[str]:
    """QR codes zxing-cpp finds, in any orientation, at full and reduced scale, dark or light."""
    found = zxingcpp.read_barcodes(
        gray, formats=_QR_ONLY, try_rotate=True, try_downscale=True, try_invert=True, text_mode=zxingcpp.TextMode.Plain
    )
    return [barcode.text for barcode in found if barcode.valid]


def read_opencv(detector: cv2.QRCodeDetector | cv2.QRCodeDetectorAruco, gray: Frame) -> list[str]:
    """The QR code one of OpenCV's detectors finds, if any (it reads one code per frame)."""
    try:
        text, _points, _straight = detector.detectAndDecode(gray)
    except cv2.error:  # some degenerate detections fail an assertion inside OpenCV: read as no code
        log.debug("OpenCV's QR detector failed on a frame", exc_info=True)
        return []
    return [text] if text else []


def read_sharpened(gray: Frame) -> list[str]:
    """zxing-cpp on the frame after each unsharp mask of :data:`SHARPEN_PASSES`, until one reads."""
    for sigma, amount in SHARPEN_PASSES:
        blurred = cv2.GaussianBlur(gray, (0, 0), sigma)
        found = read_zxing(np.asarray(cv2.addWeighted(gray, 1 + amount, blurred, -amount, 0), np.uint8))
        if found:
            return found
    return []


@dataclass
class ReaderStats:
    """What a reader has done: frames seen, which stage read them, and time spent."""

    frames: int = 0
    read_by: Counter[Stage] = field(default_factory=Counter)
    fallbacks_skipped: int = 0
    total_ms: float = 0.0
    last_ms: float = 0.0
    slowest_ms: float = 0.0

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.frames if self.frames else 0.0


class QrReader:
    """The kiosk's decoder: holds OpenCV's detectors between frames and keeps :class:`ReaderStats`.

    ``fallback_every=N`` runs the stages after zxing-cpp on one frame in N of those zxing-cpp finds
    nothing on; 1 (the default) runs them on every frame. Not thread-safe: one reader per camera.
    """

    def __init__(self, *, fallback_every: int = 1) -> None:
        if fallback_every < 1:
            raise ValueError("fallback_every must be 1 or more")
        self.fallback_every = fallback_every
        self.stats = ReaderStats()
        self._aruco = cv2.QRCodeDetectorAruco()
        self._opencv = cv2.QRCodeDetector()
        self._misses = 0

    def read(self, frame: NDArray[np.generic]) -> list[str]:
        """The texts of the QR codes in ``frame``, each once, in the order found; [] when there are none."""
        started = time.perf_counter()
        texts, stage = self._cascade(to_gray(frame))
        elapsed_ms = (time.perf_counter() - started) * 1000
        stats = self.stats
        stats.frames += 1
        stats.total_ms += elapsed_ms
        stats.last_ms = elapsed_ms
        stats.slowest_ms = max(stats.slowest_ms, elapsed_ms)
        if stage is not None:
            stats.read_by[stage] += 1
        return list(dict.fromkeys(texts))

    def _cascade(self, gray: Frame) -> tuple[list[str], Stage | None]:
        texts = read_zxing(gray)
        if texts:
            return texts, Stage.ZXING
        self._misses += 1
        if (self._misses - 1) % self.fallback_every:
            self.stats.fallbacks_skipped += 1
            return [], None
        stages: tuple[tuple[Stage, Callable[[Frame], list[str]]], ...] = (
            (Stage.OPENCV_ARUCO, lambda image: read_opencv(self._aruco, image)),
            (Stage.OPENCV, lambda image: read_opencv(self._opencv, image)),
            (Stage.SHARPENED, read_sharpened),
        )
        for stage, read in stages:
            texts = read(gray)
            if texts:
                return texts, stage
        return [], None


def decode_frame(frame: NDArray[np.generic]) -> list[str]:
    """The texts of the QR codes in one frame, by the whole cascade; [] when there are none."""
    return QrReader().read(frame)
