"""How meeting rooms are used, per room and floor and per local day: hours booked, released and occupied.

- booked: hours covered by bookings that were not cancelled (released ones included: the room was
  booked, even if nobody came);
- released: hours of bookings given back because nobody came (no-shows), as booked;
- occupied: hours the room's occupancy sensors saw somebody. Each reading holds until the device's
  next one, but at most ``presence_holds`` (a silent sensor says nothing); a room with several
  sensors is occupied while any of them sees somebody.

Days are the site's local days, so the days clocks change last 23 or 25 hours.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from devices.kinds import DeviceKind
from devices.topics import Channel
from hub.errors import Invalid
from hub.services.bookings import site_zone
from hub.services.recurrence import local_day_bounds
from hub.store.booking_models import Booking, BookingStatus
from hub.store.models import Device, DeviceMessage, Floor, Room

PRESENCE_HOLDS = timedelta(minutes=15)
"""The longest a presence reading counts for when the sensor says nothing after it."""
MAX_DAYS = 366

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Hours:
    """Hours booked, released (no-shows) and occupied."""

    booked: float = 0.0
    released: float = 0.0
    occupied: float = 0.0

    def __add__(self, other: "Hours") -> "Hours":
        return Hours(self.booked + other.booked, self.released + other.released, self.occupied + other.occupied)


@dataclass(frozen=True)
class RoomUsage:
    """One room's hours per local day."""

    room_id: str
    room_name: str
    floor_id: str
    capacity: int
    by_day: dict[date, Hours]

    @property
    def total(self) -> Hours:
        return sum(self.by_day.values(), Hours())


@dataclass(frozen=True)
class FloorUsage:
    """A floor's meeting rooms together, per local day."""

    floor_id: str
    floor_name: str
    by_day: dict[date, Hours]

    @property
    def total(self) -> Hours:
        return sum(self.by_day.values(), Hours())


@dataclass(frozen=True)
class Utilisation:
    """The report: rooms and floors over ``first_day`` to ``last_day`` (inclusive) in ``timezone``."""

    first_day: date
    last_day: date
    timezone: str
    rooms: list[RoomUsage] = field(default_factory=list)
    floors: list[FloorUsage] = field(default_factory=list)

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=n) for n in range((self.last_day - self.first_day).days + 1)]


def utilisation(
    session: Session,
    *,
    first_day: date,
    last_day: date,
    floor_id: str | None = None,
    presence_holds: timedelta = PRESENCE_HOLDS,
) -> Utilisation:
    """Hours booked, released and occupied per bookable room and floor, for each local day of the range."""
    if last_day < first_day:
        raise Invalid(f"the report must end on or after its first day ({first_day:%d %b %Y})")
    if (last_day - first_day).days >= MAX_DAYS:
        raise Invalid(f"a report covers at most {MAX_DAYS} days")
    zone = site_zone(session)
    days = [(day, *local_day_bounds(day, zone)) for day in _days(first_day, last_day)]
    start, end = days[0][1], days[-1][2]
    query = (
        sa.select(Room, Floor)
        .join(Floor, Room.floor_id == Floor.id)
        .where(Room.bookable.is_(True))
        .order_by(Floor.level, Room.name)
    )
    if floor_id is not None:
        query = query.where(Room.floor_id == floor_id)
    rooms = session.execute(query).unique().all()
    room_ids = [room.id for room, _ in rooms]
    booked, released = _booked(session, room_ids, start, end)
    occupied = _occupied(session, room_ids, start, end, presence_holds)
    report = Utilisation(first_day=first_day, last_day=last_day, timezone=zone.key)
    floors: dict[str, FloorUsage] = {}
    for room, floor in rooms:
        booked_by_day = _seconds_by_day(booked[room.id], days)
        released_by_day = _seconds_by_day(released[room.id], days)
        occupied_by_day = _seconds_by_day(occupied[room.id], days)
        by_day = {
            day: Hours(booked_by_day[day] / 3600, released_by_day[day] / 3600, occupied_by_day[day] / 3600)
            for day, _, _ in days
        }
        report.rooms.append(RoomUsage(room.id, room.name, floor.id, room.capacity, by_day))
        if floor.id not in floors:
            floors[floor.id] = FloorUsage(floor.id, floor.name, {day: Hours() for day, _, _ in days})
        for day, hours in by_day.items():
            floors[floor.id].by_day[day] += hours
    report.floors.extend(floors.values())
    return report


def _days(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _booked(
    session: Session, room_ids: Sequence[str], start: datetime, end: datetime
) -> tuple[dict[str, list[Interval]], dict[str, list[Interval]]]:
    booked: dict[str, list[Interval]] = defaultdict(list)
    released: dict[str, list[Interval]] = defaultdict(list)
    query = sa.select(Booking.room_id, Booking.starts_at, Booking.ends_at, Booking.status).where(
        Booking.room_id.in_(room_ids),
        Booking.status != BookingStatus.CANCELLED.value,
        Booking.starts_at < end,
        Booking.ends_at > start,
    )
    for room_id, starts_at, ends_at, status in session.execute(query):
        booked[room_id].append((starts_at, ends_at))
        if status == BookingStatus.RELEASED.value:
            released[room_id].append((starts_at, ends_at))
    return booked, released


def _occupied(
    session: Session, room_ids: Sequence[str], start: datetime, end: datetime, holds: timedelta
) -> dict[str, list[Interval]]:
    """Per room, the spans some occupancy sensor saw somebody."""
    query = sa.select(Device.id, Device.room_id).where(
        Device.kind == DeviceKind.OCCUPANCY.value, Device.room_id.in_(room_ids)
    )
    sensors = {device_id: room_id for device_id, room_id in session.execute(query)}
    occupied: dict[str, list[Interval]] = defaultdict(list)
    if not sensors:
        return occupied
    readings = (
        sa.select(DeviceMessage.device_id, DeviceMessage.device_ts, DeviceMessage.data)
        .where(
            DeviceMessage.device_id.in_(list(sensors)),
            DeviceMessage.channel == Channel.TELEMETRY.value,
            DeviceMessage.device_ts >= start - holds,
            DeviceMessage.device_ts < end,
        )
        .order_by(DeviceMessage.device_id, DeviceMessage.device_ts)
    )
    previous: tuple[str, datetime, bool] | None = None
    for device_id, device_ts, data in session.execute(readings).yield_per(5000):
        if data.get("kind", DeviceKind.OCCUPANCY.value) != DeviceKind.OCCUPANCY.value:
            continue
        if previous is not None and previous[0] == device_id:
            _hold(occupied, sensors[device_id], previous[1], min(device_ts, previous[1] + holds), previous[2])
        elif previous is not None:
            _hold(occupied, sensors[previous[0]], previous[1], previous[1] + holds, previous[2])
        present = bool(data.get("presence", int(data.get("people", 0) or 0) > 0))
        previous = (device_id, device_ts, present)
    if previous is not None:
        _hold(occupied, sensors[previous[0]], previous[1], previous[1] + holds, previous[2])
    return occupied


def _hold(
    occupied: dict[str, list[Interval]], room_id: str | None, start: datetime, end: datetime, present: bool
) -> None:
    if present and room_id is not None and end > start:
        occupied[room_id].append((start, end))


def _union(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _seconds_by_day(
    intervals: Iterable[Interval], days: Sequence[tuple[date, datetime, datetime]]
) -> dict[date, float]:
    """Seconds of the union of ``intervals`` falling in each day."""
    seconds = {day: 0.0 for day, _, _ in days}
    for start, end in _union(intervals):
        for day, day_start, day_end in days:
            overlap = min(end, day_end) - max(start, day_start)
            if overlap > timedelta(0):
                seconds[day] += overlap.total_seconds()
    return seconds
