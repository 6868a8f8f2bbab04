"""People's accounts: create them, sign them in, change their roles and passwords, switch them off.

Passwords are hashed with Argon2 (pwdlib's recommended hash), which is slow on purpose. Signing in
with an unknown name still spends one verification, so timing does not tell which names exist.
Every change is written to the audit log; no password or hash ever is.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from pwdlib import PasswordHash
from sqlalchemy.orm import Session

from hub.errors import Conflict, Invalid, NotFound
from hub.services.principals import PERSON_ROLES, Principal, Role
from hub.store import audit
from hub.store.auth_models import User

MIN_PASSWORD_LENGTH = 10
_HASHER = PasswordHash.recommended()
_DUMMY_HASH = _HASHER.hash("atrium: a password nobody has")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


def _check_roles(roles: Iterable[str]) -> list[str]:
    chosen = sorted(set(roles))
    if not chosen:
        raise Invalid("a user needs at least one role")
    unknown = [role for role in chosen if role not in PERSON_ROLES]
    if unknown:
        allowed = ", ".join(sorted(PERSON_ROLES))
        raise Invalid(f"no such role for a person: {', '.join(unknown)} (roles: {allowed})")
    return chosen


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    roles: Iterable[str],
    display_name: str | None = None,
    email: str | None = None,
    actor: str,
    now: datetime,
) -> User:
    """A new account; a name already taken is a 409."""
    _check_password(password)
    chosen = _check_roles(roles)
    if session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"the username {username!r} is taken")
    user = User(
        username=username,
        display_name=display_name or username,
        email=email,
        password_hash=hash_password(password),
        roles=chosen,
        active=True,
        created_at=now,
        tokens_valid_after=now,
    )
    session.add(user)
    session.flush()
    audit.record(
        session, actor=actor, action="user.create", object_type="user", object_id=user.id, now=now,
        detail={"username": username, "roles": chosen},
    )  # fmt: skip
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def find_user(session: Session, username: str) -> User:
    user = session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(sa.select(User).order_by(User.username)).all()


def update_user(
    session: Session,
    user: User,
    *,
    roles: Iterable[str] | None = None,
    active: bool | None = None,
    display_name: str | None = None,
    email: str | None = None,
    actor: str,
    now: datetime,
) -> User:
    """Change roles, switch the account on or off, or rename it; a role change or switch-off signs it out."""
    changed: dict[str, object] = {}
    if roles is not None:
        chosen = _check_roles(roles)
        if chosen != user.roles:
            user.roles, changed["roles"] = chosen, chosen
    if active is not None and active != user.active:
        user.active, changed["active"] = active, active
    if display_name is not None and display_name != user.display_name:
        user.display_name, changed["display_name"] = display_name, True
    if email is not None and email != user.email:
        user.email, changed["email"] = email, True
    if "roles" in changed or changed.get("active") is False:
        user.tokens_valid_after = now
    if changed:
        audit.record(
            session, actor=actor, action="user.update", object_type="user", object_id=user.id, now=now, detail=changed
        )
    return user


def set_password(session: Session, user: User, password: str, *, actor: str, now: datetime) -> None:
    """A new password; every session signed in with the old one ends."""
    _check_password(password)
    user.password_hash = hash_password(password)
    user.tokens_valid_after = now
    audit.record(session, actor=actor, action="user.password", object_type="user", object_id=user.id, now=now)


def sign_out_everywhere(session: Session, user: User, *, actor: str, now: datetime) -> None:
    user.tokens_valid_after = now
    audit.record(session, actor=actor, action="user.sign_out", object_type="user", object_id=user.id, now=now)


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, or None; as slow for an unknown name as for a known one."""
    user = session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        _HASHER.verify(password, _DUMMY_HASH)
        return None
    if not _HASHER.verify(password, user.password_hash) or not user.active:
        return None
    return user


def principal_of(user: User) -> Principal:
    return Principal(
        kind="user", id=user.id, name=user.username, roles=frozenset(Role(role) for role in user.roles),
        email=user.email,
    )  # fmt: skip
