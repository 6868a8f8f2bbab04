"""Shared pieces of the visitor tests: a site with people, fixed keys, and an invitation with sensible defaults."""

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.runtime import Database
from hub.services import visits
from hub.services.people import load_people, sync_people
from hub.services.visit_tokens import VisitKeys
from hub.services.visits import VisitorRules
from hub.settings import SAMPLE_PEOPLE
from hub.store.outbox import OutboxMessage
from hub.store.visit_models import Visit
from tests.hub.booking_helpers import local

SECRET = bytes(range(32))
RULES = VisitorRules(keys=VisitKeys.from_secret(SECRET))
NOW = local(2026, 10, 19, 8)
"""Monday 08:00 in London; invitations default to 09:00-12:00 that day."""
START, END = local(2026, 10, 19, 9), local(2026, 10, 19, 12)
AT_NINE = START


def with_people(database: Database) -> Database:
    """The sample people directory synced into the database."""
    with database.sessions.begin() as session:
        sync_people(session, load_people(SAMPLE_PEOPLE))
    return database


def invite(
    session: Session,
    *,
    name: str = "Lee Visitor",
    email: str = "lee@example.org",
    company: str | None = "Acme",
    host_id: str = "ann",
    visitor_type: str = "guest",
    start: datetime = START,
    end: datetime = END,
    now: datetime = NOW,
    rules: VisitorRules = RULES,
) -> Visit:
    return visits.invite(
        session,
        rules=rules,
        visitor_name=name,
        visitor_email=email,
        company=company,
        host_id=host_id,
        visitor_type=visitor_type,
        starts_at=start,
        ends_at=end,
        actor="host",
        now=now,
    )


def notifications(session: Session, kind: str) -> list[bytes]:
    """Notification payloads of one kind in the outbox."""
    rows = session.scalars(sa.select(OutboxMessage.payload).where(OutboxMessage.topic.like("%/notifications")))
    return [payload for payload in rows if f'"kind":"{kind}"'.encode() in payload]


def later(moment: datetime, **delta: float) -> datetime:
    return moment + timedelta(**delta)
