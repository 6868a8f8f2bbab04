"""Agreements visitors sign: versioned texts per visitor type, and whether a visitor must sign (again)."""

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.errors import Invalid, NotFound
from hub.store import audit
from hub.store.visit_models import Agreement, AgreementSignature, Visit


def agreement_hash(title: str, text: str) -> str:
    """SHA-256 of what the visitor reads; any change to title or text gives a new hash."""
    return hashlib.sha256(f"{title}\n\n{text}".encode()).hexdigest()


def create_agreement(
    session: Session,
    *,
    visitor_type: str,
    title: str,
    text: str,
    visitor_types: Sequence[str],
    actor: str,
    now: datetime,
) -> Agreement:
    """Add the next version of a visitor type's agreement; it is current from now on."""
    if visitor_type not in visitor_types:
        raise Invalid(f"{visitor_type!r} is not one of this site's visitor types: {', '.join(visitor_types)}")
    if not title.strip() or not text.strip():
        raise Invalid("an agreement needs a title and a text")
    latest = current_agreement(session, visitor_type)
    agreement = Agreement(
        visitor_type=visitor_type,
        version=(latest.version + 1) if latest else 1,
        title=title.strip(),
        text=text.strip(),
        hash=agreement_hash(title.strip(), text.strip()),
        created_at=now,
    )
    session.add(agreement)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="agreement.create",
        object_type="agreement",
        object_id=agreement.id,
        now=now,
        detail={"visitor_type": visitor_type, "version": agreement.version, "hash": agreement.hash},
    )
    return agreement


def current_agreement(session: Session, visitor_type: str) -> Agreement | None:
    """The newest version for a visitor type, or None when that type signs nothing."""
    query = (
        sa.select(Agreement).where(Agreement.visitor_type == visitor_type).order_by(Agreement.version.desc()).limit(1)
    )
    return session.scalars(query).first()


def get_current_agreement(session: Session, visitor_type: str) -> Agreement:
    """The current agreement, or NotFound when the type needs none."""
    agreement = current_agreement(session, visitor_type)
    if agreement is None:
        raise NotFound(f"visitors of type {visitor_type!r} have nothing to sign")
    return agreement


def list_agreements(session: Session) -> Sequence[Agreement]:
    """Every version of every agreement, by type then newest first."""
    return session.scalars(sa.select(Agreement).order_by(Agreement.visitor_type, Agreement.version.desc())).all()


def agreement_to_sign(
    session: Session, *, visitor_type: str, email: str | None, valid_for: timedelta, now: datetime
) -> Agreement | None:
    """The agreement this visitor must sign before entering, or None.

    A returning visitor (same email) need not sign again while they have a signature of the current
    text's hash younger than ``valid_for``; a visitor without an email always signs.
    """
    agreement = current_agreement(session, visitor_type)
    if agreement is None:
        return None
    if email:
        query = (
            sa.select(AgreementSignature.id)
            .join(Visit, Visit.id == AgreementSignature.visit_id)
            .where(
                Visit.visitor_email == email.lower(),
                AgreementSignature.agreement_hash == agreement.hash,
                AgreementSignature.signed_at > now - valid_for,
            )
            .limit(1)
        )
        if session.scalar(query) is not None:
            return None
    return agreement


def record_signature(
    session: Session, *, visit: Visit, agreement: Agreement, signed_name: str, actor: str, now: datetime
) -> AgreementSignature:
    """Store the visitor's acceptance of ``agreement`` for this visit."""
    signature = AgreementSignature(
        visit_id=visit.id,
        agreement_id=agreement.id,
        agreement_hash=agreement.hash,
        signed_name=signed_name.strip(),
        signed_at=now,
    )
    session.add(signature)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="visit.sign_agreement",
        object_type="visit",
        object_id=visit.id,
        now=now,
        detail={"agreement_id": agreement.id, "version": agreement.version, "hash": agreement.hash},
    )
    return signature
