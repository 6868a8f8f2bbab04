"""Webhooks: a notification reaches a real HTTP server, and is retried until a server that was down takes it."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from hub.runtime import Database
from hub.services.notifications import NotificationKind, notify
from hub.store.webhook_models import WebhookDelivery
from hub.webhook_relay import WebhookRelay, start_webhooks
from tests.helpers import wait_for
from tests.hub.webhook_receiver import Receiver, free_port


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver(free_port())
    yield running
    running.stop()


def _notify(database: Database, text: str) -> None:
    with database.sessions.begin() as session:
        notify(
            session,
            site_id="hq",
            kind=NotificationKind.VISITOR_ARRIVED,
            to="ann@example.com",
            subject="Lee Visitor has arrived",
            text=text,
            now=datetime.now(UTC),
        )


def _deliveries(database: Database) -> list[WebhookDelivery]:
    with database.sessions() as session:
        return list(session.scalars(sa.select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_a_notification_is_posted_to_each_webhook(site_database: Database, receiver: Receiver) -> None:
    receiver.start()
    relay = start_webhooks(site_database.sessions, [receiver.url])
    try:
        _notify(site_database, "at reception")
        wait_for(lambda: receiver.bodies, timeout=10, what="the webhook POST")
    finally:
        relay.stop()
    body = receiver.bodies[0]
    assert (body["kind"], body["to"], body["text"]) == ("visitor_arrived", "ann@example.com", "at reception")
    delivered = _deliveries(site_database)
    assert len(delivered) == 1 and delivered[0].delivered_at is not None and delivered[0].attempts == 1


def test_a_webhook_that_was_down_gets_the_notification_later(site_database: Database, receiver: Receiver) -> None:
    relay = start_webhooks(site_database.sessions, [receiver.url])
    relay.stop()
    relay = WebhookRelay(sessions=site_database.sessions, backoff=timedelta(milliseconds=200), poll_s=0.1)
    relay.start()
    try:
        _notify(site_database, "retried")
        wait_for(lambda: relay.failed_attempts >= 2, timeout=10, what="failed attempts while the receiver is down")
        pending = _deliveries(site_database)[0]
        assert pending.delivered_at is None and "Connect" in (pending.last_error or "")
        receiver.start()
        wait_for(lambda: receiver.bodies, timeout=15, what="the retried POST")
    finally:
        relay.stop()
    assert [body["text"] for body in receiver.bodies] == ["retried"]
    delivered = _deliveries(site_database)[0]
    assert delivered.delivered_at is not None and delivered.attempts >= 3


def test_without_webhooks_nothing_is_queued(site_database: Database) -> None:
    _notify(site_database, "nobody listens")
    assert _deliveries(site_database) == []
