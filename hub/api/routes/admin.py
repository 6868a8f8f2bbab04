"""The site admin's routes: people's accounts, API keys for kiosks, panels and integrations, and the audit log."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from hub.api.access import allow
from hub.api.deps import NowDep, RowId, SessionDep
from hub.api.routes.rooms import ERRORS
from hub.api.schemas_auth import (
    AuditEntryPublic,
    KeyCreate,
    KeyIssued,
    KeyPublic,
    PasswordReset,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from hub.services import api_keys, users
from hub.services.principals import Principal, Role
from hub.store import audit

router = APIRouter(tags=["admin"])
Admin = Annotated[Principal, allow(Role.ADMIN)]


@router.get("/users", response_model=list[UserPublic], summary="Every account")
def list_users(_admin: Admin, session: SessionDep) -> list[UserPublic]:
    return [UserPublic.model_validate(user) for user in users.list_users(session)]


@router.post("/users", response_model=UserPublic, status_code=201, responses=ERRORS, summary="Make an account")
def create_user(body: UserCreate, admin: Admin, session: SessionDep, now: NowDep) -> UserPublic:
    user = users.create_user(
        session, username=body.username, password=body.password, roles=body.roles, display_name=body.display_name,
        email=body.email, actor=admin.actor, now=now,
    )  # fmt: skip
    session.commit()
    return UserPublic.model_validate(user)


@router.get("/users/{user_id}", response_model=UserPublic, responses=ERRORS, summary="One account")
def get_user(user_id: RowId, _admin: Admin, session: SessionDep) -> UserPublic:
    return UserPublic.model_validate(users.get_user(session, user_id))


@router.patch(
    "/users/{user_id}",
    response_model=UserPublic,
    responses=ERRORS,
    summary="Change an account's roles, name or email, or switch it off (which ends its sessions)",
)
def update_user(user_id: RowId, body: UserUpdate, admin: Admin, session: SessionDep, now: NowDep) -> UserPublic:
    user = users.update_user(
        session, users.get_user(session, user_id), roles=body.roles, active=body.active,
        display_name=body.display_name, email=body.email, actor=admin.actor, now=now,
    )  # fmt: skip
    session.commit()
    return UserPublic.model_validate(user)


@router.post("/users/{user_id}/password", status_code=204, responses=ERRORS, summary="Set an account's password")
def reset_password(user_id: RowId, body: PasswordReset, admin: Admin, session: SessionDep, now: NowDep) -> None:
    users.set_password(session, users.get_user(session, user_id), body.password, actor=admin.actor, now=now)
    session.commit()


@router.get("/keys", response_model=list[KeyPublic], summary="API keys of kiosks, panels and integrations")
def list_keys(_admin: Admin, session: SessionDep, include_revoked: Annotated[bool, Query()] = False) -> list[KeyPublic]:
    return [KeyPublic.model_validate(key) for key in api_keys.list_keys(session, include_revoked=include_revoked)]


@router.post(
    "/keys", response_model=KeyIssued, status_code=201, responses=ERRORS, summary="Make a key (shown this once)"
)
def create_key(body: KeyCreate, admin: Admin, session: SessionDep, now: NowDep) -> KeyIssued:
    key, text = api_keys.issue_key(
        session, kind=body.kind, name=body.name, room_id=body.room_id, actor=admin.actor, now=now
    )
    session.commit()
    return KeyIssued.model_validate({**KeyPublic.model_validate(key).model_dump(), "key": text})


@router.post("/keys/{key_id}/revoke", response_model=KeyPublic, responses=ERRORS, summary="Revoke a key at once")
def revoke_key(key_id: RowId, admin: Admin, session: SessionDep, now: NowDep) -> KeyPublic:
    key = api_keys.revoke_key(session, key_id, actor=admin.actor, now=now)
    session.commit()
    return KeyPublic.model_validate(key)


@router.get("/audit", response_model=list[AuditEntryPublic], summary="The audit log, newest first")
def audit_log(
    _admin: Admin,
    session: SessionDep,
    object_type: Annotated[str | None, Query(max_length=32, examples=["visit"])] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=120, examples=["user:alice"])] = None,
    since: Annotated[datetime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditEntryPublic]:
    found = audit.entries(session, object_type=object_type, object_id=object_id, actor=actor, since=since, limit=limit)
    return [AuditEntryPublic.model_validate(entry) for entry in found]
