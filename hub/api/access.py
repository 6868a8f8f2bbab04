"""Who may call each route: a gate per route, declared in its signature and published in the OpenAPI document.

Routes take ``principal: Annotated[Principal, allow(Role.RECEPTION, Role.KIOSK)]`` (admin is always let
in) or, when open to anyone, ``dependencies=[PUBLIC]``. :func:`declare_access` refuses to build the app
if a route declares neither, and writes each route's roles into the document (``x-atrium-roles``), so
the test that walks every route checks what the document promises.

The gate answers 401 when no valid credentials came and 403 when the caller's roles do not fit. A room
panel's key is scoped: on a route with a ``room_id`` it must be that room's key. Panel pages and their
server-sent events cannot send headers, so panel routes also take the key as ``?token=``.
"""

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute, APIRouter
from fastapi.security import OAuth2PasswordBearer

from hub.api.deps import NowDep, SessionDep, StateDep
from hub.errors import Forbidden, Unauthenticated
from hub.services.access_tokens import resolve_bearer
from hub.services.principals import Principal, Role

bearer = OAuth2PasswordBearer(
    tokenUrl="/auth/token",
    auto_error=False,
    description="A person's access token from /auth/token, or a kiosk's, panel's or integration's API key.",
)
BearerDep = Annotated[str | None, Depends(bearer)]
ACCESS_EXTENSION = "x-atrium-roles"
PUBLIC_ROLE = "public"


class RoleGate:
    """Lets through a caller with one of ``roles`` (or admin) and returns it as the request's principal."""

    def __init__(self, roles: frozenset[Role], *, any_caller: bool = False) -> None:
        self.roles = roles
        self.any_caller = any_caller
        """Open to every principal (who am I): a room-scoped key needs no room here."""

    def __call__(
        self, request: Request, state: StateDep, session: SessionDep, now: NowDep, token: BearerDep
    ) -> Principal:
        if token is None and Role.PANEL in self.roles:
            token = request.query_params.get("token")
        if not token:
            raise Unauthenticated("sign in first: send 'Authorization: Bearer <access token or API key>'")
        try:
            principal = resolve_bearer(session, token, key=state.token_key, now=now)
        finally:
            # End the read now: a SQLite transaction holds the write lock, and a route may open its own session.
            session.rollback()
        if not principal.has(*self.roles):
            allowed = ", ".join(sorted({Role.ADMIN, *self.roles}))
            raise Forbidden(f"{principal.actor} may not do this (it needs one of: {allowed})")
        if principal.room_id is not None and not self.any_caller:
            room_id = request.path_params.get("room_id")
            if room_id != principal.room_id:
                raise Forbidden(f"this panel key belongs to room {principal.room_id!r}, not {room_id!r}")
        return principal


class PublicGate:
    """Marks a route anyone may call (health, sign-in, the asset report form with its own token)."""

    def __call__(self) -> None:
        return None


def allow(*roles: Role) -> Any:
    """``Depends`` on a gate for ``roles``; no roles: any signed-in caller."""
    return Depends(RoleGate(frozenset(roles)) if roles else RoleGate(frozenset(Role), any_caller=True))


PUBLIC: Any = Depends(PublicGate())
AnyCaller = Annotated[Principal, allow()]


def _gates(route: APIRoute) -> list[RoleGate | PublicGate]:
    found: list[RoleGate | PublicGate] = []
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        if isinstance(dependant.call, RoleGate | PublicGate):
            found.append(dependant.call)
        pending.extend(dependant.dependencies)
    return found


def declare_access(router: APIRouter) -> None:
    """Publish each route's roles in the OpenAPI document; a route that declares none is a bug caught at start."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        gates = _gates(route)
        if len(gates) != 1:
            where = f"{sorted(route.methods or ())} {route.path}"
            raise RuntimeError(f"{where} must declare its access once, with allow(...) or PUBLIC: it has {len(gates)}")
        roles = sorted(
            {str(role) for gate in gates if isinstance(gate, RoleGate) for role in gate.roles | {Role.ADMIN}}
        )
        who = ", ".join(roles) if roles else "anyone"
        route.openapi_extra = {**(route.openapi_extra or {}), ACCESS_EXTENSION: roles or [PUBLIC_ROLE]}
        route.description = f"{route.description}\n\n**Who may call:** {who}.".strip()
        if roles:
            route.responses.setdefault(401, {"description": "No credentials, or they are wrong, expired or revoked"})
            route.responses.setdefault(403, {"description": "The caller's roles do not allow this"})


ACTS_FOR_ANYONE = (Role.RECEPTION, Role.FACILITIES, Role.INTEGRATION)
"""Roles that act on anyone's bookings and visits; a host acts only on their own."""


def require_own(principal: Principal, email: str | None, *, what: str) -> None:
    """Refuse a host acting on someone else's ``what`` (staff, integrations and admin may act for anyone)."""
    if principal.has(*ACTS_FOR_ANYONE) or principal.owns(email):
        return
    raise Forbidden(f"{principal.actor} may only act on {what} of their own")
