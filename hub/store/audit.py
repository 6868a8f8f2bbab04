"""The audit log: an append-only record of who read or changed what (visits, bookings, tickets, users).

Services call :func:`record` inside the transaction that does the change, so the entry commits with it
(or not at all). Nothing updates or deletes entries except retention, which never touches this table.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from hub.store.models import Base, BigId


class AuditEntry(Base):
    """One action by one actor on one object."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_object", "object_type", "object_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(sa.String(120))
    """Who: a user, a kiosk or panel principal, or ``hub`` for the hub's own rules and jobs."""
    action: Mapped[str] = mapped_column(sa.String(64))
    """What, as ``<noun>.<verb>``: ``visit.read``, ``visit.check_in``, ``ticket.transition``..."""
    object_type: Mapped[str] = mapped_column(sa.String(32))
    object_id: Mapped[str] = mapped_column(sa.String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append an entry; it commits with the caller's transaction. Keep personal data out of ``detail``."""
    session.add(
        AuditEntry(
            at=now, actor=actor, action=action, object_type=object_type, object_id=str(object_id), detail=detail or {}
        )
    )


def entries(
    session: Session,
    *,
    object_type: str | None = None,
    object_id: str | int | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
) -> Sequence[AuditEntry]:
    """The newest entries first, filtered by object, actor and time."""
    query = sa.select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if object_type is not None:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEntry.object_id == str(object_id))
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    return session.scalars(query).all()
