"""Asset QR labels and the no-login fault report behind them.

A label carries the asset's name, where it is, and a QR code of ``/report/<asset id>?k=<token>``;
the token is a short HMAC of the asset id under the site secret (as panel tokens are), so a label
opens the report form of its own asset only, needs no table, and rotating the secret voids every
printed label at once. A report opens (or adds to) the asset's ticket with source ``qr``.
"""

import base64
import hashlib
import hmac
import io
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy.orm import Session

from hub.errors import Forbidden, Invalid
from hub.services.qr_render import qr_modules, svg_path
from hub.services.tickets import get_asset, open_ticket
from hub.store.models import Room
from hub.store.ticket_models import Ticket, TicketSource

_CONTEXT = b"atrium-report:"
TOKEN_BYTES = 9
"""72 bits: 12 characters, enough against guessing for a form that only opens tickets, and a small QR."""
MAX_WHAT = 1000
MAX_NAME = 120
MAX_EMAIL = 254
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
LABEL_W, LABEL_H = 900, 400
"""A 2:1 label (e.g. 50 x 25 mm at about 450 dpi)."""


def report_token(secret: bytes, asset_id: str) -> str:
    """The token an asset's label carries."""
    digest = hmac.new(secret, _CONTEXT + asset_id.encode(), hashlib.sha256).digest()[:TOKEN_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def check_report_token(secret: bytes, asset_id: str, token: str | None) -> None:
    """Refuse a missing token, or one made for another asset (or under an older secret)."""
    if not token:
        raise Forbidden("this report link has no key; scan the QR label on the equipment again")
    if not hmac.compare_digest(token.encode(), report_token(secret, asset_id).encode()):
        raise Forbidden(f"this key is not the one on the label of {asset_id!r}; the label may be old or copied wrong")


def report_url(base_url: str, secret: bytes, asset_id: str) -> str:
    """The URL the asset's QR code holds."""
    return f"{base_url.rstrip('/')}/report/{quote(asset_id, safe='/')}?k={report_token(secret, asset_id)}"


@dataclass(frozen=True, slots=True)
class LabelText:
    """What a label says besides its QR code."""

    name: str
    location: str
    asset_id: str


def label_text(session: Session, asset_id: str) -> LabelText:
    """The asset's name and location ("Room, Floor"), or NotFound."""
    asset = get_asset(session, asset_id)
    room = session.get(Room, asset.room_id) if asset.room_id else None
    location = f"{room.name}, {room.floor.name}" if room is not None else "no room"
    return LabelText(name=asset.name, location=location, asset_id=asset.id)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _fit(
    draw: ImageDraw.ImageDraw, text: str, size: int, width: int
) -> tuple[str, ImageFont.FreeTypeFont | ImageFont.ImageFont]:
    """The text in the largest font up to ``size`` that fits ``width``, shortened with an ellipsis if need be."""
    for attempt in range(size, 17, -2):
        font = _font(attempt)
        if draw.textlength(text, font=font) <= width:
            return text, font
    font = _font(18)
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…", font


def render_label_png(text: LabelText, url: str) -> bytes:
    """A printable 1-bit label: the QR code on the left, name, location and what to do on the right."""
    modules = qr_modules(url)
    scale = LABEL_H // modules.shape[0]
    qr = Image.fromarray(~modules).resize((modules.shape[0] * scale,) * 2, Image.Resampling.NEAREST)
    label = Image.new("L", (LABEL_W, LABEL_H), 255)
    label.paste(qr.convert("L"), (0, (LABEL_H - qr.height) // 2))
    draw = ImageDraw.Draw(label)
    left = qr.width + 10
    width = LABEL_W - left - 20
    y = 40
    for line, size in ((text.name, 52), (text.location, 34), ("Scan to report a problem", 28), (text.asset_id, 24)):
        shown, font = _fit(draw, line, size, width)
        draw.text((left, y), shown, fill=0, font=font)
        y += size + 36
    out = io.BytesIO()
    label.convert("1").save(out, format="PNG", optimize=True)
    return out.getvalue()


def render_label_svg(text: LabelText, url: str) -> str:
    """The same label as SVG, for print at any size (text as text, QR as one path)."""
    modules = qr_modules(url)
    size = modules.shape[0]
    scale = LABEL_H / size
    left = LABEL_H + 10
    lines = [(text.name, 52, "bold"), (text.location, 34, "normal"), ("Scan to report a problem", 28, "normal")]
    lines.append((text.asset_id, 24, "normal"))
    texts, y = [], 40
    for line, font_size, weight in lines:
        y += font_size
        texts.append(
            f'<text x="{left}" y="{y}" font-family="sans-serif" font-size="{font_size}" font-weight="{weight}" '
            f'textLength="{LABEL_W - left - 20}" lengthAdjust="spacingAndGlyphs">{escape(line)}</text>'
            if len(line) * font_size * 0.6 > LABEL_W - left - 20
            else f'<text x="{left}" y="{y}" font-family="sans-serif" font-size="{font_size}" '
            f'font-weight="{weight}">{escape(line)}</text>'
        )
        y += 36
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {LABEL_W} {LABEL_H}" width="{LABEL_W}" '
        f'height="{LABEL_H}" role="img"><title>{escape(text.name)}: report a problem</title>'
        f'<rect width="{LABEL_W}" height="{LABEL_H}" fill="#fff"/>'
        f'<g transform="scale({scale:.6f})" shape-rendering="crispEdges">'
        f'<path fill="#000" d="{svg_path(modules)}"/></g>'
        f"{''.join(texts)}</svg>\n"
    )


@dataclass(frozen=True, slots=True)
class Report:
    """What someone wrote on the form, checked."""

    what: str
    name: str | None = None
    email: str | None = None

    @classmethod
    def checked(cls, *, what: str | None, name: str | None, email: str | None) -> "Report":
        """Trimmed and length-limited; an empty description or a malformed email is refused with why."""
        what = (what or "").strip()
        name = (name or "").strip() or None
        email = (email or "").strip() or None
        if not what:
            raise Invalid("say what is wrong")
        if len(what) > MAX_WHAT:
            raise Invalid(f"the description is {len(what)} characters; keep it under {MAX_WHAT}")
        if name is not None and len(name) > MAX_NAME:
            raise Invalid(f"the name is longer than {MAX_NAME} characters")
        if email is not None and (len(email) > MAX_EMAIL or not _EMAIL.fullmatch(email)):
            raise Invalid("the email address does not look like one (leave it empty if you like)")
        return cls(what=what, name=name, email=email)


def submit_report(session: Session, *, asset_id: str, report: Report, now: datetime) -> Ticket:
    """Open (or add to) the asset's reported-problem ticket from the QR form."""
    asset = get_asset(session, asset_id)
    reporter = " ".join(part for part in (report.name, f"<{report.email}>" if report.email else None) if part)
    first_line = report.what.splitlines()[0]
    title = f"{asset.name}: {first_line[:120]}" + ("…" if len(first_line) > 120 else "")
    return open_ticket(
        session,
        title=title,
        source=TicketSource.QR,
        now=now,
        asset_id=asset.id,
        reporter=reporter[:MAX_NAME] or None,
        description=report.what,
    )
