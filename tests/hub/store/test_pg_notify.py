"""A commit that enqueues outbox messages wakes a listener in another process's connection (PostgreSQL)."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from hub.runtime import Database
from hub.store.outbox import OUTBOX_CHANNEL, enqueue, wake_after_commit
from hub.store.pg_notify import NotifyListener
from tests.databases import ScratchDatabase

pytestmark = pytest.mark.parametrize("database", ["postgres"], indirect=True)


@pytest.fixture
def opened(database: ScratchDatabase) -> Iterator[Database]:
    db = Database.open(database.url)
    wake_after_commit(db.sessions, lambda: None)
    yield db
    db.close()


def test_only_a_committed_enqueue_wakes_the_listener(opened: Database) -> None:
    woken = threading.Event()
    listener = NotifyListener(opened.engine.url, OUTBOX_CHANNEL, woken.set)
    listener.start()
    try:
        assert listener.wait_listening(10)
        with opened.sessions() as session:
            enqueue(session, topic="atrium/v1/hq/x/command", payload=b"{}", now=datetime.now(UTC))
            session.rollback()
        with opened.sessions.begin() as session:
            session.execute(sa.select(1))  # a commit that enqueues nothing
        assert not woken.wait(1.0), "a rolled-back or empty commit notified the listener"
        with opened.sessions.begin() as session:
            enqueue(session, topic="atrium/v1/hq/x/command", payload=b"{}", now=datetime.now(UTC))
        assert woken.wait(10), "the committed enqueue did not wake the listener"
    finally:
        listener.stop()
