"""The QR tokens of visits: invitation and badge check-out codes, signed with a key derived from the site secret.

Deriving the key (HMAC of a fixed label under the site secret) means no key table: rotating the site
secret revokes every code in circulation, as it does panel tokens.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.services import qr_tokens
from hub.services.qr_tokens import NONCE_BYTES, Claims, TokenKind

KEY_ID = "v1"
_CONTEXT = b"atrium-visit-qr:"


@dataclass(frozen=True, slots=True)
class VisitKeys:
    """The key new codes are signed with, and every key a scanned code may carry."""

    key_id: str
    keys: dict[str, bytes]

    @classmethod
    def from_secret(cls, secret: bytes) -> "VisitKeys":
        key = hmac.new(secret, _CONTEXT + KEY_ID.encode(), hashlib.sha256).digest()
        return cls(key_id=KEY_ID, keys={KEY_ID: key})


def issue(
    keys: VisitKeys, *, kind: TokenKind, visit_id: int, not_before: datetime, not_after: datetime, nonce: str
) -> str:
    """The code for one visit, valid in [not_before, not_after); ``nonce`` (hex) is what single use is kept by."""
    return qr_tokens.issue(
        kind=kind,
        visit_id=str(visit_id),
        not_before=not_before,
        not_after=not_after,
        key_id=keys.key_id,
        key=keys.keys[keys.key_id],
        nonce=bytes.fromhex(nonce),
    )


def new_nonce() -> str:
    """A fresh random nonce, as hex."""
    return secrets.token_hex(NONCE_BYTES)


def invitation_window(starts_at: datetime, ends_at: datetime, slack: timedelta) -> tuple[datetime, datetime]:
    """When an invitation works: the visit's window, a little early and a little late."""
    return starts_at - slack, ends_at + slack


def verify(keys: VisitKeys, token: str, *, now: datetime, kind: TokenKind | None = None) -> Claims:
    """Check a scanned code; raises qr_tokens.InvalidToken with the reason."""
    return qr_tokens.verify(token, keys=keys.keys, now=now, kind=kind)
