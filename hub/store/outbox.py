"""The transactional outbox: what the hub publishes is written in the same transaction as the change.

A service that changes something a device must hear about (a door display's state, a print job, a
notification) enqueues the message here, inside its own transaction. The relay (hub.mqtt.outbox_relay)
publishes committed rows in order and marks them sent once the broker acknowledged them, so a hub
that crashes between commit and publish still publishes after it restarts, and a rolled-back change
publishes nothing.
"""

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from hub.store.models import Base, BigId
from hub.store.pg_notify import NotifyListener

_WAKE_FLAG = "atrium_outbox_written"
OUTBOX_CHANNEL = "atrium_outbox"
"""The PostgreSQL channel a commit that enqueued something notifies (see hub.store.pg_notify)."""


class OutboxMessage(Base):
    """One message for the broker, kept until it was published (and a while after, for inspection)."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_pending", "published_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(sa.String(255))
    payload: Mapped[bytes] = mapped_column(sa.LargeBinary)
    qos: Mapped[int] = mapped_column(sa.SmallInteger)
    retain: Mapped[bool]
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)


def enqueue(session: Session, *, topic: str, payload: bytes, now: datetime, retain: bool = False, qos: int = 1) -> None:
    """Add a message to publish once the caller's transaction commits."""
    session.add(OutboxMessage(topic=topic, payload=payload, qos=qos, retain=retain, created_at=now, attempts=0))
    session.info[_WAKE_FLAG] = True


def pending(session: Session, *, limit: int = 200) -> Sequence[OutboxMessage]:
    """Committed messages not yet published, oldest first."""
    query = sa.select(OutboxMessage).where(OutboxMessage.published_at.is_(None)).order_by(OutboxMessage.id)
    return session.scalars(query.limit(limit)).all()


def mark_published(session: Session, ids: Sequence[int], *, now: datetime) -> None:
    """Record that the broker acknowledged these messages."""
    if ids:
        session.execute(sa.update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(published_at=now))


def count_attempt(session: Session, ids: Sequence[int]) -> None:
    """Record a publish attempt the broker did not acknowledge in time."""
    if ids:
        session.execute(
            sa.update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(attempts=OutboxMessage.attempts + 1)
        )


def purge_published(session: Session, *, older_than: timedelta, now: datetime) -> int:
    """Forget messages published longer ago than ``older_than``; returns how many went."""
    gone = session.execute(
        sa.delete(OutboxMessage)
        .where(OutboxMessage.published_at.is_not(None), OutboxMessage.published_at < now - older_than)
        .returning(OutboxMessage.id)
    )
    return len(gone.all())


def wake_after_commit(sessions: sessionmaker[Session], wake: Callable[[], None]) -> None:
    """Call ``wake`` after any commit of these sessions that enqueued something, so the relay need not poll.

    On PostgreSQL such a commit also notifies ``OUTBOX_CHANNEL``, which wakes the leader's relay when this
    process is a follower (NOTIFY is transactional: a rolled-back change notifies nobody).
    """

    @event.listens_for(sessions, "before_commit")
    def _notify(session: Session) -> None:
        if session.info.get(_WAKE_FLAG) and session.get_bind().dialect.name == "postgresql":
            session.execute(sa.select(sa.func.pg_notify(OUTBOX_CHANNEL, "")))

    @event.listens_for(sessions, "after_commit")
    def _written(session: Session) -> None:
        if session.info.pop(_WAKE_FLAG, False):
            wake()

    @event.listens_for(sessions, "after_rollback")
    def _rolled_back(session: Session) -> None:
        session.info.pop(_WAKE_FLAG, None)


def listen_for_outbox(engine: sa.Engine, wake: Callable[[], None]) -> NotifyListener | None:
    """On PostgreSQL, a listener that calls ``wake`` when any process commits outbox messages; else None."""
    if engine.dialect.name != "postgresql":
        return None
    listener = NotifyListener(engine.url, OUTBOX_CHANNEL, wake)
    listener.start()
    return listener
