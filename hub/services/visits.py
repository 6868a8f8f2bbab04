"""Visits: invitations, reads (audited), check-out, cancellation and the overstay reminder.

Arrivals at the kiosk (scan, check-in, walk-in) and reception's decisions on held visits are in
:mod:`hub.services.visit_arrivals`.
"""

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.errors import AtriumError, Conflict, Invalid, NotFound
from hub.services import blocklist, visit_tokens
from hub.services.bookings import site_zone
from hub.services.notifications import NotificationKind, notify
from hub.services.people import get_person
from hub.services.qr_tokens import Claims, InvalidToken, RefusalReason, TokenKind
from hub.services.visit_tokens import VisitKeys
from hub.settings import Settings
from hub.store import audit
from hub.store.registry import get_site
from hub.store.visit_models import TokenUse, Visit, VisitRedemption, VisitStatus

log = logging.getLogger(__name__)

LONGEST_VISIT = timedelta(days=14)
REFUSALS: Counter[str] = Counter()
"""Refused codes by reason since the process started (for the logs and health pages)."""

ALREADY_USED = "already_used"
UNKNOWN_VISIT = "unknown_visit"
CANCELLED = "cancelled"
AGREEMENT_REQUIRED = "agreement_required"

_TOKEN_STATUS = {
    RefusalReason.MALFORMED: 400,
    RefusalReason.UNKNOWN_KEY: 403,
    RefusalReason.BAD_SIGNATURE: 403,
    RefusalReason.EXPIRED: 409,
    RefusalReason.NOT_YET_VALID: 409,
    RefusalReason.WRONG_KIND: 409,
}


class VisitRefused(AtriumError):
    """A code or an arrival the hub will not honour; ``reason`` is for the kiosk, ``str()`` for the visitor."""

    def __init__(self, reason: str, message: str, *, status_code: int = 409) -> None:
        super().__init__(message)
        self.reason = reason
        self.status_code = status_code


def refuse(reason: str, message: str, *, status_code: int = 409, visit_id: object = None) -> VisitRefused:
    """Log and count a refusal, and give the error to raise."""
    REFUSALS[reason] += 1
    log.info("visitor code refused (%s) for visit %s: %s", reason, visit_id, message)
    return VisitRefused(reason, message, status_code=status_code)


@dataclass(frozen=True, slots=True)
class VisitorRules:
    """The site's visitor settings, read once."""

    keys: VisitKeys
    visitor_types: tuple[str, ...] = ("guest", "contractor", "interview", "delivery")
    token_slack: timedelta = timedelta(hours=1)
    overstay_after: timedelta = timedelta(minutes=30)
    agreement_valid_for: timedelta = timedelta(days=365)
    reception: str = "reception"

    @classmethod
    def from_settings(cls, settings: Settings, secret: bytes) -> "VisitorRules":
        return cls(
            keys=VisitKeys.from_secret(secret),
            visitor_types=tuple(settings.visitor_types),
            token_slack=timedelta(minutes=settings.visit_token_slack_min),
            overstay_after=timedelta(minutes=settings.overstay_reminder_min),
            agreement_valid_for=timedelta(days=settings.agreement_valid_days),
            reception=settings.reception_contact,
        )

    def check_type(self, visitor_type: str) -> None:
        if visitor_type not in self.visitor_types:
            raise Invalid(f"{visitor_type!r} is not a visitor type here; choose one of {', '.join(self.visitor_types)}")


def site_id(session: Session) -> str:
    return get_site(session).id


def end_of_day(moment: datetime, zone: ZoneInfo) -> datetime:
    """Midnight after ``moment`` in the site's zone."""
    local = moment.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(local, time(), tzinfo=zone)


def invite(
    session: Session,
    *,
    rules: VisitorRules,
    visitor_name: str,
    visitor_email: str,
    company: str | None,
    host_id: str,
    visitor_type: str,
    starts_at: datetime,
    ends_at: datetime,
    actor: str,
    now: datetime,
) -> Visit:
    """Invite a visitor; a block-list match holds the visit for reception (and tells reception)."""
    rules.check_type(visitor_type)
    if ends_at <= starts_at:
        raise Invalid("the visit must end after it starts")
    if ends_at <= now:
        raise Invalid("the visit is over already; give a window that is still to come")
    if ends_at - starts_at > LONGEST_VISIT:
        raise Invalid(f"a visit lasts at most {LONGEST_VISIT.days} days; invite them again for later days")
    host = get_person(session, host_id)
    visit = Visit(
        status=VisitStatus.INVITED.value,
        visitor_name=visitor_name.strip(),
        visitor_email=visitor_email.strip().lower(),
        company=(company or "").strip() or None,
        host_id=host.id,
        visitor_type=visitor_type,
        walk_in=False,
        invitation_nonce=visit_tokens.new_nonce(),
        starts_at=starts_at,
        ends_at=ends_at,
        created_at=now,
        updated_at=now,
    )
    session.add(visit)
    session.flush()
    audit.record(session, actor=actor, action="visit.invite", object_type="visit", object_id=visit.id, now=now)
    hold_if_blocked(session, visit=visit, rules=rules, now=now)
    return visit


def invitation_token(visit: Visit, rules: VisitorRules) -> str:
    """The visit's invitation code: the same code every time it is asked for (its nonce is kept)."""
    if visit.invitation_nonce is None:
        raise NotFound(f"visit {visit.id} walked in; it has no invitation")
    not_before, not_after = visit_tokens.invitation_window(visit.starts_at, visit.ends_at, rules.token_slack)
    return visit_tokens.issue(
        rules.keys,
        kind=TokenKind.INVITATION,
        visit_id=visit.id,
        not_before=not_before,
        not_after=not_after,
        nonce=visit.invitation_nonce,
    )


def hold_if_blocked(session: Session, *, visit: Visit, rules: VisitorRules, now: datetime) -> bool:
    """Hold the visit when it matches the block list (unless reception approved it); True when held."""
    if visit.approved_at is not None:
        return False
    match = blocklist.find_match(session, name=visit.visitor_name, email=visit.visitor_email, company=visit.company)
    if match is None:
        return visit.status == VisitStatus.HELD
    visit.status = VisitStatus.HELD.value
    visit.held_reason = match.reason
    visit.updated_at = now
    audit.record(
        session,
        actor="hub",
        action="visit.hold",
        object_type="visit",
        object_id=visit.id,
        now=now,
        detail={"blocklist_entry": match.entry.id, "field": match.field},
    )
    notify(
        session,
        site_id=site_id(session),
        kind=NotificationKind.VISITOR_HELD,
        to=rules.reception,
        subject=f"Visit {visit.id} is held for your approval",
        text=f"Visit {visit.id} (host {visit.host.name}) {match.reason}. Approve or deny it at reception.",
        now=now,
    )
    return True


def get_visit(session: Session, visit_id: int, *, actor: str, now: datetime) -> Visit:
    """One visit, or NotFound; the read is audited."""
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise NotFound(f"there is no visit {visit_id}")
    audit.record(session, actor=actor, action="visit.read", object_type="visit", object_id=visit.id, now=now)
    return visit


def list_visits(
    session: Session, *, status: VisitStatus | None, day: date | None, actor: str, now: datetime
) -> Sequence[Visit]:
    """Visits by start, optionally of one status and one day of the site; each visit read is audited."""
    query = sa.select(Visit).order_by(Visit.starts_at, Visit.id)
    if status is not None:
        query = query.where(Visit.status == status.value)
    if day is not None:
        zone = site_zone(session)
        start = datetime.combine(day, time(), tzinfo=zone)
        query = query.where(Visit.starts_at < start + timedelta(days=1), Visit.ends_at > start)
    visits = session.scalars(query).all()
    for visit in visits:
        audit.record(session, actor=actor, action="visit.read", object_type="visit", object_id=visit.id, now=now)
    return visits


def cancel(session: Session, *, visit_id: int, actor: str, now: datetime) -> Visit:
    """Cancel an invitation that was not used yet."""
    visit = _changeable(session, visit_id)
    if visit.status not in (VisitStatus.INVITED, VisitStatus.HELD) or visit.arrived_at is not None:
        raise Conflict(f"visit {visit.id} is {visit.status.replace('_', ' ')}; only an unused invitation is cancelled")
    visit.status = VisitStatus.CANCELLED.value
    visit.updated_at = now
    audit.record(session, actor=actor, action="visit.cancel", object_type="visit", object_id=visit.id, now=now)
    return visit


def check_out(session: Session, *, visit_id: int, actor: str, now: datetime) -> Visit:
    """Reception checks a visitor out."""
    visit = _changeable(session, visit_id)
    if visit.status != VisitStatus.CHECKED_IN:
        raise Conflict(f"visit {visit.id} is {visit.status.replace('_', ' ')}, not checked in")
    _leave(session, visit, actor=actor, now=now)
    return visit


def check_out_by_token(session: Session, *, rules: VisitorRules, token: str, actor: str, now: datetime) -> Visit:
    """The visitor scans their badge's check-out code at a kiosk; each code works once."""
    claims = verify_code(rules, token, kind=TokenKind.CHECKOUT, now=now)
    visit = visit_of(session, claims)
    if visit.checkout_nonce != claims.nonce:
        raise refuse(
            UNKNOWN_VISIT,
            "This badge was replaced by a newer one; please see reception.",
            status_code=404,
            visit_id=visit.id,
        )
    if visit.status != VisitStatus.CHECKED_IN:
        raise refuse(ALREADY_USED, "You are already checked out. Thank you for visiting!", visit_id=visit.id)
    redeem(session, claims, visit=visit, use=TokenUse.CHECK_OUT, kiosk_id=actor, now=now)
    _leave(session, visit, actor=actor, now=now)
    return visit


def _leave(session: Session, visit: Visit, *, actor: str, now: datetime) -> None:
    visit.status = VisitStatus.CHECKED_OUT.value
    visit.checked_out_at = now
    visit.updated_at = now
    audit.record(session, actor=actor, action="visit.check_out", object_type="visit", object_id=visit.id, now=now)


def _changeable(session: Session, visit_id: int) -> Visit:
    visit = session.get(Visit, visit_id, with_for_update=True)
    if visit is None:
        raise NotFound(f"there is no visit {visit_id}")
    return visit


def verify_code(rules: VisitorRules, token: str, *, kind: TokenKind | None, now: datetime) -> Claims:
    """A scanned code's claims, or a counted refusal with the reason."""
    try:
        return visit_tokens.verify(rules.keys, token, now=now, kind=kind)
    except InvalidToken as error:
        visit_id = error.claims.visit_id if error.claims else None
        raise refuse(
            error.reason.value, str(error), status_code=_TOKEN_STATUS[error.reason], visit_id=visit_id
        ) from None


def visit_of(session: Session, claims: Claims) -> Visit:
    """The visit a verified code names, or a refusal (a signed code for a deleted visit)."""
    visit = session.get(Visit, int(claims.visit_id)) if claims.visit_id.isdigit() else None
    if visit is None:
        raise refuse(UNKNOWN_VISIT, "This office has no record of this visit; please see reception.", status_code=404)
    return visit


def redeem(
    session: Session, claims: Claims, *, visit: Visit, use: TokenUse, kiosk_id: str | None, now: datetime
) -> None:
    """Use a code once: the INSERT of its nonce fails for every kiosk but the first, on SQLite and PostgreSQL."""
    try:
        with session.begin_nested():
            session.add(
                VisitRedemption(
                    nonce=claims.nonce, visit_id=visit.id, use=use.value, kiosk_id=kiosk_id, redeemed_at=now
                )
            )
    except IntegrityError:
        raise refuse(
            ALREADY_USED, "This code has already been used; please see reception.", visit_id=visit.id
        ) from None


def is_redeemed(session: Session, nonce: str) -> bool:
    return session.get(VisitRedemption, nonce) is not None


def remind_overstays(session: Session, now: datetime, *, overstay_after: timedelta) -> int:
    """Tell each host once when their checked-in visitor is past the visit's end; returns how many."""
    query = sa.select(Visit).where(
        Visit.status == VisitStatus.CHECKED_IN.value,
        Visit.overstay_notified_at.is_(None),
        Visit.ends_at < now - overstay_after,
    )
    visits = session.scalars(query.with_for_update(skip_locked=True)).unique().all()
    for visit in visits:
        zone = site_zone(session)
        notify(
            session,
            site_id=site_id(session),
            kind=NotificationKind.VISITOR_OVERSTAY,
            to=visit.host.email,
            subject=f"{visit.visitor_name} is still checked in",
            text=(
                f"{visit.visitor_name}'s visit was to end at {visit.ends_at.astimezone(zone):%H:%M}. "
                "Check them out at reception, or ask them to scan their badge at the kiosk when they leave."
            ),
            now=now,
        )
        visit.overstay_notified_at = now
        audit.record(session, actor="hub", action="visit.overstay", object_type="visit", object_id=visit.id, now=now)
    return len(visits)
