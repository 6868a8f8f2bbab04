"""Visitor badges: where a visit's badge is printing (the kiosk polls it), and the badge as PNG or ZPL (issue 4)."""

from typing import Annotated

from fastapi import APIRouter, Path, Response

from hub.api.access import allow
from hub.api.deps import NowDep, SessionDep
from hub.api.schemas import ErrorBody
from hub.errors import NotFound
from hub.services import badges
from hub.services.badges import BadgeStatus
from hub.services.principals import Principal, Role

router = APIRouter(prefix="/visits", tags=["badges"])

Desk = Annotated[Principal, allow(Role.RECEPTION, Role.KIOSK)]
ERRORS: dict[int | str, dict[str, object]] = {404: {"model": ErrorBody}}
VisitId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The visit's id")]


@router.get(
    "/{visit_id}/badge",
    response_model=BadgeStatus,
    responses=ERRORS,
    summary="Where the visit's badge is printing, and what to tell the visitor",
)
def get_badge(_caller: Desk, session: SessionDep, visit_id: VisitId) -> BadgeStatus:
    status = badges.badge_status(session, visit_id)
    if status is None:
        raise NotFound(f"visit {visit_id} has no badge")
    return status


@router.get(
    "/{visit_id}/badge.png",
    response_class=Response,
    responses={**ERRORS, 200: {"content": {"image/png": {}}}},
    summary="The visit's badge as a PNG image",
)
def get_badge_png(caller: Desk, session: SessionDep, now: NowDep, visit_id: VisitId) -> Response:
    png = badges.badge_png(session, visit_id, actor=caller.actor, now=now)
    session.commit()
    return Response(content=png, media_type="image/png")


@router.get(
    "/{visit_id}/badge.zpl",
    response_class=Response,
    responses={**ERRORS, 200: {"content": {"application/zpl": {}}}},
    summary="The visit's badge as the ZPL label sent to the printer",
)
def get_badge_zpl(caller: Desk, session: SessionDep, now: NowDep, visit_id: VisitId) -> Response:
    zpl = badges.badge_zpl(session, visit_id, actor=caller.actor, now=now)
    session.commit()
    return Response(content=zpl, media_type="application/zpl; charset=utf-8")
