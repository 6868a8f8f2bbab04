"""Publishes the outbox: committed rows, in order, each marked sent once the broker acknowledged it."""

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from hub.mqtt.connection import HubConnection
from hub.relay_thread import RelayThread
from hub.store.outbox import count_attempt, mark_published, pending


class OutboxRelay(RelayThread):
    """Drains the outbox whenever woken (after a commit) or every ``poll_s``."""

    name = "outbox-relay"

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
        super().__init__(poll_s=poll_s)
        self.sessions = sessions
        self.connection = connection
        self.batch_size = batch_size
        self.ack_timeout_s = ack_timeout_s
        self.leading = leading
        """With several hub workers only the leader publishes, so each topic's messages keep their order."""
        self.published = 0

    def relay_round(self) -> None:
        while self._relay_batch() and not self.stopping:
            pass

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
