"""Signing in (OAuth2 password flow), who am I, signing out, and changing one's own password."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from hub.api.access import PUBLIC, AnyCaller, allow
from hub.api.deps import NowDep, SessionDep, StateDep
from hub.api.routes.rooms import ERRORS
from hub.api.schemas_auth import AccessToken, Me, PasswordChange
from hub.errors import Forbidden, Unauthenticated
from hub.services import users
from hub.services.access_tokens import issue_access_token
from hub.services.principals import PERSON_ROLES, Principal

router = APIRouter(prefix="/auth", tags=["auth"])
PersonCaller = Annotated[Principal, allow(*PERSON_ROLES)]


@router.post(
    "/token",
    response_model=AccessToken,
    responses={**ERRORS, 401: {"description": "Wrong name or password"}, 429: {"description": "Too many failures"}},
    summary="Sign in with a username and password; returns a bearer access token",
    dependencies=[PUBLIC],
)
def sign_in(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, state: StateDep, session: SessionDep,
    now: NowDep,
) -> AccessToken:  # fmt: skip
    address = f"address:{request.client.host if request.client else 'unknown'}"
    name = f"user:{form.username}"
    state.names_throttle.check(name)
    state.addresses_throttle.check(address)
    user = users.authenticate(session, form.username, form.password)
    if user is None:
        state.names_throttle.failed(name)
        state.addresses_throttle.failed(address)
        raise Unauthenticated("wrong username or password")
    state.names_throttle.succeeded(name)
    lifetime = timedelta(minutes=state.settings.access_token_minutes)
    token = issue_access_token(state.token_key, user, now=now, lifetime=lifetime)
    return AccessToken(access_token=token, expires_in=int(lifetime.total_seconds()))


@router.get("/me", response_model=Me, summary="Who the hub takes the caller for")
def me(principal: AnyCaller) -> Me:
    return Me(
        actor=principal.actor, kind=principal.kind, name=principal.name, roles=sorted(principal.roles),
        email=principal.email, room_id=principal.room_id,
    )  # fmt: skip


@router.post("/sign-out", status_code=204, summary="End every session of the signed-in person")
def sign_out(principal: PersonCaller, session: SessionDep, now: NowDep) -> None:
    if principal.kind != "user":
        raise Forbidden("API keys do not sign out; an admin revokes them")
    users.sign_out_everywhere(session, users.get_user(session, principal.id), actor=principal.actor, now=now)
    session.commit()


@router.post("/password", status_code=204, responses=ERRORS, summary="Change one's own password")
def change_password(body: PasswordChange, principal: PersonCaller, session: SessionDep, now: NowDep) -> None:
    if principal.kind != "user":
        raise Forbidden("API keys have no password")
    user = users.get_user(session, principal.id)
    if users.authenticate(session, user.username, body.current_password) is None:
        raise Forbidden("the current password is wrong")
    users.set_password(session, user, body.new_password, actor=principal.actor, now=now)
    session.commit()
