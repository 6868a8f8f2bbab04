"""Notifications for people, sent through the outbox on the hub's notification topic."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from devices.base import AtriumModel
from devices.codec import encode
from devices.topics import hub_notifications_topic
from hub.services.webhooks import enqueue_deliveries
from hub.store.outbox import enqueue


class NotificationKind(StrEnum):
    BOOKING_RELEASED = "booking_released"
    SERIES_CANCELLED = "series_cancelled"
    PROBLEM_REPORTED = "problem_reported"
    TICKET_OPENED = "ticket_opened"
    TICKET_ESCALATED = "ticket_escalated"
    TICKET_RESOLVED = "ticket_resolved"
    BADGE_PRINTER_FAILED = "badge_printer_failed"
    BADGE_NOT_PRINTED = "badge_not_printed"
    SAFETY_INCIDENT = "safety_incident"
    """Critical: smoke, carbon monoxide or a leak; the room is out of order."""
    VISITOR_ARRIVED = "visitor_arrived"
    VISITOR_HELD = "visitor_held"
    """A visitor matched the block list: reception approves or denies."""
    VISITOR_OVERSTAY = "visitor_overstay"


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
    """Send a notification (MQTT, and the site's webhooks) once the caller's transaction commits."""
    note = Notification(id=uuid.uuid4().hex, kind=kind, to=to, subject=subject, text=text, room_id=room_id, ts=now)
    enqueue(session, topic=hub_notifications_topic(site_id), payload=encode(note), now=now)
    enqueue_deliveries(session, payload=encode(note), now=now)
    return note
