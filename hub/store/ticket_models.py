"""The asset register, maintenance tickets (work orders) with their history, and the fault rules' memory."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base, BigId


class AssetStatus(StrEnum):
    """Whether an asset is still part of the site."""

    IN_SERVICE = "in_service"
    RETIRED = "retired"
    """Gone from the building file; kept for its tickets' sake."""


EQUIPMENT_KIND = "equipment"
"""An asset's ``kind`` when it is room equipment rather than a device (whose kind is its device kind)."""


class Asset(Base):
    """One thing facilities look after: a device (id = device id) or room equipment (id = ``room/slug``)."""

    __tablename__ = "assets"

    id: Mapped[str] = mapped_column(sa.String(160), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    room_id: Mapped[str | None] = mapped_column(sa.ForeignKey("rooms.id"), index=True)
    make_model: Mapped[str | None] = mapped_column(sa.String(120))
    install_date: Mapped[date | None]
    warranty_until: Mapped[date | None]
    status: Mapped[str] = mapped_column(sa.String(16), default=AssetStatus.IN_SERVICE.value)


class TicketStatus(StrEnum):
    """A work order's place in its flow (see hub.services.tickets.TRANSITIONS)."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"


DONE_STATUSES = (TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value)
"""Statuses of a ticket nobody works on any more; any other status is an open ticket."""


class TicketPriority(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class TicketSource(StrEnum):
    """Who or what opened a ticket."""

    SENSOR = "sensor"
    """A fault rule on a device's messages."""
    PANEL = "panel"
    """A door display's or wall panel's "report a problem" button."""
    QR = "qr"
    """The no-login report form behind an asset's QR label."""
    STAFF = "staff"
    PREVENTIVE = "preventive"
    """A preventive-maintenance schedule."""


class Ticket(Base):
    """A maintenance ticket; at most one not-done ticket per (asset, fault type), enforced by the database."""

    __tablename__ = "tickets"
    __table_args__ = (
        sa.Index(
            "uq_tickets_open_asset_fault",
            "asset_id",
            "fault_type",
            unique=True,
            sqlite_where=sa.text("status NOT IN ('resolved', 'closed')"),
            postgresql_where=sa.text("status NOT IN ('resolved', 'closed')"),
        ),
        sa.Index("ix_tickets_status_priority", "status", "priority"),
        sa.Index("ix_tickets_ack_due_at", "ack_due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    asset_id: Mapped[str | None] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    room_id: Mapped[str | None] = mapped_column(sa.ForeignKey("rooms.id"), index=True)
    fault_type: Mapped[str] = mapped_column(sa.String(48))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    priority: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), default=TicketStatus.OPEN.value)
    source: Mapped[str] = mapped_column(sa.String(16))
    assignee: Mapped[str | None] = mapped_column(sa.String(120))
    team: Mapped[str | None] = mapped_column(sa.String(64))
    opened_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    ack_due_at: Mapped[datetime | None]
    """When the ticket escalates if nobody has acknowledged it (pushed on by the SLA at each escalation)."""
    resolve_due_at: Mapped[datetime | None]
    escalation_level: Mapped[int] = mapped_column(default=0)
    occurrences: Mapped[int] = mapped_column(default=1)
    """How many times the fault was raised while this ticket was open (a repeat is not a new ticket)."""
    last_occurrence_at: Mapped[datetime]


class TicketEvent(Base):
    """One line of a ticket's history: opened, a transition, a comment, an occurrence, recovery, escalation."""

    __tablename__ = "ticket_events"
    __table_args__ = (sa.Index("ix_ticket_events_ticket_at", "ticket_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(sa.String(120))
    kind: Mapped[str] = mapped_column(sa.String(32))
    text: Mapped[str | None] = mapped_column(sa.Text)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class FaultState(Base):
    """What a fault rule remembers about one asset between readings (pending, active, clearing, counters)."""

    __tablename__ = "fault_states"

    asset_id: Mapped[str] = mapped_column(sa.String(160), primary_key=True)
    fault_type: Mapped[str] = mapped_column(sa.String(48), primary_key=True)
    active: Mapped[bool] = mapped_column(default=False)
    since: Mapped[datetime | None]
    """When the fault fired (while active)."""
    pending_since: Mapped[datetime | None]
    """Since when the fire condition has held without firing yet (duration rules)."""
    cleared_since: Mapped[datetime | None]
    """Since when the clear condition has held while active (hysteresis)."""
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Rule-specific memory, such as the last value and how many readings repeated it."""
    updated_at: Mapped[datetime]
