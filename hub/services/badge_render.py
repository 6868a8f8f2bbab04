"""Visitor badges drawn two ways from the same facts: a PNG for screens and reception, ZPL for label printers.

Both lay out a 4 x 3 inch label at 203 dpi (812 x 609 dots, the common thermal-printer resolution):
a band coloured by visitor type, the visitor's name large, company, host, date, and a check-out QR.
ZPL text is written in ``^FH`` hex-escape fields, so a name holding ``^`` or ``~`` (ZPL's command
prefixes) prints as text and can never start a command.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import asdict, dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from hub.services.qr_render import QUIET_ZONE_MODULES, qr_modules

LABEL_WIDTH = 812
LABEL_HEIGHT = 609
MARGIN = 20
BAND_HEIGHT = 100
QR_BOX = 220
"""The check-out QR's square, quiet zone included, at the label's bottom right."""
QR_MAGNIFICATION = 5
"""ZPL ``^BQ`` dots per module for the usual tokens (version 4-6); longer ones get smaller modules."""
MAX_TEXT = 120
"""Longest text field drawn; longer names are cut with an ellipsis."""

TYPE_COLOURS: dict[str, str] = {
    "guest": "#1c64d8",
    "contractor": "#e8590c",
    "interview": "#2b8a3e",
    "delivery": "#7048e8",
}
OTHER_COLOUR = "#495057"
"""Band colour of a visitor type the site added beyond the four defaults."""

_FONT_FILES = {False: "DejaVuSans.ttf", True: "DejaVuSans-Bold.ttf"}
_HEX_INDICATOR = "_"
_ZPL_SPECIALS = frozenset({"^", "~", _HEX_INDICATOR})


@dataclass(frozen=True, slots=True)
class BadgeFacts:
    """What a badge shows, copied from the visit at check-in so badges do not depend on the visits tables."""

    visit_id: int
    visitor_name: str
    company: str | None
    host_name: str
    visitor_type: str
    day: date
    checkout_token: str
    """Goes into the badge's check-out QR."""

    def to_json(self) -> dict[str, Any]:
        """The facts as a JSON document, kept on the print job to draw the PNG again later."""
        document = asdict(self)
        document["day"] = self.day.isoformat()
        return document

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> BadgeFacts:
        """The facts back from :meth:`to_json`."""
        return cls(**{**document, "day": date.fromisoformat(document["day"])})


def type_colour(visitor_type: str) -> str:
    """The band colour of a visitor type."""
    return TYPE_COLOURS.get(visitor_type.lower(), OTHER_COLOUR)


def clean_text(text: str, *, limit: int = MAX_TEXT) -> str:
    """One printable line: control characters become spaces, runs of spaces one, too long cut with an ellipsis."""
    printable = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)
    line = " ".join(printable.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "\u2026"


def day_text(day: date) -> str:
    """The date as printed, independent of the machine's locale."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _lines(facts: BadgeFacts) -> tuple[str, str, str, str, str]:
    """Type label, name, company, host line and date, as both renderings print them."""
    return (
        clean_text(facts.visitor_type, limit=30).upper() or "VISITOR",
        clean_text(facts.visitor_name) or "Visitor",
        clean_text(facts.company or ""),
        "Host: " + clean_text(facts.host_name),
        day_text(facts.day),
    )


# PNG


@lru_cache(maxsize=32)
def _font(size: int, bold: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(_FONT_FILES[bold], size)
    except OSError:  # no DejaVu on this machine: Pillow's own scalable font
        return ImageFont.load_default(size)


def _fitted(draw: ImageDraw.ImageDraw, text: str, *, size: int, width: int, bold: bool = False) -> tuple[str, Any]:
    """The largest font down to half ``size`` that fits ``text`` in ``width``, cutting the text if even that won't."""
    for step in range(size, size // 2 - 1, -2):
        font = _font(step, bold)
        if draw.textlength(text, font=font) <= width:
            return text, font
    font = _font(size // 2, bold)
    while len(text) > 1 and draw.textlength(text + "\u2026", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "\u2026", font


def render_png(facts: BadgeFacts) -> bytes:
    """The badge as an RGB PNG the size of the label."""
    kind, name, company, host, day = _lines(facts)
    image = Image.new("RGB", (LABEL_WIDTH, LABEL_HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, LABEL_WIDTH, BAND_HEIGHT), fill=type_colour(facts.visitor_type))
    text_width = LABEL_WIDTH - 2 * MARGIN
    kind, font = _fitted(draw, kind, size=56, width=text_width, bold=True)
    draw.text((MARGIN, BAND_HEIGHT // 2), kind, font=font, fill="white", anchor="lm")
    name, font = _fitted(draw, name, size=72, width=text_width, bold=True)
    draw.text((MARGIN, BAND_HEIGHT + 30), name, font=font, fill="black")
    if company:
        company, font = _fitted(draw, company, size=40, width=text_width)
        draw.text((MARGIN, BAND_HEIGHT + 130), company, font=font, fill="#333333")
    narrow = LABEL_WIDTH - QR_BOX - 3 * MARGIN
    for y, text in ((BAND_HEIGHT + 220, host), (BAND_HEIGHT + 270, day)):
        fitted, font = _fitted(draw, text, size=32, width=narrow)
        draw.text((MARGIN, y), fitted, font=font, fill="black")
    draw.text((MARGIN, LABEL_HEIGHT - MARGIN), "Scan to check out", font=_font(24, False), fill="#555555", anchor="ls")
    image.paste(_qr_image(facts.checkout_token), _qr_origin())
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _qr_origin() -> tuple[int, int]:
    return LABEL_WIDTH - MARGIN - QR_BOX, LABEL_HEIGHT - MARGIN - QR_BOX


def _qr_image(token: str) -> Image.Image:
    modules = qr_modules(token)
    scale = QR_BOX // modules.shape[0]
    if scale < 2:
        raise ValueError(f"check-out token too long for the badge's QR ({modules.shape[0]} modules)")
    pixels = np.repeat(np.repeat(~modules, scale, axis=0), scale, axis=1).astype(np.uint8) * 255
    symbol = Image.fromarray(pixels, mode="L").convert("RGB")
    box = Image.new("RGB", (QR_BOX, QR_BOX), "white")
    offset = (QR_BOX - symbol.width) // 2
    box.paste(symbol, (offset, offset))
    return box


# ZPL


def escape_zpl(text: str) -> str:
    """Text for a ``^FH_`` field: ``^``, ``~`` and ``_`` as hex escapes, control characters as spaces."""
    out = []
    for ch in text:
        if ch in _ZPL_SPECIALS:
            out.append(f"{_HEX_INDICATOR}{ord(ch):02X}")
        elif unicodedata.category(ch).startswith("C"):
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def _field(x: int, y: int, text: str, *, height: int, width: int, reverse: bool = False) -> str:
    """A one-line scalable-font text field, cut at ``width`` dots by a field block."""
    return (
        f"^FO{x},{y}^A0N,{height},{height}^FB{width},1,0,L,0"
        + ("^FR" if reverse else "")
        + f"^FH{_HEX_INDICATOR}^FD{escape_zpl(text)}^FS"
    )


def _zpl_magnification(token: str) -> int:
    """The largest module size, up to :data:`QR_MAGNIFICATION`, that keeps the symbol inside :data:`QR_BOX`."""
    symbol = int(qr_modules(token).shape[0]) - 2 * QUIET_ZONE_MODULES
    return max(1, min(QR_MAGNIFICATION, QR_BOX // symbol))


def render_zpl(facts: BadgeFacts) -> str:
    """The badge as a ZPL II label (UTF-8, ``^CI28``), for Zebra-compatible printers."""
    kind, name, company, host, day = _lines(facts)
    text_width = LABEL_WIDTH - 2 * MARGIN
    narrow = LABEL_WIDTH - QR_BOX - 3 * MARGIN
    qr_x, qr_y = _qr_origin()
    parts = [
        "^XA",
        "^CI28",
        f"^PW{LABEL_WIDTH}",
        f"^LL{LABEL_HEIGHT}",
        f"^FO0,0^GB{LABEL_WIDTH},{BAND_HEIGHT},{BAND_HEIGHT}^FS",
        _field(MARGIN, 25, kind, height=56, width=text_width, reverse=True),
        _field(MARGIN, BAND_HEIGHT + 30, name, height=72, width=text_width),
    ]
    if company:
        parts.append(_field(MARGIN, BAND_HEIGHT + 130, company, height=40, width=text_width))
    parts += [
        _field(MARGIN, BAND_HEIGHT + 220, host, height=32, width=narrow),
        _field(MARGIN, BAND_HEIGHT + 270, day, height=32, width=narrow),
        _field(MARGIN, LABEL_HEIGHT - MARGIN - 24, "Scan to check out", height=24, width=narrow),
        f"^FO{qr_x},{qr_y}^BQN,2,{_zpl_magnification(facts.checkout_token)}"
        f"^FH{_HEX_INDICATOR}^FDMA,{escape_zpl(facts.checkout_token)}^FS",
        "^XZ",
    ]
    return "\n".join(parts) + "\n"
