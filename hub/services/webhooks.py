"""Webhook deliveries: written in the transaction of the change they announce, POSTed later by the relay.

The site's URLs ride on the session factory (``attach_webhooks``), so ``notifications.notify`` can add
one delivery per URL without every caller passing settings; a session with no URLs adds nothing.
"""

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from hub.store.webhook_models import WebhookDelivery

URLS_KEY = "atrium_webhook_urls"
_WAKE_FLAG = "atrium_webhook_written"
MAX_ERROR = 300


def attach_webhooks(sessions: sessionmaker[Session], urls: Sequence[str]) -> None:
    """Sessions made by ``sessions`` from now on deliver notifications to ``urls``."""
    info = dict(sessions.kw.get("info") or {})
    info[URLS_KEY] = tuple(urls)
    sessions.configure(info=info)


def enqueue_deliveries(session: Session, *, payload: bytes, now: datetime) -> int:
    """One delivery of ``payload`` per configured URL, committed with the caller; returns how many."""
    urls: tuple[str, ...] = session.info.get(URLS_KEY, ())
    for url in urls:
        session.add(WebhookDelivery(url=url, payload=payload, created_at=now, attempts=0, next_attempt_at=now))
    if urls:
        session.info[_WAKE_FLAG] = True
    return len(urls)


def due(session: Session, *, now: datetime, limit: int = 50) -> Sequence[WebhookDelivery]:
    """Deliveries to try now, oldest first."""
    query = (
        sa.select(WebhookDelivery)
        .where(
            WebhookDelivery.delivered_at.is_(None),
            WebhookDelivery.failed_at.is_(None),
            WebhookDelivery.next_attempt_at <= now,
        )
        .order_by(WebhookDelivery.id)
        .limit(limit)
    )
    return session.scalars(query).all()


def mark_delivered(session: Session, delivery_id: int, *, now: datetime) -> None:
    session.execute(
        sa.update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(delivered_at=now, attempts=WebhookDelivery.attempts + 1, last_error=None)
    )


def mark_attempt_failed(
    session: Session, delivery: WebhookDelivery, *, error: str, now: datetime, backoff: timedelta, give_up_after: int
) -> None:
    """Count a failed attempt: try again after ``backoff`` doubled per attempt, or give up."""
    attempts = delivery.attempts + 1
    values: dict[str, object] = {"attempts": attempts, "last_error": error[:MAX_ERROR]}
    if attempts >= give_up_after:
        values["failed_at"] = now
    else:
        values["next_attempt_at"] = now + backoff * 2 ** (attempts - 1)
    session.execute(sa.update(WebhookDelivery).where(WebhookDelivery.id == delivery.id).values(**values))


def wake_after_commit(sessions: sessionmaker[Session], wake: Callable[[], None]) -> None:
    """Call ``wake`` after a commit that added deliveries, so the relay need not poll for them."""

    @event.listens_for(sessions, "after_commit")
    def _written(session: Session) -> None:
        if session.info.pop(_WAKE_FLAG, False):
            wake()

    @event.listens_for(sessions, "after_rollback")
    def _rolled_back(session: Session) -> None:
        session.info.pop(_WAKE_FLAG, None)
