"""Credentials for tests: a person with given roles (and their bearer header), or an API key.

Users are written straight to the database with one precomputed password hash, since Argon2 is slow
on purpose; their access tokens are minted with the hub's own code under the settings' site secret.
"""

import itertools
from datetime import UTC, datetime, timedelta
from functools import cache

from hub.runtime import Database
from hub.services import api_keys, users
from hub.services.access_tokens import issue_access_token, token_key
from hub.services.principals import Role
from hub.services.site_secret import site_secret
from hub.settings import Settings
from hub.store.auth_models import KeyKind, User

TEST_PASSWORD = "correct horse battery staple"
_names = itertools.count(1)


@cache
def _password_hash() -> str:
    return users.hash_password(TEST_PASSWORD)


def make_user(database: Database, *roles: Role, username: str | None = None, email: str | None = None) -> User:
    """An active account with ``roles`` whose password is :data:`TEST_PASSWORD`."""
    now = datetime.now(UTC) - timedelta(seconds=5)
    with database.sessions.begin() as session:
        user = User(
            username=username or f"user{next(_names)}",
            display_name=username or "Test user",
            email=email,
            password_hash=_password_hash(),
            roles=sorted(str(role) for role in roles),
            active=True,
            created_at=now,
            tokens_valid_after=now,
        )
        session.add(user)
    return user


def token_for(settings: Settings, user: User) -> str:
    now = datetime.now(UTC)
    return issue_access_token(token_key(site_secret(settings)), user, now=now, lifetime=timedelta(hours=1))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def headers_for(database: Database, settings: Settings, *roles: Role, email: str | None = None) -> dict[str, str]:
    """The Authorization header of a new user with ``roles`` (default: admin)."""
    return bearer(token_for(settings, make_user(database, *(roles or (Role.ADMIN,)), email=email)))


def issue_key(database: Database, kind: KeyKind, *, name: str = "test key", room_id: str | None = None) -> str:
    """A new API key's text."""
    with database.sessions.begin() as session:
        _, text = api_keys.issue_key(
            session, kind=kind, name=name, room_id=room_id, actor="test", now=datetime.now(UTC)
        )
    return text
