"""The kiosk's decoder on the generated 720p set: a superset of zxing-cpp, every clean and mild frame read exactly."""

import io
from dataclasses import dataclass
from datetime import timedelta

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from hub.services.qr_render import EMAIL_PX, render_png
from hub.services.qr_tokens import InvalidToken, RefusalReason, TokenKind, verify
from kiosk.decode import QrReader, Stage, decode_frame, read_zxing, to_gray
from kiosk.testset import (
    FRAME_HEIGHT,
    FRAME_WIDTH,
    PERTURBATIONS,
    TEST_KEY,
    TEST_KEY_ID,
    VISIT_WINDOW,
    QrSample,
    Severity,
    empty_frame,
    generate,
    render_scene,
    sample_token,
)

CLEAN = PERTURBATIONS[1]
DURING_VISIT = VISIT_WINDOW[0] + timedelta(hours=1)


@dataclass(frozen=True)
class Reads:
    sample: QrSample
    kiosk: list[str]
    zxing: list[str]


@pytest.fixture(scope="module")
def reads() -> list[Reads]:
    """The default set (60 frames), read once by the kiosk's decoder and by zxing-cpp alone."""
    reader = QrReader()
    return [Reads(s, reader.read(s.image), read_zxing(to_gray(s.image))) for s in generate()]


def test_the_set_covers_every_condition(reads: list[Reads]) -> None:
    samples = [r.sample for r in reads]
    assert len(samples) == 60
    assert {s.perturbation for s in samples} == {p.name for p in PERTURBATIONS}
    assert {s.severity for s in samples} == set(Severity)
    assert all(s.image.shape == (FRAME_HEIGHT, FRAME_WIDTH, 3) and s.image.dtype == np.uint8 for s in samples)
    assert len({s.expected for s in samples}) == 60


def test_the_set_is_reproducible() -> None:
    first, again, other = generate(3, seed=11), generate(3, seed=11), generate(3, seed=12)
    assert [s.expected for s in first] == [s.expected for s in again]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(first, again, strict=True))
    assert [s.expected for s in first] != [s.expected for s in other]


def test_kiosk_reads_every_frame_zxing_reads(reads: list[Reads]) -> None:
    by_zxing = {r.sample.name for r in reads if r.sample.expected in r.zxing}
    by_kiosk = {r.sample.name for r in reads if r.sample.expected in r.kiosk}
    assert by_zxing <= by_kiosk
    assert len(by_kiosk) >= len(by_zxing)


def test_kiosk_reads_every_clean_and_mild_frame_exactly(reads: list[Reads]) -> None:
    missed = [r.sample.name for r in reads if r.sample.severity is not Severity.HARD and r.kiosk != [r.sample.expected]]
    assert missed == []


def test_nothing_is_misread(reads: list[Reads]) -> None:
    assert all(set(r.kiosk) <= {r.sample.expected} for r in reads)


def test_decoded_tokens_verify(reads: list[Reads]) -> None:
    for r in reads[:5]:
        claims = verify(r.kiosk[0], keys={TEST_KEY_ID: TEST_KEY}, now=DURING_VISIT, kind=TokenKind.INVITATION)
        assert claims.not_before == VISIT_WINDOW[0]


def test_a_frame_without_a_qr_code_gives_nothing() -> None:
    assert decode_frame(empty_frame()) == []
    assert decode_frame(np.zeros((FRAME_HEIGHT, FRAME_WIDTH, 3), np.uint8)) == []


def test_a_forged_token_is_read_but_refused() -> None:
    rng = np.random.default_rng(7)
    forged = sample_token("42", rng=rng, key=b"not the hub's key, just as long!")
    assert decode_frame(render_scene(forged, CLEAN, rng=rng)) == [forged]
    with pytest.raises(InvalidToken) as refused:
        verify(forged, keys={TEST_KEY_ID: TEST_KEY}, now=DURING_VISIT)
    assert refused.value.reason is RefusalReason.BAD_SIGNATURE


def test_grey_and_bgra_frames_are_read_too() -> None:
    rng = np.random.default_rng(8)
    token = sample_token("1001", rng=rng)
    frame = render_scene(token, CLEAN, rng=rng)
    assert decode_frame(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)) == [token]
    assert decode_frame(cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA)) == [token]
    assert decode_frame(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)[..., None]) == [token]


@pytest.mark.parametrize("frame", [np.zeros((4, 4), np.float32), np.zeros((4, 4, 2), np.uint8), np.zeros(16, np.uint8)])
def test_frames_of_another_shape_or_depth_are_refused(frame: NDArray[np.generic]) -> None:
    with pytest.raises(ValueError, match="frames must be"):
        decode_frame(frame)


def test_two_codes_in_one_frame_are_both_read_once() -> None:
    rng = np.random.default_rng(9)
    first, second = sample_token("1", rng=rng), sample_token("2", rng=rng)
    frame = np.full((FRAME_HEIGHT, FRAME_WIDTH), 128, np.uint8)
    for token, left in ((first, 100), (second, 700)):
        symbol = np.asarray(Image.open(io.BytesIO(render_png(token, max_width_px=EMAIL_PX))).convert("L"))
        frame[200 : 200 + symbol.shape[0], left : left + symbol.shape[1]] = symbol
    found = decode_frame(frame)
    assert sorted(found) == sorted([first, second])


def test_reader_keeps_stats_and_can_skip_fallbacks() -> None:
    reader = QrReader(fallback_every=3)
    rng = np.random.default_rng(10)
    token = sample_token("77", rng=rng)
    assert reader.read(render_scene(token, CLEAN, rng=rng)) == [token]
    empty = empty_frame()
    for _ in range(6):
        assert reader.read(empty) == []
    stats = reader.stats
    assert (stats.frames, stats.read_by[Stage.ZXING], stats.fallbacks_skipped) == (7, 1, 4)
    assert 0 < stats.mean_ms <= stats.slowest_ms
    with pytest.raises(ValueError, match="fallback_every"):
        QrReader(fallback_every=0)
