"""Retention of visitor data: personal fields and photos are purged after their periods; the visit row stays.

What remains of a purged visit (its times, type, host and status) still counts in reports, and
its audit entries stay: the audit log holds no personal data.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.services import badges
from hub.settings import Settings
from hub.store import audit
from hub.store.visit_models import AgreementSignature, Visit, VisitPhoto

PURGED_NAME = "(purged)"
BATCH = 500


@dataclass(frozen=True, slots=True)
class Retention:
    """How long visitor data is kept."""

    personal: timedelta = timedelta(days=30)
    photos: timedelta = timedelta(days=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> "Retention":
        return cls(
            personal=timedelta(days=settings.visitor_retention_days),
            photos=timedelta(days=settings.visitor_photo_retention_days),
        )


def purge_visitor_data(session: Session, now: datetime, *, retention: Retention) -> int:
    """Delete old photos and blank the personal fields of visits finished before the period; returns visits purged."""
    photos = (
        session.execute(
            sa.delete(VisitPhoto).where(VisitPhoto.taken_at < now - retention.photos).returning(VisitPhoto.visit_id)
        )
        .scalars()
        .all()
    )
    for visit_id in photos:
        audit.record(session, actor="hub", action="visit.purge_photo", object_type="visit", object_id=visit_id, now=now)
    finished = sa.func.coalesce(Visit.checked_out_at, Visit.ends_at)
    visit_ids = list(
        session.scalars(
            sa.select(Visit.id)
            .where(Visit.purged_at.is_(None), finished < now - retention.personal, Visit.ends_at < now)
            .order_by(Visit.id)
            .limit(BATCH)
        )
    )
    if not visit_ids:
        return 0
    session.execute(sa.delete(VisitPhoto).where(VisitPhoto.visit_id.in_(visit_ids)))
    session.execute(
        sa.update(Visit)
        .where(Visit.id.in_(visit_ids))
        .values(
            visitor_name=PURGED_NAME,
            visitor_email=None,
            company=None,
            purpose=None,
            held_reason=None,
            purged_at=now,
            updated_at=now,
        )
    )
    session.execute(
        sa.update(AgreementSignature).where(AgreementSignature.visit_id.in_(visit_ids)).values(signed_name=PURGED_NAME)
    )
    badges.purge_badge_personal_data(session, visit_ids)
    for visit_id in visit_ids:
        audit.record(session, actor="hub", action="visit.purge", object_type="visit", object_id=visit_id, now=now)
    return len(visit_ids)
