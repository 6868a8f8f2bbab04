"""What the facilities dashboard shows at a glance: open tickets, devices offline, energy today, cleaning, incidents.

Read-only: it gathers what the tickets, safety, cleaning and energy services already keep. A panel whose
data cannot be read is reported as unavailable with the reason, and the others are still shown.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.services.cleaning import CleaningRules, cleaning_needs
from hub.services.energy import floors_today
from hub.services.safety import list_incidents
from hub.store.models import Device, Room
from hub.store.ticket_models import DONE_STATUSES, Ticket, TicketPriority

log = logging.getLogger(__name__)

AGE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("<4h", timedelta(hours=4)),
    ("4-24h", timedelta(hours=24)),
    ("1-7d", timedelta(days=7)),
    (">7d", None),
)
"""How long tickets have been open, as the dashboard groups them."""
LIST_LIMIT = 50

T = TypeVar("T")


@dataclass(frozen=True)
class TicketCounts:
    """Open tickets by priority, and by priority and age."""

    total: int
    by_priority: dict[str, int]
    by_age: dict[str, dict[str, int]]
    """priority -> age bucket -> tickets."""


@dataclass(frozen=True)
class OfflineDevice:
    id: str
    kind: str
    room_id: str | None
    room_name: str | None
    since: datetime | None


@dataclass(frozen=True)
class FloorEnergy:
    floor_id: str | None
    name: str
    kwh: float


@dataclass(frozen=True)
class RoomToClean:
    room_id: str
    room_name: str
    floor_name: str
    need: float
    meetings: int
    occupied_minutes: float


@dataclass(frozen=True)
class ActiveIncident:
    id: int
    hazard: str
    status: str
    room_id: str | None
    room_name: str | None
    device_id: str
    opened_at: datetime


@dataclass
class FacilitiesSummary:
    """The dashboard's data at ``at``; ``unavailable`` names each panel that could not be read, and why."""

    at: datetime
    timezone: str
    tickets: TicketCounts | None = None
    devices_total: int = 0
    devices_offline: list[OfflineDevice] = field(default_factory=list)
    energy_today: list[FloorEnergy] | None = None
    cleaning: list[RoomToClean] | None = None
    incidents: list[ActiveIncident] | None = None
    unavailable: dict[str, str] = field(default_factory=dict)


def facilities_summary(session: Session, *, now: datetime, cleaning_rules: CleaningRules) -> FacilitiesSummary:
    """Everything the dashboard shows, each panel read on its own so one failure leaves the others."""
    energy = _panel(session, "energy", lambda: floors_today(session, now))
    summary = FacilitiesSummary(at=now, timezone=energy.timezone if energy else "UTC")
    summary.tickets = _panel(session, "tickets", lambda: open_tickets(session, now=now), summary.unavailable)
    summary.devices_total, summary.devices_offline = devices_offline(session)
    if energy is None:
        summary.unavailable["energy"] = "the energy rollups could not be read"
    else:
        summary.energy_today = [FloorEnergy(s.id, s.name, round(s.total_kwh, 3)) for s in energy.series]
    summary.cleaning = _panel(
        session, "cleaning", lambda: rooms_to_clean(session, now=now, rules=cleaning_rules), summary.unavailable
    )
    summary.incidents = _panel(session, "safety", lambda: active_incidents(session), summary.unavailable)
    return summary


def _panel(session: Session, name: str, read: Callable[[], T], unavailable: dict[str, str] | None = None) -> T | None:
    try:
        with session.begin_nested():
            return read()
    except Exception as error:  # one broken panel must not blank the dashboard
        log.exception("facilities dashboard: the %s panel failed", name)
        if unavailable is not None:
            unavailable[name] = f"{type(error).__name__}: could not be read"
        return None


def open_tickets(session: Session, *, now: datetime) -> TicketCounts:
    """Tickets nobody has resolved or closed, counted by priority and by how long they have been open."""
    rows = session.execute(
        sa.select(Ticket.priority, Ticket.opened_at).where(Ticket.status.not_in(DONE_STATUSES))
    ).all()
    priorities = [p.value for p in TicketPriority]
    by_priority = dict.fromkeys(priorities, 0)
    by_age = {p: dict.fromkeys((name for name, _ in AGE_BUCKETS), 0) for p in priorities}
    for priority, opened_at in rows:
        by_priority[priority] = by_priority.get(priority, 0) + 1
        age = now - opened_at
        bucket = next(name for name, limit in AGE_BUCKETS if limit is None or age < limit)
        by_age.setdefault(priority, dict.fromkeys((name for name, _ in AGE_BUCKETS), 0))[bucket] += 1
    return TicketCounts(total=len(rows), by_priority=by_priority, by_age=by_age)


def devices_offline(session: Session) -> tuple[int, list[OfflineDevice]]:
    """How many devices the building has, and those the hub holds offline, longest silent first."""
    total = session.scalar(sa.select(sa.func.count()).select_from(Device).where(Device.in_building)) or 0
    query = (
        sa.select(Device.id, Device.kind, Device.room_id, Room.name, Device.availability_changed_at)
        .outerjoin(Room, Device.room_id == Room.id)
        .where(Device.in_building, Device.online.is_(False))
        .order_by(Device.availability_changed_at, Device.id)
        .limit(LIST_LIMIT)
    )
    return total, [OfflineDevice(*row) for row in session.execute(query).all()]


def rooms_to_clean(session: Session, *, now: datetime, rules: CleaningRules) -> list[RoomToClean]:
    """Rooms due for cleaning, most in need first."""
    due = sorted((need for need in cleaning_needs(session, now=now, rules=rules) if need.due), key=lambda n: -n.need)
    return [
        RoomToClean(n.room_id, n.room_name, n.floor_name, n.need, n.meetings, n.occupied_minutes)
        for n in due[:LIST_LIMIT]
    ]


def active_incidents(session: Session) -> list[ActiveIncident]:
    """Safety incidents not yet closed (alarm sounding, or cleared and waiting for staff), newest first."""
    incidents = list_incidents(session, open_only=True, limit=LIST_LIMIT)
    names = dict(session.execute(sa.select(Room.id, Room.name)).all())
    return [
        ActiveIncident(i.id, i.hazard, i.status, i.room_id, names.get(i.room_id or ""), i.device_id, i.opened_at)
        for i in incidents
    ]
