"""Long-lived keys for kiosks, room panels and integrations: issued once, stored hashed, revoked one by one.

A key reads ``atrium_<kind>_<random>``; the random part is 256 bits, so a SHA-256 of the key is enough to
find and check it (a slow hash would only slow every request). The key itself is shown once, when made.
"""

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.errors import Invalid, NotFound
from hub.services.principals import Principal, Role
from hub.store import audit
from hub.store.auth_models import ApiKey, KeyKind
from hub.store.models import Room

KEY_PREFIX = "atrium_"
ROLE_OF_KIND = {KeyKind.KIOSK: Role.KIOSK, KeyKind.PANEL: Role.PANEL, KeyKind.INTEGRATION: Role.INTEGRATION}


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)


def issue_key(
    session: Session, *, kind: KeyKind, name: str, room_id: str | None = None, actor: str, now: datetime
) -> tuple[ApiKey, str]:
    """A new key and its secret text, which is not kept and cannot be shown again."""
    if kind is KeyKind.PANEL:
        if room_id is None:
            raise Invalid("a panel key needs its room")
        if session.get(Room, room_id) is None:
            raise NotFound(f"no room {room_id!r}")
    elif room_id is not None:
        raise Invalid(f"only panel keys belong to a room, not {kind} keys")
    text = f"{KEY_PREFIX}{kind}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        name=name, kind=kind, room_id=room_id, prefix=text[: len(KEY_PREFIX) + len(kind) + 7],
        key_hash=key_digest(text), created_at=now, created_by=actor, revoked_at=None,
    )  # fmt: skip
    session.add(key)
    session.flush()
    audit.record(
        session, actor=actor, action="key.create", object_type="api_key", object_id=key.id, now=now,
        detail={"kind": str(kind), "name": name, "room_id": room_id},
    )  # fmt: skip
    return key, text


def revoke_key(session: Session, key_id: int, *, actor: str, now: datetime) -> ApiKey:
    """The key stops working at its next request; revoking twice is harmless."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no API key {key_id}")
    if key.revoked_at is None:
        key.revoked_at = now
        audit.record(session, actor=actor, action="key.revoke", object_type="api_key", object_id=key.id, now=now)
    return key


def list_keys(session: Session, *, include_revoked: bool = False) -> Sequence[ApiKey]:
    query = sa.select(ApiKey).order_by(ApiKey.id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return session.scalars(query).all()


def find_active_key(session: Session, text: str) -> ApiKey | None:
    return session.scalar(sa.select(ApiKey).where(ApiKey.key_hash == key_digest(text), ApiKey.revoked_at.is_(None)))


def principal_of(key: ApiKey) -> Principal:
    return Principal(
        kind="key", id=key.id, name=key.name, roles=frozenset({ROLE_OF_KIND[KeyKind(key.kind)]}), room_id=key.room_id
    )
