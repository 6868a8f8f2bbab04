"""A generated set of 720p camera frames, each showing one signed QR token, for the decoder's tests and benchmark.

Each frame is a cluttered grey scene with a phone held up to the camera: a dark bezel around a
white screen that shows the QR code of a real token (issued with :data:`TEST_KEY`). The phone is
placed by a pinhole camera model (size, in-plane rotation, tilt away from the camera), then the
frame goes through what a webcam does to it: lens blur, motion blur, exposure, sensor noise, JPEG.
:data:`PERTURBATIONS` lists the conditions, each labelled clean, mild (what a visitor does in
practice: every one must be read) or hard (far, shaken, dim, glared: read as many as possible).
The same seed gives the same frames, byte for byte.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import cv2
import numpy as np
from numpy.typing import NDArray

from hub.services.qr_render import qr_modules
from hub.services.qr_tokens import NONCE_BYTES, TokenKind, issue
from kiosk.camera import Frame

FRAME_WIDTH, FRAME_HEIGHT = 1280, 720
TEST_KEY_ID = "test"
TEST_KEY = b"atrium test set key, not a secret"
VISIT_WINDOW = (datetime(2030, 1, 7, 9, 0, tzinfo=UTC), datetime(2030, 1, 7, 18, 0, tzinfo=UTC))
DEFAULT_SEED = 4
_FOCAL_PX = 1100.0
_BASE_BLUR_SIGMA = 0.5
_BASE_NOISE_SIGMA = 2.0


class Severity(StrEnum):
    """How hard a frame is meant to be: clean and mild ones must all be read."""

    CLEAN = "clean"
    MILD = "mild"
    HARD = "hard"


@dataclass(frozen=True, slots=True)
class Perturbation:
    """One camera condition. ``qr_px`` is the side of the symbol with its quiet zone, in frame pixels."""

    name: str
    severity: Severity
    qr_px: float = 220.0
    rotation_deg: float = 0.0
    tilt_deg: float = 0.0
    blur_sigma: float = 0.0
    motion_px: int = 0
    noise_sigma: float = 0.0
    contrast: float = 1.0
    glare: float = 0.0
    jpeg_quality: int | None = None


@dataclass(frozen=True, slots=True)
class QrSample:
    """One frame of the set and the text a decoder should read from it."""

    name: str
    perturbation: str
    severity: Severity
    expected: str
    image: Frame


CLEAN, MILD, HARD = Severity.CLEAN, Severity.MILD, Severity.HARD
PERTURBATIONS: tuple[Perturbation, ...] = (
    Perturbation("clean-160px", CLEAN, qr_px=160),
    Perturbation("clean-220px", CLEAN, qr_px=220),
    Perturbation("clean-300px", CLEAN, qr_px=300),
    Perturbation("clean-400px", CLEAN, qr_px=400),
    Perturbation("clean-560px", CLEAN, qr_px=560),
    Perturbation("small-120px", MILD, qr_px=120),
    Perturbation("rotation-15", MILD, rotation_deg=15),
    Perturbation("rotation-45", MILD, rotation_deg=45),
    Perturbation("rotation-90", MILD, rotation_deg=90),
    Perturbation("rotation-170", MILD, rotation_deg=170),
    Perturbation("blur-gaussian-1.2", MILD, blur_sigma=1.2),
    Perturbation("blur-motion-6px", MILD, motion_px=6),
    Perturbation("noise-10", MILD, noise_sigma=10),
    Perturbation("low-contrast-0.45", MILD, contrast=0.45),
    Perturbation("tilt-25", MILD, tilt_deg=25),
    Perturbation("jpeg-40", MILD, jpeg_quality=40),
    Perturbation("glare-soft", MILD, glare=0.5),
    Perturbation("webcam-mix", MILD, rotation_deg=20, tilt_deg=15, blur_sigma=0.8, noise_sigma=6, jpeg_quality=60),
    Perturbation("tiny-85px", HARD, qr_px=85),
    Perturbation("blur-gaussian-2.5", HARD, blur_sigma=2.5),
    Perturbation("blur-motion-14px", HARD, motion_px=14),
    Perturbation("noise-30", HARD, noise_sigma=30),
    Perturbation("low-contrast-0.2", HARD, contrast=0.2),
    Perturbation("tilt-50", HARD, tilt_deg=50),
    Perturbation("jpeg-12", HARD, jpeg_quality=12),
    Perturbation("glare-strong", HARD, glare=1.6),
    Perturbation("far-shaken-dim", HARD, qr_px=110, tilt_deg=35, motion_px=8, noise_sigma=15, contrast=0.4),
    Perturbation("upside-down-blurred", HARD, rotation_deg=170, blur_sigma=2.0, glare=0.8, jpeg_quality=20),
)


def generate(frames: int = 60, *, seed: int = DEFAULT_SEED) -> list[QrSample]:
    """``frames`` samples cycling through :data:`PERTURBATIONS`, each with its own token and placement."""
    rng = np.random.default_rng(seed)
    samples = []
    for index in range(frames):
        perturbation = PERTURBATIONS[index % len(PERTURBATIONS)]
        visit_id = "".join(str(digit) for digit in rng.integers(0, 10, int(rng.integers(3, 29))))
        token = sample_token(visit_id, rng=rng)
        samples.append(
            QrSample(
                name=f"{index:03d}-{perturbation.name}",
                perturbation=perturbation.name,
                severity=perturbation.severity,
                expected=token,
                image=render_scene(token, perturbation, rng=rng),
            )
        )
    return samples


def sample_token(visit_id: str, *, rng: np.random.Generator, key: bytes = TEST_KEY) -> str:
    """An invitation for ``visit_id`` in :data:`VISIT_WINDOW`, its nonce drawn from ``rng``."""
    return issue(
        kind=TokenKind.INVITATION,
        visit_id=visit_id,
        not_before=VISIT_WINDOW[0],
        not_after=VISIT_WINDOW[1],
        key_id=TEST_KEY_ID,
        key=key,
        nonce=rng.bytes(NONCE_BYTES),
    )


def render_scene(text: str | None, perturbation: Perturbation, *, rng: np.random.Generator) -> Frame:
    """A BGR frame of a phone showing the QR code of ``text`` (None: the phone shows no code)."""
    scene = _background(rng)
    modules = qr_modules(text) if text is not None else None
    qr_px = perturbation.qr_px * rng.uniform(0.92, 1.08)
    symbol_modules = modules.shape[0] if modules is not None else 45
    module_src = max(1, math.ceil(qr_px / symbol_modules))
    phone, qr_box = _phone(modules, module_src, rng)
    height, width = phone.shape[:2]
    source = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    rotation = perturbation.rotation_deg + rng.uniform(-3, 3)
    scale = qr_px / (symbol_modules * module_src)
    quad = _place(source, qr_box, scale, rotation, perturbation.tilt_deg, rng)
    homography = cv2.getPerspectiveTransform(source, quad)
    size = (FRAME_WIDTH, FRAME_HEIGHT)
    layer = cv2.warpPerspective(phone, homography, size, flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones(phone.shape[:2], np.float32), homography, size, flags=cv2.INTER_LINEAR)
    scene = _f32(cv2.blendLinear(layer, scene, mask, 1 - mask))
    if perturbation.glare:
        scene = _glare(scene, quad, perturbation.glare, rng)
    return _camera(scene, perturbation, rng)


def empty_frame(seed: int = DEFAULT_SEED) -> Frame:
    """A frame like those of the set with a phone showing no QR code: what the kiosk sees while idle."""
    return render_scene(None, PERTURBATIONS[1], rng=np.random.default_rng(seed))


def _background(rng: np.random.Generator) -> NDArray[np.float32]:
    """A dim, uneven grey room with furniture-like blocks and edges."""
    level = rng.uniform(70, 160)
    coarse = np.asarray(rng.normal(0, 18, (9, 16)), np.float32)
    shading = cv2.resize(coarse, (FRAME_WIDTH, FRAME_HEIGHT), interpolation=cv2.INTER_CUBIC)
    scene = np.empty((FRAME_HEIGHT, FRAME_WIDTH, 3), np.float32)
    for channel in range(3):
        scene[..., channel] = level + rng.uniform(-8, 8) + shading
    for _ in range(int(rng.integers(6, 14))):
        x, y = int(rng.integers(0, FRAME_WIDTH)), int(rng.integers(0, FRAME_HEIGHT))
        w, h = int(rng.integers(40, 400)), int(rng.integers(20, 300))
        colour = tuple(float(c) for c in rng.uniform(30, 220) + rng.uniform(-15, 15, 3))
        cv2.rectangle(scene, (x, y), (x + w, y + h), colour, thickness=-1 if rng.random() < 0.7 else 3)
    return _f32(cv2.GaussianBlur(scene, (0, 0), 1.5))


def _phone(
    modules: NDArray[np.bool_] | None, module_px: int, rng: np.random.Generator
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """A phone in portrait (black bezel, white screen, the QR code in its upper part, lines of text below),
    and the corners of the QR code on it."""
    qr_side = (modules.shape[0] if modules is not None else 45) * module_px
    screen_w, screen_h = round(qr_side * 1.15), round(qr_side * 1.9)
    bezel = max(2, round(qr_side * 0.06))
    phone = np.full((screen_h + 2 * bezel, screen_w + 2 * bezel, 3), 25.0, np.float32)
    white = rng.uniform(225, 255)
    phone[bezel:-bezel, bezel:-bezel] = (white, white, min(255.0, white + 5))
    top, left = bezel + round(qr_side * 0.25), bezel + (screen_w - qr_side) // 2
    if modules is not None:
        symbol = np.where(np.repeat(np.repeat(modules, module_px, 0), module_px, 1), 20.0, white)
        phone[top : top + qr_side, left : left + qr_side] = symbol[..., None]
    line_h = max(1, qr_side // 20)
    for line in range(4):
        y = top + qr_side + line_h * (2 + 2 * line)
        width = round(qr_side * rng.uniform(0.4, 1.0))
        phone[y : y + line_h, left : left + width] = 90.0
    corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32) * qr_side + np.array([left, top], np.float32)
    return phone, corners


def _place(
    phone: NDArray[np.float32],
    qr_box: NDArray[np.float32],
    scale: float,
    rotation_deg: float,
    tilt_deg: float,
    rng: np.random.Generator,
) -> NDArray[np.float32]:
    """Where the phone's corners land in the frame: scaled, rotated in its plane, tilted about a random
    axis and projected; at a random place where the whole phone is in view, or at least the QR code."""
    centre = phone.mean(axis=0)
    points = np.zeros((8, 3))
    points[:, :2] = (np.concatenate([phone, qr_box]) - centre) * scale
    axis_angle = rng.uniform(0, math.pi)
    tilt, _ = cv2.Rodrigues(np.array([math.cos(axis_angle), math.sin(axis_angle), 0.0]) * math.radians(tilt_deg))
    spin, _ = cv2.Rodrigues(np.array([0.0, 0.0, math.radians(rotation_deg)]))
    points = points @ (spin @ tilt).T
    projected = _FOCAL_PX * points[:, :2] / (_FOCAL_PX + points[:, 2:3])
    offset = np.zeros(2)
    for axis, frame_size in enumerate((FRAME_WIDTH, FRAME_HEIGHT)):
        low, high = projected[:4, axis].min(), projected[:4, axis].max()
        if high - low >= frame_size:
            low, high = projected[4:, axis].min(), projected[4:, axis].max()
        offset[axis] = rng.uniform(-low, frame_size - high)
    return _f32(projected[:4] + offset)


def _glare(
    scene: NDArray[np.float32], quad: NDArray[np.float32], strength: float, rng: np.random.Generator
) -> NDArray[np.float32]:
    """A light's reflection on the screen: a bright blob near the middle of the phone."""
    centre = quad.mean(axis=0) + rng.uniform(-0.15, 0.15, 2) * (quad.max(axis=0) - quad.min(axis=0))
    radius = 0.25 * float(np.linalg.norm(quad[2] - quad[0]))
    ys, xs = np.mgrid[0:FRAME_HEIGHT, 0:FRAME_WIDTH].astype(np.float32)
    blob = np.exp(-((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / (2 * radius**2))
    return np.asarray(scene + strength * 200 * blob[..., None], np.float32)


def _camera(scene: NDArray[np.float32], perturbation: Perturbation, rng: np.random.Generator) -> Frame:
    """Lens blur, motion blur, exposure, sensor noise and compression, in the order a webcam applies them."""
    scene = _f32(
        cv2.GaussianBlur(np.minimum(scene, 255), (0, 0), math.hypot(_BASE_BLUR_SIGMA, perturbation.blur_sigma))
    )
    if perturbation.motion_px:
        kernel = np.zeros((perturbation.motion_px, perturbation.motion_px), np.float32)
        kernel[perturbation.motion_px // 2, :] = 1
        centre = ((perturbation.motion_px - 1) / 2, (perturbation.motion_px - 1) / 2)
        turn = cv2.getRotationMatrix2D(centre, rng.uniform(0, 180), 1.0)
        kernel = _f32(cv2.warpAffine(kernel, turn, kernel.shape[::-1]))
        scene = _f32(cv2.filter2D(scene, -1, kernel / kernel.sum()))
    if perturbation.contrast != 1.0:
        mean = float(scene.mean())
        scene = mean * 0.8 + (scene - mean) * perturbation.contrast
    noise = math.hypot(_BASE_NOISE_SIGMA, perturbation.noise_sigma)
    grain = np.empty_like(scene)
    cv2.setRNGSeed(int(rng.integers(0, 2**31)))  # OpenCV's generator, seeded from ours: 2x faster than numpy's
    cv2.randn(grain, np.zeros(3), np.full(3, noise))
    frame = np.asarray(cv2.convertScaleAbs(np.maximum(scene + grain, 0)), np.uint8)
    if perturbation.jpeg_quality is None:
        return frame
    ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, perturbation.jpeg_quality])
    if not ok:
        raise RuntimeError("OpenCV could not encode a JPEG")
    return np.asarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR), np.uint8)


def _f32(image: object) -> NDArray[np.float32]:
    """OpenCV's results typed for numpy (no copy: they are float32 already)."""
    return np.asarray(image, np.float32)
