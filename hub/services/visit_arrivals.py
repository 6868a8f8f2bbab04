"""Arrivals at the kiosk: scan preview, check-in with an invitation, walk-in; reception's approval of held visits.

Admitting a visitor means: status checked in, a single-use check-out code for the badge, a badge print
job, the host told (MQTT and webhooks). A block-list match instead holds the visit and tells reception.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from hub.errors import Conflict, Invalid, NotFound
from hub.services import agreements, badges, visit_tokens
from hub.services.bookings import site_zone
from hub.services.notifications import NotificationKind, notify
from hub.services.people import get_person
from hub.services.qr_tokens import TokenKind
from hub.services.visits import (
    AGREEMENT_REQUIRED,
    ALREADY_USED,
    CANCELLED,
    UNKNOWN_VISIT,
    VisitorRules,
    end_of_day,
    hold_if_blocked,
    is_redeemed,
    redeem,
    refuse,
    site_id,
    verify_code,
    visit_of,
)
from hub.store import audit
from hub.store.visit_models import Agreement, TokenUse, Visit, VisitPhoto, VisitStatus

CHECKOUT_EARLY = timedelta(minutes=5)
"""A check-out code works from a little before it was issued (kiosk clocks differ slightly)."""
HELD_MESSAGE = "Thank you. Please take a seat: reception will be with you in a moment."


@dataclass(frozen=True, slots=True)
class Signature:
    """What the visitor did on the agreement screen: the version they read and the name they typed."""

    agreement_hash: str
    signed_name: str


@dataclass(frozen=True, slots=True)
class ScanPreview:
    """Whose code was scanned, without using it up."""

    kind: TokenKind
    visit: Visit
    agreement: Agreement | None
    """The agreement to sign before entering, if any."""


@dataclass(frozen=True, slots=True)
class Arrival:
    """The outcome of a check-in or walk-in: admitted, or held for reception."""

    visit: Visit
    admitted: bool
    message: str


def scan(session: Session, *, rules: VisitorRules, token: str, now: datetime) -> ScanPreview:
    """What a scanned code is for, refusing it as check-in or check-out would (nothing is redeemed)."""
    claims = verify_code(rules, token, kind=None, now=now)
    visit = visit_of(session, claims)
    if claims.kind is TokenKind.CHECKOUT:
        if visit.checkout_nonce != claims.nonce:
            raise refuse(
                UNKNOWN_VISIT, "This badge was replaced by a newer one; please see reception.", status_code=404
            )
        if visit.status != VisitStatus.CHECKED_IN or is_redeemed(session, claims.nonce):
            raise refuse(ALREADY_USED, "You are already checked out. Thank you for visiting!", visit_id=visit.id)
        return ScanPreview(kind=claims.kind, visit=visit, agreement=None)
    _check_invitation(session, visit, claims.nonce)
    agreement = agreements.agreement_to_sign(
        session,
        visitor_type=visit.visitor_type,
        email=visit.visitor_email,
        valid_for=rules.agreement_valid_for,
        now=now,
    )
    return ScanPreview(kind=claims.kind, visit=visit, agreement=agreement)


def check_in(
    session: Session,
    *,
    rules: VisitorRules,
    token: str,
    kiosk_id: str,
    signature: Signature | None,
    photo_jpeg: bytes | None,
    now: datetime,
) -> Arrival:
    """Redeem an invitation at a kiosk: exactly once, whichever kiosks scan it at the same moment."""
    claims = verify_code(rules, token, kind=TokenKind.INVITATION, now=now)
    visit = visit_of(session, claims)
    _check_invitation(session, visit, claims.nonce)
    agreement = _agreement_signed(session, rules, visit=visit, email=visit.visitor_email, signature=signature, now=now)
    redeem(session, claims, visit=visit, use=TokenUse.CHECK_IN, kiosk_id=kiosk_id, now=now)
    return _arrive(
        session,
        rules,
        visit=visit,
        kiosk_id=kiosk_id,
        agreement=agreement,
        signature=signature,
        photo=photo_jpeg,
        now=now,
    )


def walk_in(
    session: Session,
    *,
    rules: VisitorRules,
    visitor_name: str,
    company: str | None,
    visitor_email: str | None,
    host_id: str,
    purpose: str,
    visitor_type: str,
    kiosk_id: str,
    signature: Signature | None,
    photo_jpeg: bytes | None,
    now: datetime,
) -> Arrival:
    """A visitor without an invitation: the visit is made now, for the rest of the site's day."""
    rules.check_type(visitor_type)
    host = get_person(session, host_id)
    email = visitor_email.strip().lower() if visitor_email and visitor_email.strip() else None
    agreement = _agreement_signed(
        session, rules, visit=None, email=email, signature=signature, now=now, type_=visitor_type
    )
    visit = Visit(
        status=VisitStatus.INVITED.value,
        visitor_name=visitor_name.strip(),
        visitor_email=email,
        company=(company or "").strip() or None,
        host_id=host.id,
        visitor_type=visitor_type,
        purpose=purpose.strip() or None,
        walk_in=True,
        starts_at=now,
        ends_at=max(end_of_day(now, site_zone(session)), now + timedelta(hours=1)),
        created_at=now,
        updated_at=now,
    )
    session.add(visit)
    session.flush()
    audit.record(session, actor=kiosk_id, action="visit.walk_in", object_type="visit", object_id=visit.id, now=now)
    return _arrive(
        session,
        rules,
        visit=visit,
        kiosk_id=kiosk_id,
        agreement=agreement,
        signature=signature,
        photo=photo_jpeg,
        now=now,
    )


def approve(session: Session, *, rules: VisitorRules, visit_id: int, actor: str, now: datetime) -> Arrival:
    """Reception lets a held visit go ahead: admitted now if the visitor is here, else invited as before."""
    visit = _held(session, visit_id)
    visit.approved_at = now
    visit.held_reason = None
    visit.updated_at = now
    audit.record(session, actor=actor, action="visit.approve", object_type="visit", object_id=visit.id, now=now)
    if visit.arrived_at is None:
        visit.status = VisitStatus.INVITED.value
        return Arrival(visit=visit, admitted=False, message="Approved: the visitor can check in when they arrive.")
    return _admit(session, rules, visit=visit, kiosk_id=visit.kiosk_id, actor=actor, now=now)


def deny(session: Session, *, visit_id: int, actor: str, now: datetime) -> Visit:
    """Reception refuses a held visit."""
    visit = _held(session, visit_id)
    visit.status = VisitStatus.DENIED.value
    visit.updated_at = now
    audit.record(session, actor=actor, action="visit.deny", object_type="visit", object_id=visit.id, now=now)
    return visit


def _held(session: Session, visit_id: int) -> Visit:
    visit = session.get(Visit, visit_id, with_for_update=True)
    if visit is None:
        raise NotFound(f"there is no visit {visit_id}")
    if visit.status != VisitStatus.HELD:
        raise Conflict(f"visit {visit.id} is {visit.status.replace('_', ' ')}, not held")
    return visit


def checkout_token(visit: Visit, rules: VisitorRules, zone: ZoneInfo) -> str:
    """The badge's check-out code: from check-in to the end of the visit's last day (plus slack); the same each time."""
    if visit.checked_in_at is None or visit.checkout_nonce is None:
        raise Conflict(f"visit {visit.id} is not checked in; it has no check-out code")
    return visit_tokens.issue(
        rules.keys,
        kind=TokenKind.CHECKOUT,
        visit_id=visit.id,
        not_before=visit.checked_in_at - CHECKOUT_EARLY,
        not_after=end_of_day(max(visit.ends_at, visit.checked_in_at), zone) + rules.token_slack,
        nonce=visit.checkout_nonce,
    )


def _check_invitation(session: Session, visit: Visit, nonce: str) -> None:
    """Refuse an invitation that was replaced, cancelled or already used."""
    if visit.invitation_nonce != nonce:
        raise refuse(
            UNKNOWN_VISIT, "This invitation was replaced by a newer one; please see reception.", status_code=404
        )
    if visit.status in (VisitStatus.CANCELLED, VisitStatus.DENIED):
        raise refuse(CANCELLED, "This visit was cancelled; please see reception.", visit_id=visit.id)
    if visit.arrived_at is not None or visit.status in (VisitStatus.CHECKED_IN, VisitStatus.CHECKED_OUT):
        raise refuse(ALREADY_USED, "This invitation has already been used; please see reception.", visit_id=visit.id)
    if is_redeemed(session, nonce):
        raise refuse(ALREADY_USED, "This invitation has already been used; please see reception.", visit_id=visit.id)


def _agreement_signed(
    session: Session,
    rules: VisitorRules,
    *,
    visit: Visit | None,
    email: str | None,
    signature: Signature | None,
    now: datetime,
    type_: str | None = None,
) -> Agreement | None:
    """The agreement the visitor signs now (None when they need not); refuses an arrival without it."""
    visitor_type = visit.visitor_type if visit is not None else type_
    assert visitor_type is not None
    agreement = agreements.agreement_to_sign(
        session, visitor_type=visitor_type, email=email, valid_for=rules.agreement_valid_for, now=now
    )
    if agreement is None:
        return None
    visit_id = visit.id if visit is not None else None
    if signature is None:
        raise refuse(AGREEMENT_REQUIRED, f"Please read and sign the {agreement.title} first.", visit_id=visit_id)
    if signature.agreement_hash != agreement.hash:
        raise refuse(
            AGREEMENT_REQUIRED, f"The {agreement.title} has changed; please read it again and sign.", visit_id=visit_id
        )
    if not signature.signed_name.strip():
        raise Invalid("type your name to sign the agreement")
    return agreement


def _arrive(
    session: Session,
    rules: VisitorRules,
    *,
    visit: Visit,
    kiosk_id: str,
    agreement: Agreement | None,
    signature: Signature | None,
    photo: bytes | None,
    now: datetime,
) -> Arrival:
    visit.arrived_at = now
    visit.kiosk_id = kiosk_id
    visit.updated_at = now
    if agreement is not None and signature is not None:
        agreements.record_signature(
            session, visit=visit, agreement=agreement, signed_name=signature.signed_name, actor=kiosk_id, now=now
        )
    if photo is not None:
        session.add(VisitPhoto(visit_id=visit.id, jpeg=photo, taken_at=now))
        audit.record(session, actor=kiosk_id, action="visit.photo", object_type="visit", object_id=visit.id, now=now)
    if hold_if_blocked(session, visit=visit, rules=rules, now=now):
        notify(
            session,
            site_id=site_id(session),
            kind=NotificationKind.VISITOR_HELD,
            to=rules.reception,
            subject=f"Held visitor at {kiosk_id}",
            text=f"The visitor of held visit {visit.id} (host {visit.host.name}) is at {kiosk_id}.",
            now=now,
        )
        return Arrival(visit=visit, admitted=False, message=HELD_MESSAGE)
    return _admit(session, rules, visit=visit, kiosk_id=kiosk_id, actor=kiosk_id, now=now)


def _admit(
    session: Session, rules: VisitorRules, *, visit: Visit, kiosk_id: str | None, actor: str, now: datetime
) -> Arrival:
    """Check the visitor in: check-out code, badge, host told."""
    zone = site_zone(session)
    visit.status = VisitStatus.CHECKED_IN.value
    visit.checked_in_at = now
    visit.checkout_nonce = visit_tokens.new_nonce()
    visit.updated_at = now
    site = site_id(session)
    badges.request_badge(
        session,
        site_id=site,
        facts=badges.BadgeFacts(
            visit_id=visit.id,
            visitor_name=visit.visitor_name,
            company=visit.company,
            host_name=visit.host.name,
            visitor_type=visit.visitor_type,
            day=now.astimezone(zone).date(),
            checkout_token=checkout_token(visit, rules, zone),
        ),
        kiosk_id=kiosk_id,
        now=now,
    )
    company = f" ({visit.company})" if visit.company else ""
    notify(
        session,
        site_id=site,
        kind=NotificationKind.VISITOR_ARRIVED,
        to=visit.host.email,
        subject=f"{visit.visitor_name} has arrived",
        text=f"{visit.visitor_name}{company} checked in at {now.astimezone(zone):%H:%M} and is waiting at reception.",
        now=now,
    )
    audit.record(session, actor=actor, action="visit.check_in", object_type="visit", object_id=visit.id, now=now)
    return Arrival(
        visit=visit, admitted=True, message=f"Welcome, {visit.visitor_name}. {visit.host.name} knows you are here."
    )
