"""Badges as PNG and ZPL: the check-out QR reads back, the text is all there, and no name can inject ZPL."""

import io
import re
from datetime import UTC, date, datetime

import pytest
import zxingcpp
from PIL import Image

from hub.services.badge_render import (
    LABEL_HEIGHT,
    LABEL_WIDTH,
    OTHER_COLOUR,
    TYPE_COLOURS,
    BadgeFacts,
    render_png,
    render_zpl,
)
from hub.services.qr_tokens import TokenKind, issue

KEY = b"0123456789abcdef0123456789abcdef"
TOKEN = issue(
    kind=TokenKind.CHECKOUT,
    visit_id="4711",
    not_before=datetime(2030, 1, 7, 8, tzinfo=UTC),
    not_after=datetime(2030, 1, 7, 20, tzinfo=UTC),
    key_id="k1",
    key=KEY,
)


def facts(**changes: object) -> BadgeFacts:
    base: dict[str, object] = {
        "visit_id": 4711,
        "visitor_name": "Ada Lovelace",
        "company": "Analytical Engines Ltd",
        "host_name": "Charles Babbage",
        "visitor_type": "guest",
        "day": date(2030, 1, 7),
        "checkout_token": TOKEN,
    }
    return BadgeFacts(**{**base, **changes})  # type: ignore[arg-type]


def read_png(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("RGB")


# ZPL read back the way a printer does: commands start at ^ or ~; ^FH_ fields carry _XX hex bytes.
COMMAND = re.compile(r"[\^~]([A-Z@][A-Z0-9@])")


def commands(zpl: str) -> list[str]:
    return COMMAND.findall(zpl)


def text_fields(zpl: str) -> list[str]:
    """Every ^FD field's data, hex escapes decoded as UTF-8."""
    fields = re.findall(r"\^FD(.*?)\^FS", zpl, flags=re.DOTALL)
    return [re.sub(rb"_([0-9A-F]{2})", lambda m: bytes([int(m[1], 16)]), f.encode()).decode() for f in fields]


def test_the_png_badge_carries_a_check_out_qr_that_decodes_to_the_token() -> None:
    image = read_png(render_png(facts()))
    assert image.size == (LABEL_WIDTH, LABEL_HEIGHT)
    found = zxingcpp.read_barcodes(image)
    assert [code.text for code in found] == [TOKEN]


@pytest.mark.parametrize("visitor_type", [*TYPE_COLOURS, "vip"])
def test_each_visitor_type_has_its_band_colour(visitor_type: str) -> None:
    image = read_png(render_png(facts(visitor_type=visitor_type)))
    colour = TYPE_COLOURS.get(visitor_type, OTHER_COLOUR)
    expected = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    assert image.getpixel((LABEL_WIDTH - 5, 5)) == expected


def test_the_band_colours_tell_the_default_types_apart() -> None:
    assert len({*TYPE_COLOURS.values(), OTHER_COLOUR}) == len(TYPE_COLOURS) + 1


def test_a_very_long_or_unusual_name_still_renders_with_a_readable_qr() -> None:
    unusual = facts(visitor_name="Zoë Ångström-山田 " * 20, company=None, host_name="\u202eEvil\x00Host\n")
    image = read_png(render_png(unusual))
    assert [code.text for code in zxingcpp.read_barcodes(image)] == [TOKEN]


def test_the_zpl_label_holds_every_field_and_the_qr_token() -> None:
    zpl = render_zpl(facts())
    assert zpl.startswith("^XA") and zpl.rstrip().endswith("^XZ")
    assert "^CI28" in zpl  # UTF-8 text
    fields = text_fields(zpl)
    assert fields[:6] == [
        "GUEST",
        "Ada Lovelace",
        "Analytical Engines Ltd",
        "Host: Charles Babbage",
        "7 January 2030",
        "Scan to check out",
    ]
    assert fields[-1] == f"MA,{TOKEN}"
    assert "^BQN,2," in zpl


def test_a_visitor_without_a_company_gets_no_company_line() -> None:
    assert "Analytical Engines Ltd" not in text_fields(render_zpl(facts(company=None)))


@pytest.mark.parametrize(
    "hostile",
    [
        "Eve^XZ^XA^FO0,0^GB812,609,609^FS",
        "Eve~JA",  # cancel all jobs
        "Eve~DGR:EVIL.GRF,4,1,FF",
        "Eve\n^XZ\r~JR",
        "Eve_5EXZ",  # a hex escape written by hand must stay text
        "Eve\x00\x1b^",
    ],
)
def test_a_hostile_name_cannot_inject_zpl_commands(hostile: str) -> None:
    benign = render_zpl(facts())
    zpl = render_zpl(facts(visitor_name=hostile, company=hostile, host_name=hostile))
    assert commands(zpl) == commands(benign)
    assert "~" not in zpl
    name = text_fields(zpl)[1]
    assert name == " ".join("".join(ch if ch.isprintable() else " " for ch in hostile).split())


def test_unicode_names_reach_the_printer_intact() -> None:
    assert text_fields(render_zpl(facts(visitor_name="Zoë Ångström 山田太郎")))[1] == "Zoë Ångström 山田太郎"


def test_the_facts_survive_their_json_form() -> None:
    original = facts(company=None)
    assert BadgeFacts.from_json(original.to_json()) == original
