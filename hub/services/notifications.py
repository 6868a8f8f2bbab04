"""Notifications for people, sent through the outbox on the hub's notification topic."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from devices.base import AtriumModel
from devices.codec import encode
from devices.topics import hub_notifications_topic
from hub.store.outbox import enqueue


class NotificationKind(StrEnum):
    BOOKING_RELEASED = "booking_released"
    SERIES_CANCELLED = "series_cancelled"
    PROBLEM_REPORTED = "problem_reported"


class Notification(AtriumModel):
    """One message for a person or a team; a mail or chat bridge delivers it."""

    id: str
    kind: NotificationKind
    to: str
    subject: str
    text: str
    room_id: str | None = None
    ts: datetime


def notify(
    session: Session,
    *,
    site_id: str,
    kind: NotificationKind,
    to: str,
    subject: str,
    text: str,
    room_id: str | None = None,
    now: datetime,
) -> Notification:
    """Send a notification once the caller's transaction commits."""
    note = Notification(id=uuid.uuid4().hex, kind=kind, to=to, subject=subject, text=text, room_id=room_id, ts=now)
    enqueue(session, topic=hub_notifications_topic(site_id), payload=encode(note), now=now)
    return note
