"""Credentials for ``make demo``: an admin to sign in with, the demo kiosk's key, and one room panel's key.

The admin is made on the first run only (its password is shown then); the kiosk and panel keys are
new on every run, and the previous run's demo keys are revoked, so old demo keys do not pile up.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.services import api_keys, users
from hub.services.principals import Role
from hub.store.auth_models import ApiKey, KeyKind, User

DEMO_ADMIN = "admin"
DEMO_ACTOR = "demo"
_DEMO_KEY_NAMES = ("demo kiosk", "demo panel")


@dataclass(frozen=True)
class DemoAccess:
    admin_username: str
    admin_password: str | None
    """None when the admin was made by an earlier run."""
    kiosk_key: str
    panel_key: str


def demo_access(session: Session, *, panel_room: str, now: datetime) -> DemoAccess:
    password: str | None = None
    if session.scalar(sa.select(User.id).where(User.username == DEMO_ADMIN)) is None:
        password = secrets.token_urlsafe(12)
        users.create_user(
            session, username=DEMO_ADMIN, password=password, roles=[Role.ADMIN], display_name="Demo admin",
            actor=DEMO_ACTOR, now=now,
        )  # fmt: skip
    earlier = session.scalars(
        sa.select(ApiKey).where(
            ApiKey.created_by == DEMO_ACTOR, ApiKey.name.in_(_DEMO_KEY_NAMES), ApiKey.revoked_at.is_(None)
        )
    )
    for key in earlier:
        api_keys.revoke_key(session, key.id, actor=DEMO_ACTOR, now=now)
    _, kiosk = api_keys.issue_key(session, kind=KeyKind.KIOSK, name="demo kiosk", actor=DEMO_ACTOR, now=now)
    _, panel = api_keys.issue_key(
        session, kind=KeyKind.PANEL, name="demo panel", room_id=panel_room, actor=DEMO_ACTOR, now=now
    )
    return DemoAccess(admin_username=DEMO_ADMIN, admin_password=password, kiosk_key=kiosk, panel_key=panel)
