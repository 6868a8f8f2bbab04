"""Cleaning status: which rooms need cleaning, the cleaning list per floor, and marking a room cleaned.

A room needs cleaning once, since it was last cleaned, it has held ``cleaning_after_meetings``
meetings or been occupied ``cleaning_after_occupied_minutes`` minutes, whichever comes first.

- Meetings are bookings that ended (or reached their end) checked in: a no-show leaves no mess.
- Occupied minutes come from the room's occupancy sensors: the time from each reading that saw people
  to the room's next reading (a gap counts at most :data:`READING_GAP_CAP`, so a sensor that goes
  silent does not count the night). A room without an occupancy sensor counts its checked-in meetings'
  time instead.

The need is the larger of the two shares (1.0 is due); a timed job sets ``room_live.needs_cleaning``
from it, which the door display and panel show. A room is counted from when it was last cleaned,
or from when the hub first counted it, so installing Atrium does not flag every room at once.
"""

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from devices.kinds import DeviceKind
from devices.payloads import OccupancyTelemetry
from hub.errors import NotFound
from hub.services.reactions import NewMessage
from hub.services.room_displays import mark_room_changed, room_live
from hub.settings import Settings
from hub.store.audit import record
from hub.store.booking_models import Booking, BookingStatus
from hub.store.db import dialect_insert
from hub.store.facilities_models import RoomCleaning
from hub.store.models import Device, Floor, Room
from hub.store.registry import rooms_of_devices
from hub.store.room_live_models import RoomLive

READING_GAP_CAP = timedelta(minutes=15)
"""The most one occupied reading counts for when the next reading is late."""
MEETINGS_THAT_COUNT = (BookingStatus.CHECKED_IN.value, BookingStatus.ENDED.value)


@dataclass(frozen=True, slots=True)
class CleaningRules:
    """After how much use a room needs cleaning."""

    after_meetings: int = 4
    after_occupied: timedelta = timedelta(minutes=240)

    @classmethod
    def from_settings(cls, settings: Settings) -> "CleaningRules":
        return cls(
            after_meetings=settings.cleaning_after_meetings,
            after_occupied=timedelta(minutes=settings.cleaning_after_occupied_minutes),
        )


@dataclass(frozen=True, slots=True)
class CleaningNeed:
    """One room's use since it was last cleaned."""

    room_id: str
    room_name: str
    floor_id: str
    floor_name: str
    since: datetime
    cleaned_by: str | None
    meetings: int
    occupied_minutes: float
    need: float
    """The larger share of either limit: 1.0 or more is due."""

    @property
    def due(self) -> bool:
        return self.need >= 1.0


def counter(session: Session, room_id: str, now: datetime) -> RoomCleaning:
    """The room's cleaning counter, started at ``now`` on first use."""
    row = session.get(RoomCleaning, room_id)
    if row is None:
        insert = dialect_insert(session)(RoomCleaning).values(
            room_id=room_id, counting_since=now, occupied_s=0.0, occupied=False
        )
        session.execute(insert.on_conflict_do_nothing(index_elements=["room_id"]))
        row = session.get(RoomCleaning, room_id)
        assert row is not None
    return row


def _counters(session: Session, room_ids: Collection[str], now: datetime) -> dict[str, RoomCleaning]:
    """These rooms' cleaning counters (those never counted start at ``now``): two queries for a batch."""
    of_rooms = sa.select(RoomCleaning).where(RoomCleaning.room_id.in_(sorted(room_ids)))
    found = {row.room_id: row for row in session.scalars(of_rooms)}
    missing = sorted(set(room_ids) - found.keys())
    if missing:
        insert = dialect_insert(session)(RoomCleaning).values(
            [{"room_id": room_id, "counting_since": now, "occupied_s": 0.0, "occupied": False} for room_id in missing]
        )
        session.execute(insert.on_conflict_do_nothing(index_elements=["room_id"]))
        added = sa.select(RoomCleaning).where(RoomCleaning.room_id.in_(missing))
        found.update((row.room_id, row) for row in session.scalars(added))
    return found


def count_occupied_time(session: Session, news: Sequence[NewMessage], now: datetime) -> None:
    """The reaction: each occupancy reading adds the time since its room's previous reading, if that saw people."""
    rooms = rooms_of_devices(session, (new.device_id for new in news))
    counters = _counters(session, set(rooms.values()), now)
    for new in news:
        reading = new.message
        assert isinstance(reading, OccupancyTelemetry)
        room_id = rooms.get(new.device_id)
        if room_id is None:
            continue
        row = counters[room_id]
        if row.reading_at is not None and reading.ts <= row.reading_at:
            continue  # an old reading replayed from a device's buffer
        if row.reading_at is not None and row.occupied:
            start = max(row.reading_at, row.counting_since)
            if reading.ts > start:
                row.occupied_s += min(reading.ts - start, READING_GAP_CAP).total_seconds()
        row.reading_at = reading.ts
        row.occupied = reading.presence or reading.people > 0


def cleaning_needs(
    session: Session, *, now: datetime, rules: CleaningRules, floor_id: str | None = None, room_id: str | None = None
) -> list[CleaningNeed]:
    """Every room's need (starting the count of rooms never counted), by floor, most in need first."""
    rooms_query = sa.select(Room).join(Floor).order_by(Floor.level, Floor.id, Room.id)
    if floor_id is not None:
        rooms_query = rooms_query.where(Room.floor_id == floor_id)
    if room_id is not None:
        rooms_query = rooms_query.where(Room.id == room_id)
    rooms = session.scalars(rooms_query).all()
    counters = {room.id: counter(session, room.id, now) for room in rooms}
    sensed = set(
        session.scalars(
            sa.select(Device.room_id).where(Device.kind == DeviceKind.OCCUPANCY.value, Device.in_building)
        ).all()
    )
    meetings = _meetings_since(session, [room.id for room in rooms], now)
    needs = []
    for room in rooms:
        row = counters[room.id]
        held = [(start, end) for start, end in meetings.get(room.id, []) if end > row.counting_since]
        if room.id in sensed:
            occupied = timedelta(seconds=row.occupied_s)
        else:
            occupied = sum((end - max(start, row.counting_since) for start, end in held), timedelta())
        share = max(len(held) / rules.after_meetings, occupied / rules.after_occupied)
        needs.append(
            CleaningNeed(
                room_id=room.id,
                room_name=room.name,
                floor_id=room.floor_id,
                floor_name=room.floor.name,
                since=row.counting_since,
                cleaned_by=row.cleaned_by,
                meetings=len(held),
                occupied_minutes=round(occupied / timedelta(minutes=1), 1),
                need=round(share, 3),
            )
        )
    floor_order = {room.floor_id: index for index, room in reversed(list(enumerate(rooms)))}
    return sorted(needs, key=lambda n: (floor_order[n.floor_id], -n.need, n.since, n.room_id))


def _meetings_since(session: Session, room_ids: list[str], now: datetime) -> dict[str, list[tuple[datetime, datetime]]]:
    """Checked-in meetings that ended by ``now`` and after the room's count began, per room."""
    rows = session.execute(
        sa.select(Booking.room_id, Booking.starts_at, Booking.ends_at)
        .join(RoomCleaning, RoomCleaning.room_id == Booking.room_id)
        .where(
            Booking.room_id.in_(room_ids),
            Booking.checked_in_at.is_not(None),
            Booking.status.in_(MEETINGS_THAT_COUNT),
            Booking.ends_at <= now,
            Booking.ends_at > RoomCleaning.counting_since,
        )
    ).all()
    found: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for room_id, start, end in rows:
        found[room_id].append((start, end))
    return found


def flag_rooms_needing_cleaning(session: Session, now: datetime, *, rules: CleaningRules) -> int:
    """The timed job: set each room's ``needs_cleaning`` from its use; returns how many rooms changed."""
    changed = 0
    for need in cleaning_needs(session, now=now, rules=rules):
        live = session.get(RoomLive, need.room_id)
        if bool(live and live.needs_cleaning) == need.due:
            continue
        room_live(session, need.room_id).needs_cleaning = need.due
        mark_room_changed(session, need.room_id)
        changed += 1
    return changed


def mark_cleaned(session: Session, *, room_id: str, by: str, now: datetime, rules: CleaningRules) -> CleaningNeed:
    """Cleaning staff cleaned the room: its count starts again from now and its display stops asking."""
    if session.get(Room, room_id) is None:
        raise NotFound(f"no room {room_id!r}")
    row = counter(session, room_id, now)
    before = cleaning_needs(session, now=now, rules=rules, room_id=room_id)[0]
    row.counting_since = now
    row.cleaned_by = by
    row.occupied_s = 0.0
    if row.reading_at is not None:
        row.reading_at = max(row.reading_at, now)
    live = room_live(session, room_id)
    if live.needs_cleaning:
        live.needs_cleaning = False
        mark_room_changed(session, room_id)
    record(
        session,
        actor=by,
        action="room.cleaned",
        object_type="room",
        object_id=room_id,
        now=now,
        detail={"meetings": before.meetings, "occupied_minutes": before.occupied_minutes},
    )
    session.flush()
    return cleaning_needs(session, now=now, rules=rules, room_id=room_id)[0]
