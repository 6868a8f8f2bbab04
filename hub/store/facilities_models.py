"""Facilities records: safety incidents and their timelines, rooms' cleaning counters, preventive schedules."""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.store.models import Base, BigId


class Hazard(StrEnum):
    """What a safety sensor can raise an alarm for."""

    SMOKE = "smoke"
    CO = "co"
    LEAK = "leak"


class IncidentStatus(StrEnum):
    """Where an incident is: the alarm sounding, the alarm stopped (staff still to close), closed."""

    ACTIVE = "active"
    CLEARED = "cleared"
    CLOSED = "closed"


class SafetyIncident(Base):
    """A smoke, CO or leak alarm in one place, from its first alarm until staff close it.

    ``open_key`` (room or device, and hazard) is set while the incident is not closed and unique, so a
    place has at most one open incident per hazard even when two alarms arrive at once.
    """

    __tablename__ = "safety_incidents"
    __table_args__ = (
        sa.UniqueConstraint("open_key", name="uq_safety_incidents_open_key"),
        sa.Index("ix_safety_incidents_status_opened", "status", "opened_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    hazard: Mapped[str] = mapped_column(sa.String(16))
    severity: Mapped[str] = mapped_column(sa.String(16), default="critical")
    status: Mapped[str] = mapped_column(sa.String(16), default=IncidentStatus.ACTIVE.value)
    room_id: Mapped[str | None] = mapped_column(sa.ForeignKey("rooms.id"), index=True)
    device_id: Mapped[str] = mapped_column(sa.String(64))
    """The device whose alarm opened it."""
    open_key: Mapped[str | None] = mapped_column(sa.String(160))
    alarming: Mapped[list[str]]
    """Devices whose latest reading still raises the alarm; empty once it has cleared."""
    alarms: Mapped[int] = mapped_column(default=1)
    """Alarm readings received, repeats included."""
    opened_at: Mapped[datetime]
    last_alarm_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(sa.String(120))
    cleared_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(sa.String(120))

    timeline: Mapped[list["IncidentEntry"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="IncidentEntry.id"
    )


class IncidentEntry(Base):
    """One line of an incident's timeline: detected, notified, alarm, acknowledged, cleared, closed..."""

    __tablename__ = "safety_incident_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("safety_incidents.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    what: Mapped[str] = mapped_column(sa.String(32))
    actor: Mapped[str] = mapped_column(sa.String(120))
    """A device id, ``hub``, or the staff member who acted."""
    note: Mapped[str | None] = mapped_column(sa.String(500))


class RoomCleaning(Base):
    """What a room has been through since it was last cleaned (or since the hub first counted it)."""

    __tablename__ = "room_cleaning"

    room_id: Mapped[str] = mapped_column(sa.ForeignKey("rooms.id"), primary_key=True)
    counting_since: Mapped[datetime]
    """When it was last cleaned, or first counted."""
    cleaned_by: Mapped[str | None] = mapped_column(sa.String(120))
    occupied_s: Mapped[float] = mapped_column(default=0.0)
    """Seconds the room's occupancy sensors saw people since ``counting_since``."""
    reading_at: Mapped[datetime | None]
    """The room's latest occupancy reading counted."""
    occupied: Mapped[bool] = mapped_column(default=False)
    """Whether that reading saw people."""


class ScheduleKind(StrEnum):
    """What makes preventive work due: the calendar, a print counter or running hours."""

    DAYS = "days"
    PRINTS = "prints"
    RUNNING_HOURS = "running_hours"


class PreventiveSchedule(Base):
    """Recurring preventive work on one asset, due every N days, prints or running hours.

    The meter (prints or running hours) is kept here from the meter device's telemetry, across counter
    resets. ``opened_for`` is the due point (a meter value, or days since the epoch) a ticket was
    last opened for, so each due cycle opens one ticket only.
    """

    __tablename__ = "preventive_schedules"
    __table_args__ = (sa.UniqueConstraint("asset_id", "task", name="uq_preventive_schedules_asset_task"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(sa.String(160), sa.ForeignKey("assets.id"), index=True)
    task: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(16))
    every: Mapped[float]
    """Days, prints or running hours between services."""
    lead_days: Mapped[float | None]
    """Calendar schedules: open the ticket this many days before due (None: the site default)."""
    lead_pct: Mapped[float | None]
    """Meter schedules: open the ticket this share (%) of ``every`` before due (None: the site default)."""
    meter_device_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    running_above_w: Mapped[float | None]
    """Running-hours schedules: the meter's power above which the equipment counts as running."""
    meter: Mapped[float] = mapped_column(default=0.0)
    meter_raw: Mapped[float | None]
    """The device's own counter at its last reading, to see resets."""
    meter_at: Mapped[datetime | None]
    meter_running: Mapped[bool] = mapped_column(default=False)
    last_done_at: Mapped[datetime]
    """When the work was last done (or the schedule began)."""
    last_done_meter: Mapped[float] = mapped_column(default=0.0)
    opened_for: Mapped[float | None]
    last_ticket_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    source: Mapped[str] = mapped_column(sa.String(16))
    """``file`` (the schedules file, synced at start) or ``api``."""
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
