"""Signed QR tokens for visitor invitations and badge check-out: issued and verified by the hub, no I/O.

A token is ``ATR1.`` followed by the URL-safe base64 (no padding) of a binary body and the first
16 bytes (128 bits) of HMAC-SHA256 over ``ATR1.`` and the body. The body, big-endian::

    kind          1 byte    1 invitation, 2 badge check-out
    key id        1 byte length + 1-8 ASCII bytes   which key signed it, for rotation
    visit id      1 byte length + 1-28 ASCII bytes
    not before    4 bytes   seconds since the epoch (unsigned, so until 2106)
    not after     4 bytes   the visit window is [not before, not after)
    nonce        12 bytes   random; the caller records redeemed nonces to make a token single-use

The longest token is :data:`MAX_TOKEN_LENGTH` (105) characters, which a QR code holds in version 6
at error correction M (106 bytes); a typical one (key ``k1``, visit ``12345``) is 67 characters,
version 5. Refusals raise :class:`InvalidToken`, with a reason for code and a sentence for people.
"""

import base64
import binascii
import hashlib
import hmac
import math
import re
import secrets
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from hub.errors import AtriumError

TOKEN_PREFIX = "ATR1."
MAC_BYTES = 16
NONCE_BYTES = 12
MIN_KEY_BYTES = 16
MAX_KEY_ID_LENGTH = 8
MAX_VISIT_ID_LENGTH = 28
_TIMES = struct.Struct(">II")
_FIXED_BYTES = 1 + 1 + 1 + _TIMES.size + NONCE_BYTES + MAC_BYTES
MAX_TOKEN_LENGTH = len(TOKEN_PREFIX) + math.ceil((_FIXED_BYTES + MAX_KEY_ID_LENGTH + MAX_VISIT_ID_LENGTH) * 4 / 3)

_KEY_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_KEY_ID_LENGTH}}}")
_VISIT_ID = re.compile(rf"[\x21-\x7e]{{1,{MAX_VISIT_ID_LENGTH}}}")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_MAX_EPOCH = 2**32 - 1


class TokenKind(StrEnum):
    """What a token lets its bearer do."""

    INVITATION = "invitation"
    CHECKOUT = "checkout"


_KIND_CODES = {TokenKind.INVITATION: 1, TokenKind.CHECKOUT: 2}
_KINDS_BY_CODE = {code: kind for kind, code in _KIND_CODES.items()}
_NOUNS = {TokenKind.INVITATION: "invitation", TokenKind.CHECKOUT: "badge check-out code"}


class RefusalReason(StrEnum):
    """Why a token was refused; each deserves its own counter and its own advice."""

    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_KIND = "wrong_kind"


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified token says. ``nonce`` is what the store redeems once, atomically."""

    kind: TokenKind
    visit_id: str
    not_before: datetime
    not_after: datetime
    nonce: str
    """The random nonce as 24 lowercase hex digits."""
    key_id: str


class InvalidToken(AtriumError):
    """A token the hub will not honour; ``str()`` is a sentence a receptionist can read out.

    ``claims`` is set when the signature was good but the token is out of its window or of the
    wrong kind, so the kiosk can still say whose visit it was.
    """

    def __init__(self, reason: RefusalReason, message: str, claims: Claims | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.claims = claims


def new_key() -> bytes:
    """A fresh 256-bit signing key."""
    return secrets.token_bytes(32)


def issue(
    *,
    kind: TokenKind,
    visit_id: str,
    not_before: datetime,
    not_after: datetime,
    key_id: str,
    key: bytes,
    nonce: bytes | None = None,
) -> str:
    """Sign a token for one visit window; ``nonce`` is random unless given (tests, reproducible sets).

    Raises ValueError for arguments no token can carry: that is a bug in the caller, not a visitor's problem.
    """
    if not _KEY_ID.fullmatch(key_id):
        raise ValueError(f"key id must be 1-{MAX_KEY_ID_LENGTH} characters of A-Z a-z 0-9 _ -, got {key_id!r}")
    if not _VISIT_ID.fullmatch(visit_id):
        raise ValueError(f"visit id must be 1-{MAX_VISIT_ID_LENGTH} printable ASCII characters, got {visit_id!r}")
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"signing key must be at least {MIN_KEY_BYTES} bytes")
    start, end = math.floor(_epoch(not_before)), math.ceil(_epoch(not_after))
    if not 0 <= start <= end <= _MAX_EPOCH:
        raise ValueError(f"visit window must run forwards between 1970 and 2106, got {not_before} to {not_after}")
    nonce = secrets.token_bytes(NONCE_BYTES) if nonce is None else nonce
    if len(nonce) != NONCE_BYTES:
        raise ValueError(f"nonce must be {NONCE_BYTES} bytes")
    kid, vid = key_id.encode("ascii"), visit_id.encode("ascii")
    body = bytes([_KIND_CODES[kind], len(kid)]) + kid + bytes([len(vid)]) + vid + _TIMES.pack(start, end) + nonce
    signed = body + _mac(key, body)
    return TOKEN_PREFIX + base64.urlsafe_b64encode(signed).rstrip(b"=").decode("ascii")


def verify(token: str, *, keys: Mapping[str, bytes], now: datetime, kind: TokenKind | None = None) -> Claims:
    """Check a scanned token against the hub's keys and the time ``now`` (timezone-aware).

    ``keys`` maps key ids to keys: list the old key beside the new one while its tokens are in
    circulation, then remove it. ``kind`` is the kind the caller expects (None accepts either).
    Times in refusal messages are shown in ``now``'s timezone. Single use is the caller's: record
    ``Claims.nonce`` atomically when the visit is checked in.
    """
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware, so times in messages are the site's")
    signed = _decode(token)
    kid, vid, rest = _split(signed)
    key = keys.get(kid)
    if key is None:
        raise InvalidToken(
            RefusalReason.UNKNOWN_KEY,
            "This code was signed with a key this office no longer accepts. Ask the host to send a new invitation.",
        )
    body, mac = signed[:-MAC_BYTES], signed[-MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(key, body)):
        raise InvalidToken(
            RefusalReason.BAD_SIGNATURE, "This code was not issued by this office, or it has been altered."
        )
    found_kind = _KINDS_BY_CODE.get(signed[0])
    start, end = _TIMES.unpack_from(rest)
    if found_kind is None or start > end:
        raise InvalidToken(RefusalReason.MALFORMED, "This code is from a newer version of Atrium; ask at reception.")
    claims = Claims(
        kind=found_kind,
        visit_id=vid,
        not_before=datetime.fromtimestamp(start, UTC),
        not_after=datetime.fromtimestamp(end, UTC),
        nonce=rest[_TIMES.size : _TIMES.size + NONCE_BYTES].hex(),
        key_id=kid,
    )
    noun = _NOUNS[found_kind]
    if kind is not None and found_kind is not kind:
        raise InvalidToken(
            RefusalReason.WRONG_KIND,
            f"This is {_article(noun)} {noun}, not {_article(_NOUNS[kind])} {_NOUNS[kind]}.",
            claims,
        )
    instant = now.timestamp()
    if instant < start:
        when = _when(claims.not_before, now, same_day="", other_day="")
        raise InvalidToken(RefusalReason.NOT_YET_VALID, f"This {noun} is valid from {when}.", claims)
    if instant >= end:
        when = _when(claims.not_after, now, same_day="at ", other_day="on ")
        raise InvalidToken(RefusalReason.EXPIRED, f"This {noun} expired {when}.", claims)
    return claims


def _mac(key: bytes, body: bytes) -> bytes:
    """The prefix is signed too, so a body can never be replayed under another token version."""
    return hmac.new(key, TOKEN_PREFIX.encode("ascii") + body, hashlib.sha256).digest()[:MAC_BYTES]


def _decode(token: object) -> bytes:
    """The signed bytes of a token, accepting only the one canonical spelling of them."""
    if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX):
        raise InvalidToken(RefusalReason.MALFORMED, "This QR code is not an Atrium invitation.")
    text = token[len(TOKEN_PREFIX) :]
    damaged = InvalidToken(RefusalReason.MALFORMED, "This code is damaged or incomplete. Ask the host to resend it.")
    if len(token) > MAX_TOKEN_LENGTH or not _BASE64URL.fullmatch(text):
        raise damaged
    try:
        signed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise damaged from None
    # Unused low bits in the last character would let several spellings carry one body.
    if base64.urlsafe_b64encode(signed).rstrip(b"=").decode("ascii") != text:
        raise damaged
    return signed


def _split(signed: bytes) -> tuple[str, str, bytes]:
    """Key id, visit id and the fixed-size rest (times, nonce, MAC), or a refusal if the shape is wrong."""
    damaged = InvalidToken(RefusalReason.MALFORMED, "This code is damaged or incomplete. Ask the host to resend it.")
    try:
        kid_end = 2 + signed[1]
        kid = signed[2:kid_end].decode("ascii")
        vid_end = kid_end + 1 + signed[kid_end]
        vid = signed[kid_end + 1 : vid_end].decode("ascii")
    except (IndexError, UnicodeDecodeError):
        raise damaged from None
    rest = signed[vid_end:]
    if len(rest) != _TIMES.size + NONCE_BYTES + MAC_BYTES or not _KEY_ID.fullmatch(kid) or not _VISIT_ID.fullmatch(vid):
        raise damaged
    return kid, vid, rest


def _epoch(moment: datetime) -> float:
    if moment.utcoffset() is None:
        raise ValueError("visit window times must be timezone-aware")
    return moment.timestamp()


def _when(moment: datetime, now: datetime, *, same_day: str, other_day: str) -> str:
    """'17:00' on the day of ``now``, else '3 March at 17:00' (with the year if not this one), in ``now``'s timezone."""
    local = moment.astimezone(now.tzinfo)
    if local.date() == now.date():
        return f"{same_day}{local:%H:%M}"
    year = "" if local.year == now.year else f" {local.year}"
    return f"{other_day}{local.day} {local:%B}{year} at {local:%H:%M}"


def _article(noun: str) -> str:
    return "an" if noun[0] in "aeiou" else "a"
