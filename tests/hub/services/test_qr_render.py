"""QR images of tokens decode back to the token: the PNG with zxing-cpp, the SVG by redrawing its modules."""

import io
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import numpy as np
import pytest
import zxingcpp
from numpy.typing import NDArray
from PIL import Image

from hub.services.qr_render import (
    EMAIL_PX,
    PHONE_PX,
    QUIET_ZONE_MODULES,
    qr_modules,
    qr_version,
    render_png,
    render_svg,
)
from hub.services.qr_tokens import MAX_KEY_ID_LENGTH, MAX_VISIT_ID_LENGTH, TokenKind, issue

KEY = b"0123456789abcdef0123456789abcdef"
SVG = "{http://www.w3.org/2000/svg}"


def make_token(visit_id: str = "12345", key_id: str = "k1") -> str:
    return issue(
        kind=TokenKind.INVITATION,
        visit_id=visit_id,
        not_before=datetime(2030, 1, 7, 9, tzinfo=UTC),
        not_after=datetime(2030, 1, 7, 18, tzinfo=UTC),
        key_id=key_id,
        key=KEY,
    )


TYPICAL = make_token()
LONGEST = make_token("v" * MAX_VISIT_ID_LENGTH, "k" * MAX_KEY_ID_LENGTH)


def read_qr(pixels: NDArray[np.uint8]) -> list[str]:
    found = zxingcpp.read_barcodes(pixels, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
    return [barcode.text for barcode in found]


def test_tokens_stay_small_enough_for_version_6() -> None:
    assert qr_version(TYPICAL) == 5
    assert qr_version(LONGEST) == 6


@pytest.mark.parametrize("max_width_px", [PHONE_PX, EMAIL_PX])
@pytest.mark.parametrize("token", [TYPICAL, LONGEST], ids=["typical", "longest"])
def test_png_decodes_back_to_the_token(token: str, max_width_px: int) -> None:
    png = render_png(token, max_width_px=max_width_px)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    modules = qr_modules(token).shape[0]
    assert image.width == image.height
    assert image.width <= max_width_px and image.width % modules == 0 and image.width > max_width_px - modules
    pixels = np.asarray(image.convert("L"))
    assert read_qr(pixels) == [token]
    quiet = QUIET_ZONE_MODULES * image.width // modules
    ring = np.ones(pixels.shape, bool)
    ring[quiet:-quiet, quiet:-quiet] = False
    assert (pixels[ring] == 255).all(), "the quiet zone must be white all round"


def test_png_refuses_a_size_too_small_for_one_pixel_a_module() -> None:
    with pytest.raises(ValueError, match="needs at least 45 pixels"):
        render_png(TYPICAL, max_width_px=44)


@pytest.mark.parametrize("token", [TYPICAL, LONGEST], ids=["typical", "longest"])
def test_svg_draws_the_same_modules(token: str) -> None:
    svg = render_svg(token, max_width_px=EMAIL_PX)
    root = ET.fromstring(svg)
    modules = qr_modules(token)
    size = modules.shape[0]
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == f"0 0 {size} {size}"
    assert root.get("width") == root.get("height") == str(size * (EMAIL_PX // size))
    path = root.find(f"{SVG}path")
    assert path is not None
    drawn = np.zeros_like(modules)
    for x, y, width in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", path.get("d", "")):
        drawn[int(y), int(x) : int(x) + int(width)] = True
    assert (drawn == modules).all()
    pixels = np.where(np.kron(drawn, np.ones((6, 6), bool)), 0, 255).astype(np.uint8)
    assert read_qr(pixels) == [token]
