"""Signed QR tokens: what verifies, and every way a token is refused (never with anything but InvalidToken)."""

import base64
import random
import string
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hub.errors import AtriumError
from hub.services.qr_tokens import (
    MAC_BYTES,
    MAX_KEY_ID_LENGTH,
    MAX_TOKEN_LENGTH,
    MAX_VISIT_ID_LENGTH,
    TOKEN_PREFIX,
    Claims,
    InvalidToken,
    RefusalReason,
    TokenKind,
    issue,
    new_key,
    verify,
)

KEY = b"0123456789abcdef0123456789abcdef"
KEYS = {"k1": KEY}
OPENS = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
CLOSES = datetime(2030, 1, 7, 18, 0, tzinfo=UTC)
NOON = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)
BASE64URL = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
ALTERED = {RefusalReason.MALFORMED, RefusalReason.UNKNOWN_KEY, RefusalReason.BAD_SIGNATURE}


def token(
    *, kind: TokenKind = TokenKind.INVITATION, visit_id: str = "12345", key_id: str = "k1", key: bytes = KEY
) -> str:
    return issue(kind=kind, visit_id=visit_id, not_before=OPENS, not_after=CLOSES, key_id=key_id, key=key)


def refusal(
    text: str, *, keys: dict[str, bytes] = KEYS, now: datetime = NOON, kind: TokenKind | None = None
) -> InvalidToken:
    with pytest.raises(InvalidToken) as refused:
        verify(text, keys=keys, now=now, kind=kind)
    return refused.value


def signed_bytes(text: str) -> bytes:
    body = text.removeprefix(TOKEN_PREFIX)
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def spell(signed: bytes) -> str:
    return TOKEN_PREFIX + base64.urlsafe_b64encode(signed).rstrip(b"=").decode()


def test_round_trip() -> None:
    claims = verify(token(), keys=KEYS, now=NOON, kind=TokenKind.INVITATION)
    assert claims == Claims(
        kind=TokenKind.INVITATION,
        visit_id="12345",
        not_before=OPENS,
        not_after=CLOSES,
        nonce=claims.nonce,
        key_id="k1",
    )
    assert len(claims.nonce) == 24 and int(claims.nonce, 16) >= 0


def test_checkout_round_trip_and_either_kind_by_default() -> None:
    claims = verify(token(kind=TokenKind.CHECKOUT, visit_id="visit:7f3a"), keys=KEYS, now=NOON)
    assert (claims.kind, claims.visit_id) == (TokenKind.CHECKOUT, "visit:7f3a")


def test_window_is_half_open() -> None:
    assert verify(token(), keys=KEYS, now=OPENS).visit_id == "12345"
    assert verify(token(), keys=KEYS, now=CLOSES - timedelta(microseconds=1)).visit_id == "12345"
    assert refusal(token(), now=CLOSES).reason is RefusalReason.EXPIRED


def test_tokens_are_unique() -> None:
    tokens = [token() for _ in range(500)]
    assert len(set(tokens)) == 500
    assert len({verify(t, keys=KEYS, now=NOON).nonce for t in tokens}) == 500


def test_length_bound() -> None:
    assert len(token()) == 67
    longest = token(visit_id="v" * MAX_VISIT_ID_LENGTH, key_id="k" * MAX_KEY_ID_LENGTH)
    assert len(longest) == MAX_TOKEN_LENGTH <= 106  # a QR code holds 106 bytes in version 6 at level M
    assert verify(longest, keys={"k" * MAX_KEY_ID_LENGTH: KEY}, now=NOON).visit_id == "v" * MAX_VISIT_ID_LENGTH


def test_every_altered_character_is_refused() -> None:
    original = token()
    for position in range(len(TOKEN_PREFIX), len(original)):
        for replacement in BASE64URL.replace(original[position], ""):
            altered = original[:position] + replacement + original[position + 1 :]
            assert refusal(altered).reason in ALTERED, altered


def test_every_flipped_bit_is_refused_and_mac_flips_are_bad_signatures() -> None:
    signed = signed_bytes(token())
    for index in range(len(signed)):
        for bit in range(8):
            flipped = bytearray(signed)
            flipped[index] ^= 1 << bit
            reason = refusal(spell(bytes(flipped))).reason
            if index >= len(signed) - MAC_BYTES:
                assert reason is RefusalReason.BAD_SIGNATURE
            else:
                assert reason in ALTERED


def test_truncated_and_extended_tokens_are_malformed() -> None:
    original = token()
    for end in range(len(original)):
        assert refusal(original[:end]).reason is RefusalReason.MALFORMED
    assert refusal(original + "A").reason is RefusalReason.MALFORMED
    assert refusal(spell(signed_bytes(original)[:-1])).reason is RefusalReason.MALFORMED


def test_non_canonical_spelling_is_refused() -> None:
    """The last character's unused bits must be zero, or two spellings would carry one token."""
    original = token()
    last = BASE64URL.index(original[-1])
    for other in range(64):
        if other != last and other >> 4 == last >> 4:  # 46 bytes: the last character carries 2 bits, 4 unused
            assert refusal(original[:-1] + BASE64URL[other]).reason is RefusalReason.MALFORMED


@pytest.mark.parametrize("prefix", ["ATR2.", "atr1.", "ATR1", "", "ATR1.."])
def test_wrong_prefix(prefix: str) -> None:
    refused = refusal(prefix + token().removeprefix(TOKEN_PREFIX))
    assert refused.reason is RefusalReason.MALFORMED


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        " ",
        "ATR1.",
        "ATR1.=",
        "ATR1.AAAA====",
        "ATR1.!!!!",
        "ATR1.é",
        "https://example.com/invite?id=7",
        "\x00" * 80,
    ],
)
def test_garbage_is_malformed(garbage: str) -> None:
    assert refusal(garbage).reason is RefusalReason.MALFORMED


def test_messages_say_what_happened() -> None:
    assert str(refusal("https://example.com")) == "This QR code is not an Atrium invitation."
    assert "damaged" in str(refusal(token()[:-5]))


def test_unknown_key_id() -> None:
    refused = refusal(token(key_id="old"))
    assert refused.reason is RefusalReason.UNKNOWN_KEY
    assert "no longer accepts" in str(refused)


def test_another_key_under_the_same_id_is_a_bad_signature() -> None:
    refused = refusal(token(key=new_key()))
    assert refused.reason is RefusalReason.BAD_SIGNATURE
    assert str(refused) == "This code was not issued by this office, or it has been altered."


def test_expired_message_in_the_sites_time() -> None:
    refused = refusal(token(), now=CLOSES + timedelta(minutes=5))
    assert refused.reason is RefusalReason.EXPIRED
    assert str(refused) == "This invitation expired at 18:00."
    assert refused.claims is not None and refused.claims.visit_id == "12345"
    paris_next_day = (CLOSES + timedelta(days=1)).astimezone(ZoneInfo("Europe/Paris"))
    assert str(refusal(token(), now=paris_next_day)) == "This invitation expired on 7 January at 19:00."


def test_not_yet_valid() -> None:
    refused = refusal(token(kind=TokenKind.CHECKOUT), now=OPENS - timedelta(hours=1))
    assert refused.reason is RefusalReason.NOT_YET_VALID
    assert str(refused) == "This badge check-out code is valid from 09:00."
    early = str(refusal(token(), now=OPENS - timedelta(days=400)))
    assert early == "This invitation is valid from 7 January 2030 at 09:00."


def test_wrong_kind() -> None:
    refused = refusal(token(kind=TokenKind.CHECKOUT), kind=TokenKind.INVITATION)
    assert refused.reason is RefusalReason.WRONG_KIND
    assert str(refused) == "This is a badge check-out code, not an invitation."
    assert refused.claims is not None and refused.claims.kind is TokenKind.CHECKOUT
    assert str(refusal(token(), kind=TokenKind.CHECKOUT)) == "This is an invitation, not a badge check-out code."


def test_key_rotation() -> None:
    old, new = new_key(), new_key()
    issued_before = token(key_id="2029", key=old)
    both = {"2030": new, "2029": old}
    assert verify(issued_before, keys=both, now=NOON).key_id == "2029"
    assert verify(token(key_id="2030", key=new), keys=both, now=NOON).key_id == "2030"
    assert refusal(issued_before, keys={"2030": new}).reason is RefusalReason.UNKNOWN_KEY


def test_refusals_are_atrium_errors() -> None:
    assert isinstance(refusal("nonsense"), AtriumError)


def test_fuzzed_input_raises_only_invalid_token() -> None:
    rng = random.Random(20300107)
    original = token()
    alphabet = BASE64URL + "=.+/ \n\x00é€ATR1"
    for _ in range(3000):
        mode = rng.randrange(4)
        if mode == 0:
            text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(120)))
        elif mode == 1:
            text = spell(rng.randbytes(rng.randrange(90)))
        elif mode == 2:
            chars = list(original)
            for _ in range(rng.randint(1, 4)):
                at = rng.randrange(len(chars))
                edit = rng.randrange(3)
                if edit == 0:
                    del chars[at]
                elif edit == 1:
                    chars.insert(at, rng.choice(alphabet))
                else:
                    chars[at] = rng.choice(alphabet)
            text = "".join(chars)
        else:  # a well-formed shape with random lengths, so the parser's length fields are exercised
            signed = bytes([rng.randrange(4), rng.randrange(12)]) + rng.randbytes(rng.randrange(80))
            text = spell(signed)
        if text == original:
            continue
        with pytest.raises(InvalidToken):
            verify(text, keys=KEYS, now=NOON)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"key_id": ""}, "key id"),
        ({"key_id": "key/1"}, "key id"),
        ({"key_id": "k" * (MAX_KEY_ID_LENGTH + 1)}, "key id"),
        ({"visit_id": ""}, "visit id"),
        ({"visit_id": "v" * (MAX_VISIT_ID_LENGTH + 1)}, "visit id"),
        ({"visit_id": "with space"}, "visit id"),
        ({"key": b"short"}, "at least 16 bytes"),
        ({"not_before": CLOSES, "not_after": OPENS}, "forwards"),
        ({"not_before": datetime(2030, 1, 7, 9)}, "timezone-aware"),
        ({"not_after": datetime(2107, 1, 1, tzinfo=UTC)}, "2106"),
        ({"nonce": b"short"}, "nonce"),
    ],
)
def test_issue_refuses_what_no_token_can_carry(change: dict[str, object], problem: str) -> None:
    arguments: dict[str, object] = {
        "kind": TokenKind.INVITATION,
        "visit_id": "1",
        "not_before": OPENS,
        "not_after": CLOSES,
        "key_id": "k1",
        "key": KEY,
    }
    with pytest.raises(ValueError, match=problem):
        issue(**(arguments | change))  # type: ignore[arg-type]


def test_verify_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify(token(), keys=KEYS, now=datetime(2030, 1, 7, 12))
