"""Who may call the API: people's accounts, and the long-lived keys of kiosks, panels and integrations."""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base, BigId


class KeyKind(StrEnum):
    """What a long-lived API key stands for; it decides the key's one role."""

    KIOSK = "kiosk"
    PANEL = "panel"
    INTEGRATION = "integration"


class User(Base):
    """A person who signs in with a password. Only the password's slow hash is kept."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(120))
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    """Ties a host to the visits and bookings that are theirs (the directory's and organisers' email)."""
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    roles: Mapped[list[str]]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    tokens_valid_after: Mapped[datetime]
    """Access tokens issued before this are refused: set on a password change, a role change or sign-out."""


class ApiKey(Base):
    """A kiosk's, a room panel's or an integration's key. Only its SHA-256 is kept (the key is 256 random bits,
    so a fast hash is enough); ``prefix`` names it in lists without revealing it."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    kind: Mapped[str] = mapped_column(sa.String(16))
    room_id: Mapped[str | None] = mapped_column(sa.ForeignKey("rooms.id"))
    """A panel key's room: the only room it may act on."""
    prefix: Mapped[str] = mapped_column(sa.String(40))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(sa.String(120))
    revoked_at: Mapped[datetime | None]
