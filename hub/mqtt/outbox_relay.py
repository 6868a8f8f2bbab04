"""Publishes the outbox: committed rows, in order, each marked sent once the broker acknowledged it."""

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from hub.mqtt.connection import HubConnection
from hub.store.outbox import count_attempt, mark_published, pending

log = logging.getLogger(__name__)


class OutboxRelay:
    """One thread that drains the outbox whenever woken (after a commit) or every ``poll_s``."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        connection: HubConnection,
        batch_size: int = 200,
        ack_timeout_s: float = 10.0,
        poll_s: float = 1.0,
        leading: Callable[[], bool] = lambda: True,
    ) -> None:
        self.sessions = sessions
        self.connection = connection
        self.batch_size = batch_size
        self.ack_timeout_s = ack_timeout_s
        self.poll_s = poll_s
        self.leading = leading
        """With several hub workers only the leader publishes, so each topic's messages keep their order."""
        self.published = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """Something was committed to the outbox: publish it now."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_s)
            self._wake.clear()
            try:
                while self._relay_batch() and not self._stop.is_set():
                    pass
            except SQLAlchemyError as error:
                log.error("cannot read the outbox (%s); trying again", str(error).splitlines()[0])

    def _relay_batch(self) -> bool:
        """Publish one batch; True when a full batch went out and more may wait."""
        if not self.connection.connected or not self.leading():
            return False
        with self.sessions() as session:
            rows = pending(session, limit=self.batch_size)
            session.expunge_all()
        if not rows:
            return False
        sent = [
            (row.id, self.connection.publish(row.topic, row.payload, qos=row.qos, retain=row.retain)) for row in rows
        ]
        acknowledged: list[int] = []
        for row_id, info in sent:
            try:
                info.wait_for_publish(self.ack_timeout_s)
            except (RuntimeError, ValueError):
                break
            if not info.is_published():
                break
            acknowledged.append(row_id)
        unacknowledged = [row_id for row_id, _ in sent[len(acknowledged) :]]
        with self.sessions.begin() as session:
            mark_published(session, acknowledged, now=datetime.now(UTC))
            count_attempt(session, unacknowledged)
        self.published += len(acknowledged)
        return len(rows) == self.batch_size and not unacknowledged
