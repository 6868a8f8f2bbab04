"""QR images of tokens: PNG for email and phone screens, SVG for web pages and print.

Error correction M (15% of the symbol may be lost) and the standard quiet zone of 4 modules, which
phone screens and email clients often crop or frame: without it a decoder may not find the symbol.
Modules are a whole number of pixels so edges stay sharp at any size.
"""

import io

import numpy as np
import qrcode
import qrcode.constants
from numpy.typing import NDArray
from PIL import Image

QUIET_ZONE_MODULES = 4
PHONE_PX = 560
"""Widest PNG for a phone screen: about the screen's width at 2-3x pixel density, read from 10-30 cm."""
EMAIL_PX = 300
"""Widest PNG inline in an email: shows whole in a mail client's column on a phone or a desktop."""


def qr_modules(token: str) -> NDArray[np.bool_]:
    """The symbol's modules (True is dark), quiet zone included, in the smallest version that holds ``token``."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_ZONE_MODULES)
    code.add_data(token.encode("utf-8"))
    code.make(fit=True)
    return np.array(code.get_matrix(), dtype=bool)


def qr_version(token: str) -> int:
    """The QR version (1-40) a token needs at error correction M; tokens are meant to stay at 6 or below."""
    width = qr_modules(token).shape[0] - 2 * QUIET_ZONE_MODULES
    return int(width - 17) // 4


def render_png(token: str, *, max_width_px: int = PHONE_PX) -> bytes:
    """A 1-bit PNG no wider than ``max_width_px`` (:data:`PHONE_PX` or :data:`EMAIL_PX`)."""
    modules = qr_modules(token)
    scale = _module_px(modules, max_width_px)
    pixels = np.repeat(np.repeat(~modules, scale, axis=0), scale, axis=1)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG", optimize=True)
    return out.getvalue()


def render_svg(token: str, *, max_width_px: int = PHONE_PX) -> str:
    """An SVG drawn in module units (``viewBox="0 0 N N"``), its width and height those of the PNG.

    Mail clients such as Gmail and Outlook do not show SVG: use it for web pages and print, the PNG for email.
    """
    modules = qr_modules(token)
    size = modules.shape[0]
    width = size * _module_px(modules, max_width_px)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" width="{width}" height="{width}" '
        f'shape-rendering="crispEdges" role="img"><title>Atrium QR code</title>'
        f'<rect width="{size}" height="{size}" fill="#fff"/><path fill="#000" d="{svg_path(modules)}"/></svg>\n'
    )


def svg_path(modules: NDArray[np.bool_]) -> str:
    """The dark modules as one SVG path in module units: a rectangle per horizontal run."""
    size = modules.shape[0]
    runs = []
    for y, row in enumerate(modules.tolist()):
        x = 0
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            x += 1
    return "".join(runs)


def _module_px(modules: NDArray[np.bool_], max_width_px: int) -> int:
    size = modules.shape[0]
    if max_width_px < size:
        raise ValueError(f"a {size}-module QR code needs at least {size} pixels, got {max_width_px}")
    return max_width_px // int(size)
