"""Meeting rooms: which are free now, and which one best fits a meeting (people, equipment, time)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.errors import Invalid
from hub.services.bookings import DEFAULT_RULES, BookingRules, aware, check_span, site_zone
from hub.store.booking_models import HOLDS_ROOM, Booking
from hub.store.models import Floor, Room


@dataclass(frozen=True)
class RoomState:
    """A room and the booking holding it at the moment asked about."""

    room: Room
    current: Booking | None

    @property
    def free_now(self) -> bool:
        return self.room.bookable and self.current is None


def _rooms(floor_id: str | None, bookable: bool | None) -> sa.Select[Room]:
    query = sa.select(Room).join(Floor, Room.floor_id == Floor.id).order_by(Floor.level, Room.name, Room.id)
    if floor_id is not None:
        query = query.where(Room.floor_id == floor_id)
    if bookable is not None:
        query = query.where(Room.bookable.is_(bookable))
    return query


def _holding(session: Session, start: datetime, end: datetime) -> dict[str, Booking]:
    """For each room, the first booking holding it during [start, end)."""
    query = (
        sa.select(Booking)
        .where(Booking.status.in_(HOLDS_ROOM), Booking.starts_at < end, Booking.ends_at > start)
        .order_by(Booking.starts_at.desc())
    )
    return {booking.room_id: booking for booking in session.scalars(query).unique()}


def list_rooms(
    session: Session, *, now: datetime, floor_id: str | None = None, bookable: bool | None = None
) -> list[RoomState]:
    """The site's rooms by floor and name, each with the booking holding it at ``now`` (if any)."""
    now = aware(now, what="now")
    rooms = session.scalars(_rooms(floor_id, bookable)).unique().all()
    held = _holding(session, now, now + timedelta(microseconds=1))
    return [RoomState(room=room, current=held.get(room.id)) for room in rooms]


def find_free_rooms(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    people: int = 1,
    equipment: Iterable[str] = (),
    floor_id: str | None = None,
    now: datetime,
    rules: BookingRules = DEFAULT_RULES,
) -> list[Room]:
    """Bookable rooms seating ``people`` with all of ``equipment``, free for [start, end); best fit first.

    Best fit is the smallest room that is big enough, so large rooms stay free for large meetings.
    """
    now = aware(now, what="now")
    start, end = aware(start, what="start"), aware(end, what="end")
    check_span(start, end, now=now, rules=rules, zone=site_zone(session))
    if people < 1:
        raise Invalid(f"a meeting needs at least one person, not {people}")
    wanted = {item.strip().lower() for item in equipment if item.strip()}
    taken = set(_holding(session, start, end))
    query = _rooms(floor_id, bookable=True).where(Room.capacity >= people)
    fits = [
        room
        for room in session.scalars(query).unique()
        if room.id not in taken and wanted <= {item.lower() for item in room.equipment}
    ]
    return sorted(fits, key=lambda room: (room.capacity, room.floor.level, room.name))
