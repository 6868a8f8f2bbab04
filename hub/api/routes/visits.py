"""Visitors: invitations, check-in and check-out, agreements, block list, roll call (issue 4).

The contract is docs/visitor-api.md. Reception sees every visit; a host sees and cancels only the visits
of their own visitors; a kiosk checks visitors in and out. Each read and change is audited by caller.
"""

import logging
import smtplib
from datetime import date
from email.message import EmailMessage
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import PlainTextResponse
from sqlalchemy.orm import Session

from hub.api.access import allow, require_own
from hub.api.deps import NowDep, RowId, SessionDep, StateDep
from hub.api.routes.rooms import CALENDAR_TYPE, ERRORS
from hub.api.schemas_visits import (
    AgreementCreate,
    AgreementPublic,
    BlockListCreate,
    BlockListPublic,
    CheckInPublic,
    CheckInRequest,
    InvitationCreate,
    InvitationLinks,
    InvitationPublic,
    PersonPublic,
    RollCallPublic,
    ScanPreviewPublic,
    TokenRequest,
    VisitPublic,
    WalkInCreate,
)
from hub.services import agreements, badges, blocklist, invitation_mail, people, rollcall, visit_arrivals, visits
from hub.services.bookings import site_zone
from hub.services.principals import Principal, Role
from hub.services.qr_render import render_png, render_svg
from hub.services.rollcall import RollCall
from hub.services.site_secret import site_secret
from hub.services.visits import VisitorRules
from hub.settings import Settings
from hub.store.registry import get_site
from hub.store.visit_models import Person, Visit, VisitStatus

log = logging.getLogger(__name__)

router = APIRouter(tags=["visitors"])

Reception = Annotated[Principal, allow(Role.RECEPTION)]
Desk = Annotated[Principal, allow(Role.RECEPTION, Role.KIOSK)]
"""The front desk, staffed or not: check-in and check-out."""
HostOrReception = Annotated[Principal, allow(Role.HOST, Role.RECEPTION)]
Inviter = Annotated[Principal, allow(Role.HOST, Role.RECEPTION, Role.INTEGRATION)]
EML_TYPE = "message/rfc822"


def get_settings_of(state: StateDep) -> Settings:
    return state.settings


SettingsDep = Annotated[Settings, Depends(get_settings_of)]


def get_visitor_rules(settings: SettingsDep) -> VisitorRules:
    return VisitorRules.from_settings(settings, site_secret(settings))


VisitorRulesDep = Annotated[VisitorRules, Depends(get_visitor_rules)]


def _public(session: Session, visit: Visit) -> VisitPublic:
    return VisitPublic.of(visit, badges.badge_status(session, visit.id))


def _invitation(session: Session, visit: Visit, rules: VisitorRules) -> InvitationPublic:
    base = f"/visits/{visit.id}"
    return InvitationPublic(
        **_public(session, visit).model_dump(),
        token=visits.invitation_token(visit, rules),
        links=InvitationLinks(
            qr_png=f"{base}/qr.png",
            qr_svg=f"{base}/qr.svg",
            email=f"{base}/invitation.eml",
            calendar=f"{base}/invitation.ics",
        ),
    )


@router.get(
    "/people",
    response_model=list[PersonPublic],
    summary="Hosts, matched on name or email",
    dependencies=[allow(Role.KIOSK, Role.RECEPTION, Role.HOST)],
)
def search_people(
    session: SessionDep,
    q: Annotated[str, Query(max_length=120, description="Part of a name or email")] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[PersonPublic]:
    return [PersonPublic.of(person) for person in people.search_people(session, q=q, limit=limit)]


@router.post(
    "/visits/invitations", status_code=201, response_model=InvitationPublic, responses=ERRORS, summary="Invite"
)
def invite(
    body: InvitationCreate,
    caller: Inviter,
    session: SessionDep,
    now: NowDep,
    rules: VisitorRulesDep,
    settings: SettingsDep,
) -> InvitationPublic:
    host = session.get(Person, body.host_id)
    require_own(caller, host.email if host else None, what="visitors")
    visit = visits.invite(
        session,
        rules=rules,
        visitor_name=body.visitor_name,
        visitor_email=body.visitor_email,
        company=body.company,
        host_id=body.host_id,
        visitor_type=body.visitor_type,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        actor=caller.actor,
        now=now,
    )
    session.commit()
    _send_invitation(session, visit, rules, settings, now)
    return _invitation(session, visit, rules)


def _send_invitation(session: Session, visit: Visit, rules: VisitorRules, settings: Settings, now: NowDep) -> None:
    """Mail the invitation (or write it out); a mail relay that fails does not undo the invitation."""
    message = _email(session, visit, rules, settings, now)
    try:
        invitation_mail.deliver(message, visit_id=visit.id, mail=invitation_mail.MailSettings.from_settings(settings))
    except (OSError, smtplib.SMTPException) as error:
        log.error("invitation for visit %s not mailed: %s", visit.id, error)


def _email(session: Session, visit: Visit, rules: VisitorRules, settings: Settings, now: NowDep) -> EmailMessage:
    site = get_site(session)
    return invitation_mail.invitation_email(
        visit,
        token=visits.invitation_token(visit, rules),
        site_id=site.id,
        site_name=site.name,
        zone=site_zone(session),
        sender=settings.mail_from,
        now=now,
    )


@router.get("/visits", response_model=list[VisitPublic], responses=ERRORS, summary="Visits (reads are audited)")
def list_visits(
    caller: Reception,
    session: SessionDep,
    now: NowDep,
    status: Annotated[VisitStatus | None, Query()] = None,
    day: Annotated[date | None, Query(description="A day of the site, YYYY-MM-DD")] = None,
) -> list[VisitPublic]:
    found = visits.list_visits(session, status=status, day=day, actor=caller.actor, now=now)
    session.commit()
    return [_public(session, visit) for visit in found]


@router.get("/visits/{visit_id}", response_model=VisitPublic, responses=ERRORS, summary="One visit (audited)")
def get_visit(visit_id: RowId, caller: HostOrReception, session: SessionDep, now: NowDep) -> VisitPublic:
    return _public(session, _read_visit(session, visit_id, caller, now))


def _read_visit(session: Session, visit_id: RowId, caller: Principal, now: NowDep) -> Visit:
    """The visit, read (and audited) by ``caller``: reception, or the visitor's own host."""
    visit = visits.get_visit(session, visit_id, actor=caller.actor, now=now)
    require_own(caller, visit.host.email, what="visitors")
    session.commit()
    return visit


@router.get("/visits/{visit_id}/qr.png", responses=ERRORS, response_class=Response, summary="The invitation QR")
def qr_png(
    visit_id: RowId, caller: HostOrReception, session: SessionDep, now: NowDep, rules: VisitorRulesDep
) -> Response:
    visit = _read_visit(session, visit_id, caller, now)
    return Response(render_png(visits.invitation_token(visit, rules)), media_type="image/png")


@router.get("/visits/{visit_id}/qr.svg", responses=ERRORS, response_class=Response, summary="The invitation QR")
def qr_svg(
    visit_id: RowId, caller: HostOrReception, session: SessionDep, now: NowDep, rules: VisitorRulesDep
) -> Response:
    visit = _read_visit(session, visit_id, caller, now)
    return Response(render_svg(visits.invitation_token(visit, rules)), media_type="image/svg+xml")


@router.get("/visits/{visit_id}/invitation.eml", responses=ERRORS, response_class=Response, summary="The email")
def invitation_eml(
    visit_id: RowId,
    caller: HostOrReception,
    session: SessionDep,
    now: NowDep,
    rules: VisitorRulesDep,
    settings: SettingsDep,
) -> Response:
    visit = _read_visit(session, visit_id, caller, now)
    return Response(bytes(_email(session, visit, rules, settings, now)), media_type=EML_TYPE)


@router.get("/visits/{visit_id}/invitation.ics", responses=ERRORS, response_class=Response, summary="The .ics")
def invitation_ics(visit_id: RowId, caller: HostOrReception, session: SessionDep, now: NowDep) -> Response:
    visit = _read_visit(session, visit_id, caller, now)
    site = get_site(session)
    body = invitation_mail.invitation_calendar(visit, site_id=site.id, site_name=site.name, now=now)
    return Response(body, media_type=CALENDAR_TYPE)


@router.post("/visits/scan", response_model=ScanPreviewPublic, responses=ERRORS, summary="What a code is for")
def scan(
    body: TokenRequest, _caller: Desk, session: SessionDep, now: NowDep, rules: VisitorRulesDep
) -> ScanPreviewPublic:
    return ScanPreviewPublic.of(visit_arrivals.scan(session, rules=rules, token=body.token, now=now))


@router.post("/visits/check-in", response_model=CheckInPublic, responses=ERRORS, summary="Check in with a code")
def check_in(
    body: CheckInRequest, _caller: Desk, session: SessionDep, now: NowDep, rules: VisitorRulesDep
) -> CheckInPublic:
    arrival = visit_arrivals.check_in(
        session,
        rules=rules,
        token=body.token,
        kiosk_id=body.kiosk_id,
        signature=body.signature.to_service() if body.signature else None,
        photo_jpeg=body.photo(),
        now=now,
    )
    session.commit()
    return CheckInPublic.of(arrival, badges.badge_status(session, arrival.visit.id))


@router.post("/visits/walk-ins", status_code=201, response_model=CheckInPublic, responses=ERRORS, summary="A walk-in")
def walk_in(
    body: WalkInCreate, _caller: Desk, session: SessionDep, now: NowDep, rules: VisitorRulesDep
) -> CheckInPublic:
    arrival = visit_arrivals.walk_in(
        session,
        rules=rules,
        visitor_name=body.visitor_name,
        company=body.company,
        visitor_email=body.visitor_email,
        host_id=body.host_id,
        purpose=body.purpose,
        visitor_type=body.visitor_type,
        kiosk_id=body.kiosk_id,
        signature=body.signature.to_service() if body.signature else None,
        photo_jpeg=body.photo(),
        now=now,
    )
    session.commit()
    return CheckInPublic.of(arrival, badges.badge_status(session, arrival.visit.id))


@router.post("/visits/check-out", response_model=VisitPublic, responses=ERRORS, summary="Check out with the badge")
def check_out_by_badge(
    body: TokenRequest, caller: Desk, session: SessionDep, now: NowDep, rules: VisitorRulesDep
) -> VisitPublic:
    visit = visits.check_out_by_token(session, rules=rules, token=body.token, actor=caller.actor, now=now)
    session.commit()
    return _public(session, visit)


@router.post("/visits/{visit_id}/check-out", response_model=VisitPublic, responses=ERRORS, summary="Reception")
def check_out(visit_id: RowId, caller: Reception, session: SessionDep, now: NowDep) -> VisitPublic:
    visit = visits.check_out(session, visit_id=visit_id, actor=caller.actor, now=now)
    session.commit()
    return _public(session, visit)


@router.post(
    "/visits/{visit_id}/approve", response_model=CheckInPublic, responses=ERRORS, summary="Let a held visit in"
)
def approve(
    visit_id: RowId, caller: Reception, session: SessionDep, now: NowDep, rules: VisitorRulesDep
) -> CheckInPublic:
    arrival = visit_arrivals.approve(session, rules=rules, visit_id=visit_id, actor=caller.actor, now=now)
    session.commit()
    return CheckInPublic.of(arrival, badges.badge_status(session, arrival.visit.id))


@router.post("/visits/{visit_id}/deny", response_model=VisitPublic, responses=ERRORS, summary="Refuse a held visit")
def deny(visit_id: RowId, caller: Reception, session: SessionDep, now: NowDep) -> VisitPublic:
    visit = visit_arrivals.deny(session, visit_id=visit_id, actor=caller.actor, now=now)
    session.commit()
    return _public(session, visit)


@router.post("/visits/{visit_id}/cancel", response_model=VisitPublic, responses=ERRORS, summary="Cancel an invitation")
def cancel(visit_id: RowId, caller: HostOrReception, session: SessionDep, now: NowDep) -> VisitPublic:
    _read_visit(session, visit_id, caller, now)
    visit = visits.cancel(session, visit_id=visit_id, actor=caller.actor, now=now)
    session.commit()
    return _public(session, visit)


@router.get(
    "/agreements/current",
    response_model=AgreementPublic,
    responses=ERRORS,
    summary="What a type signs",
    dependencies=[allow(Role.KIOSK, Role.RECEPTION)],
)
def current_agreement(
    session: SessionDep, visitor_type: Annotated[str, Query(max_length=32)] = "guest"
) -> AgreementPublic:
    return AgreementPublic.of(agreements.get_current_agreement(session, visitor_type))


@router.get(
    "/agreements",
    response_model=list[AgreementPublic],
    summary="Every version of every agreement",
    dependencies=[allow(Role.RECEPTION)],
)
def list_agreements(session: SessionDep) -> list[AgreementPublic]:
    return [AgreementPublic.of(agreement) for agreement in agreements.list_agreements(session)]


@router.post("/agreements", status_code=201, response_model=AgreementPublic, responses=ERRORS, summary="New version")
def create_agreement(
    body: AgreementCreate,
    caller: Annotated[Principal, allow(Role.ADMIN)],
    session: SessionDep,
    now: NowDep,
    rules: VisitorRulesDep,
) -> AgreementPublic:
    agreement = agreements.create_agreement(
        session,
        visitor_type=body.visitor_type,
        title=body.title,
        text=body.text,
        visitor_types=rules.visitor_types,
        actor=caller.actor,
        now=now,
    )
    session.commit()
    return AgreementPublic.of(agreement)


@router.get(
    "/blocklist", response_model=list[BlockListPublic], summary="The block list", dependencies=[allow(Role.RECEPTION)]
)
def list_blocklist(session: SessionDep) -> list[BlockListPublic]:
    return [BlockListPublic.of(entry) for entry in blocklist.list_entries(session)]


@router.post("/blocklist", status_code=201, response_model=BlockListPublic, responses=ERRORS, summary="Block")
def add_blocklist(body: BlockListCreate, caller: Reception, session: SessionDep, now: NowDep) -> BlockListPublic:
    entry = blocklist.add_entry(
        session,
        name=body.name,
        email=body.email,
        company=body.company,
        reason=body.reason,
        actor=caller.actor,
        now=now,
    )
    session.commit()
    return BlockListPublic.of(entry)


@router.delete("/blocklist/{entry_id}", status_code=204, responses=ERRORS, summary="Unblock")
def remove_blocklist(entry_id: RowId, caller: Reception, session: SessionDep, now: NowDep) -> Response:
    blocklist.remove_entry(session, entry_id=entry_id, actor=caller.actor, now=now)
    session.commit()
    return Response(status_code=204)


RollCaller = Annotated[Principal, allow(Role.RECEPTION, Role.FACILITIES, Role.KIOSK)]
"""Who calls the roll in an evacuation: reception, the facilities wardens, and kiosks (which keep a copy)."""


def _roll_call(session: Session, now: NowDep, settings: Settings, caller: Principal) -> RollCall:
    call = rollcall.roll_call(session, now=now, stale_after=rollcall.stale_after(settings), actor=caller.actor)
    session.commit()
    return call


@router.get("/rollcall", response_model=RollCallPublic, summary="Everyone on site now")
def get_rollcall(caller: RollCaller, session: SessionDep, now: NowDep, settings: SettingsDep) -> RollCallPublic:
    return RollCallPublic.of(_roll_call(session, now, settings, caller))


@router.get("/rollcall.txt", response_class=PlainTextResponse, summary="The roll call, printable")
def get_rollcall_text(caller: RollCaller, session: SessionDep, now: NowDep, settings: SettingsDep) -> str:
    return rollcall.as_text(_roll_call(session, now, settings, caller))
