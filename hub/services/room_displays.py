"""Keeps every door display showing its room's state: republished on each change and at each boundary.

A change to a booking marks its room; just before the transaction commits, each marked room's
state is computed and, if it differs from what was last published, sent retained through the outbox
to the room's door displays. The state also knows when it will next change by itself (a meeting
starts or ends); a timed job republishes the rooms whose moment has come, so no room is polled.
"""

import hashlib
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from devices.codec import encode
from devices.kinds import DeviceKind
from devices.payloads import ShowRoomState
from devices.topics import Channel, device_topic
from hub.services.room_status import Meeting, RoomFacts, RoomStatus, display_command, room_status
from hub.store.booking_models import HOLDS_ROOM, Booking
from hub.store.db import dialect_insert
from hub.store.models import Device, Room
from hub.store.outbox import enqueue
from hub.store.registry import get_site
from hub.store.room_live_models import RoomLive

LOOK_AHEAD = timedelta(hours=24)
_DIRTY_ROOMS = "atrium_rooms_changed"
_REFRESHING = "atrium_rooms_refreshing"


def room_live(session: Session, room_id: str, *, lock: bool = False) -> RoomLive:
    """The room's live row, created on first use; ``lock`` holds it until the transaction ends.

    Locking takes the room's own row first (as booking changes do), then its live row: one order
    everywhere, so the ingest of one worker and a booking through the API never deadlock.
    """
    if lock:
        session.execute(sa.select(Room.id).where(Room.id == room_id).with_for_update(key_share=True))
    live = session.get(RoomLive, room_id, with_for_update=lock, populate_existing=lock)
    if live is None:
        # Two transactions may meet a room for the first time at once: let one insert win.
        insert = dialect_insert(session)(RoomLive).values(
            room_id=room_id, people=0, out_of_order=False, needs_cleaning=False
        )
        session.execute(insert.on_conflict_do_nothing(index_elements=["room_id"]))
        live = session.get(RoomLive, room_id, with_for_update=lock, populate_existing=lock)
        assert live is not None
    return live


def current_status(session: Session, room_id: str, now: datetime) -> tuple[RoomFacts, RoomStatus]:
    """The room's state at ``now`` from its live bookings and condition."""
    room = session.get(Room, room_id)
    if room is None:
        raise LookupError(room_id)
    site = get_site(session)
    live = session.get(RoomLive, room_id)
    facts = RoomFacts(
        name=room.name,
        timezone=site.timezone,
        out_of_order=bool(live and live.out_of_order),
        needs_cleaning=bool(live and live.needs_cleaning),
    )
    bookings = session.scalars(
        sa.select(Booking).where(
            Booking.room_id == room_id,
            Booking.status.in_(HOLDS_ROOM),
            Booking.ends_at > now,
            Booking.starts_at < now + LOOK_AHEAD,
        )
    ).all()
    meetings = [
        Meeting(
            title=b.title,
            organiser=b.organiser_name or b.organiser_email,
            start=b.starts_at,
            end=b.ends_at,
            private=b.private,
            checked_in=b.checked_in_at is not None,
        )
        for b in bookings
    ]
    return facts, room_status(facts, meetings, now)


def room_display_state(session: Session, room_id: str, now: datetime) -> ShowRoomState:
    """What the room's door displays (and its panel) show at ``now``."""
    facts, status = current_status(session, room_id, now)
    return display_command(facts, status, command_id=uuid.uuid4().hex, now=now)


def refresh_room(session: Session, room_id: str, now: datetime) -> bool:
    """Publish the room's state to its displays if it changed; returns whether it was published.

    The room's live row is locked first, so two refreshes of one room (a booking's commit and the
    timed job) take turns, and the later one computes from what the earlier one committed.
    """
    live = room_live(session, room_id, lock=True)
    facts, status = current_status(session, room_id, now)
    command = display_command(facts, status, command_id=uuid.uuid4().hex, now=now)
    digest = hashlib.sha256(command.model_dump_json(exclude={"id", "ts"}).encode()).hexdigest()
    live.display_changes_at = status.changes_at
    if live.display_digest == digest:
        return False
    live.display_digest = digest
    site_id = get_site(session).id
    displays = session.scalars(
        sa.select(Device.id).where(
            Device.room_id == room_id, Device.kind == DeviceKind.DOOR_DISPLAY.value, Device.in_building
        )
    ).all()
    payload = encode(command)
    for display_id in displays:
        enqueue(
            session, topic=device_topic(site_id, display_id, Channel.COMMAND), payload=payload, now=now, retain=True
        )
    return True


def refresh_rooms(session: Session, room_ids: Iterable[str], now: datetime) -> int:
    """Refresh several rooms; returns how many were published."""
    return sum(refresh_room(session, room_id, now) for room_id in sorted(set(room_ids)))


def refresh_due_rooms(session: Session, now: datetime) -> int:
    """The timed job: republish rooms whose state changes by itself now, and rooms never published."""
    due = session.scalars(sa.select(RoomLive.room_id).where(RoomLive.display_changes_at <= now)).all()
    never = session.scalars(sa.select(Room.id).where(Room.bookable, Room.id.not_in(sa.select(RoomLive.room_id)))).all()
    return refresh_rooms(session, [*due, *never], now)


def mark_room_changed(session: Session, room_id: str) -> None:
    """Ask for the room's displays to be refreshed before this transaction commits."""
    session.info.setdefault(_DIRTY_ROOMS, set()).add(room_id)


def refresh_changed_rooms_before_commit(sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
    """Install the hooks: any booking written marks its room; marked rooms refresh before commit."""

    @event.listens_for(sessions, "after_flush")
    def _bookings_written(session: Session, _context: object) -> None:
        for instance in (*session.new, *session.dirty, *session.deleted):
            if isinstance(instance, Booking) and instance.room_id:
                mark_room_changed(session, instance.room_id)

    @event.listens_for(sessions, "before_commit")
    def _refresh(session: Session) -> None:
        if session.info.get(_REFRESHING):
            return
        rooms = session.info.pop(_DIRTY_ROOMS, set())
        if not rooms:
            return
        session.info[_REFRESHING] = True
        try:
            refresh_rooms(session, rooms, clock())
            session.flush()
        finally:
            session.info.pop(_REFRESHING, None)
            session.info.pop(_DIRTY_ROOMS, None)

    @event.listens_for(sessions, "after_rollback")
    def _forget(session: Session) -> None:
        session.info.pop(_DIRTY_ROOMS, None)
