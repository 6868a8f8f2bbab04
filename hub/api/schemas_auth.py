"""Bodies and answers of sign-in, users, API keys and the audit log."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hub.services.principals import Role
from hub.services.users import MIN_PASSWORD_LENGTH
from hub.store.auth_models import KeyKind

Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._@-]{1,64}$")]
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Password = Annotated[str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=256)]


class AccessToken(BaseModel):
    """OAuth2's token answer."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int
    """Seconds the token lasts."""


class Me(BaseModel):
    """The caller, as the hub sees it."""

    actor: str
    kind: str
    name: str
    roles: list[Role]
    email: str | None
    room_id: str | None


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=256)
    new_password: Password


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    password: Password
    roles: list[Role] = Field(min_length=1)
    display_name: str | None = Field(default=None, max_length=120)
    email: Email | None = None


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: list[Role] | None = Field(default=None, min_length=1)
    active: bool | None = None
    display_name: str | None = Field(default=None, min_length=1, max_length=120)
    email: Email | None = None


class PasswordReset(BaseModel):
    password: Password


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    email: str | None
    roles: list[str]
    active: bool
    created_at: datetime


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: KeyKind
    name: str = Field(min_length=1, max_length=120)
    room_id: str | None = Field(default=None, max_length=64, description="A panel key's room")


class KeyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: KeyKind
    room_id: str | None
    prefix: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


class KeyIssued(KeyPublic):
    key: str
    """The key itself: shown this once, never kept by the hub."""


class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    detail: dict[str, Any]
