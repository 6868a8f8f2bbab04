"""Meeting rooms run themselves: door-display buttons, occupancy sensors and the clock act on bookings.

Reactions (run once per new device message, in the ingest transaction) record what occupancy
sensors see and obey door-display buttons; timed jobs apply the occupancy rules and republish
displays at their boundaries. Every change goes through the bookings service, so the same checks
apply as for the API, and the room's displays are refreshed before each commit.
"""

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from devices.payloads import ButtonPressed, DisplayButton, OccupancyTelemetry
from hub.errors import AtriumError, Conflict
from hub.services import bookings, tickets
from hub.services.notifications import NotificationKind, notify
from hub.services.occupancy_rules import Action, LiveBooking, Occupancy, OccupancyRules, decide
from hub.services.reactions import NewMessage
from hub.services.room_displays import mark_room_changed, room_live
from hub.store.booking_models import HOLDS_ROOM, Booking, BookingSource
from hub.store.db import dialect_insert
from hub.store.models import Device, Room
from hub.store.registry import get_site, rooms_of_devices
from hub.store.room_live_models import RoomLive
from hub.store.ticket_models import TicketSource

log = logging.getLogger(__name__)

BOOK_NOW_DEFAULT_MINUTES = 30
EXTEND_DEFAULT_MINUTES = 15
WALK_UP_ORGANISER = bookings.Person(email="walk-up@atrium.invalid", name="Booked at the door")


def _device_room(session: Session, device_id: str) -> str | None:
    return session.scalar(sa.select(Device.room_id).where(Device.id == device_id))


def _live_rows(session: Session, room_ids: Collection[str]) -> dict[str, RoomLive]:
    """These rooms' live rows, created on first use and locked until the transaction ends.

    As room_displays.room_live(lock=True) does for one room: the rooms' own rows first, then their
    live rows, each in id order, so workers, bookings and display refreshes never deadlock.
    """
    ordered = sorted(room_ids)
    session.execute(sa.select(Room.id).where(Room.id.in_(ordered)).order_by(Room.id).with_for_update(key_share=True))
    lives = (
        sa.select(RoomLive)
        .where(RoomLive.room_id.in_(ordered))
        .order_by(RoomLive.room_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    found = {live.room_id: live for live in session.scalars(lives)}
    missing = [room_id for room_id in ordered if room_id not in found]
    if missing:
        # Two transactions may meet a room for the first time at once: let one insert win.
        insert = dialect_insert(session)(RoomLive).values(
            [{"room_id": room_id, "people": 0, "out_of_order": False, "needs_cleaning": False} for room_id in missing]
        )
        session.execute(insert.on_conflict_do_nothing(index_elements=["room_id"]))
        found.update((live.room_id, live) for live in session.scalars(lives.where(RoomLive.room_id.in_(missing))))
    return found


def record_occupancy(session: Session, news: Sequence[NewMessage], _now: datetime) -> None:
    """Occupancy readings update their rooms' live occupancy (the rules act on it), in the order they came."""
    rooms = rooms_of_devices(session, (new.device_id for new in news))
    lives = _live_rows(session, set(rooms.values()))
    for new in news:
        reading = new.message
        assert isinstance(reading, OccupancyTelemetry)
        room_id = rooms.get(new.device_id)
        if room_id is None:
            continue
        live = lives[room_id]
        if live.observed_at is not None and reading.ts < live.observed_at:
            continue  # an old reading replayed from a device's buffer says nothing about now
        live.observed_at = reading.ts
        live.people = reading.people
        if reading.people > 0 or reading.presence:
            live.empty_since = None
        elif live.empty_since is None:
            live.empty_since = reading.ts


def press_button(
    session: Session,
    *,
    room_id: str,
    button: DisplayButton,
    minutes: int | None = None,
    note: str | None = None,
    source: BookingSource = BookingSource.DISPLAY,
    now: datetime,
    rules: bookings.BookingRules,
) -> None:
    """What a button on a room's door display or wall panel does, always to that room."""
    agenda = bookings.room_agenda(session, room_id=room_id, now=now)
    current, upcoming = agenda.current, agenda.next
    if button is DisplayButton.BOOK_NOW:
        booked = bookings.create_booking(
            session,
            room_id=room_id,
            title="Booked at the door",
            start=now,
            end=now + timedelta(minutes=minutes or BOOK_NOW_DEFAULT_MINUTES),
            organiser=WALK_UP_ORGANISER,
            source=source,
            now=now,
            rules=rules,
        )
        bookings.check_in(session, booking_id=booked.id, now=now, rules=rules)  # whoever pressed is there
    elif button is DisplayButton.CHECK_IN:
        target = current if current is not None and current.checked_in_at is None else upcoming
        if target is None:
            raise Conflict("there is no meeting to check in")
        bookings.check_in(session, booking_id=target.id, now=now, rules=rules)
    elif button is DisplayButton.EXTEND:
        if current is None:
            raise Conflict("there is no meeting to extend")
        bookings.extend_booking(
            session, booking_id=current.id, minutes=minutes or EXTEND_DEFAULT_MINUTES, now=now, rules=rules
        )
    elif button is DisplayButton.END_MEETING:
        if current is None:
            raise Conflict("there is no meeting to end")
        bookings.end_booking(session, booking_id=current.id, now=now)
    elif button is DisplayButton.REPORT_PROBLEM:
        site_id = get_site(session).id
        notify(
            session,
            site_id=site_id,
            kind=NotificationKind.PROBLEM_REPORTED,
            to="facilities",
            subject=f"Problem reported in {agenda.room.name}",
            text=note or "Someone pressed 'report a problem' beside the room.",
            room_id=room_id,
            now=now,
        )
        tickets.open_ticket(
            session,
            title=f"Problem reported in {agenda.room.name}",
            source=TicketSource.PANEL,
            room_id=room_id,
            description=note,
            reporter=f"{source.value} {room_id}",
            now=now,
        )
    mark_room_changed(session, room_id)


def obey_button(rules: bookings.BookingRules) -> Callable[[Session, NewMessage, datetime], None]:
    """A door display's button acts on the display's own room, never on another."""

    def react(session: Session, new: NewMessage, now: datetime) -> None:
        press = new.message
        assert isinstance(press, ButtonPressed)
        room_id = _device_room(session, new.device_id)
        if room_id is None:
            raise Conflict(f"door display {new.device_id} is not in a room")
        press_button(
            session, room_id=room_id, button=press.button, minutes=press.minutes, note=press.note, now=now, rules=rules
        )

    return react


def apply_occupancy_rules(
    session: Session,
    now: datetime,
    *,
    rules: OccupancyRules,
    booking_rules: bookings.BookingRules,
    room_rules: Mapping[str, OccupancyRules] | None = None,
) -> int:
    """The timed job: check in, release, extend or end the meetings running now; returns actions taken.

    ``room_rules`` holds the rooms whose building file sets rules of their own.
    """
    running = session.scalars(
        sa.select(Booking)
        .where(Booking.status.in_(HOLDS_ROOM), Booking.starts_at <= now, Booking.ends_at > now)
        .order_by(Booking.starts_at)
    ).all()
    sensed = set(session.scalars(sa.select(Device.room_id).where(Device.kind == "occupancy", Device.in_building)).all())
    taken = 0
    for booking in running:
        rules_here = (room_rules or {}).get(booking.room_id, rules)
        live = room_live(session, booking.room_id) if booking.room_id in sensed else None
        occupancy = None
        if live is not None and live.observed_at is not None:
            occupancy = Occupancy(observed_at=live.observed_at, people=live.people, empty_since=live.empty_since)
        elif live is not None:
            occupancy = Occupancy(observed_at=datetime.min.replace(tzinfo=now.tzinfo), people=0, empty_since=None)
        extend_by = rules_here.auto_extend_by or timedelta(0)
        free_after = not bookings.clashes(
            session,
            room_id=booking.room_id,
            start=booking.ends_at,
            end=booking.ends_at + extend_by,
            exclude=[booking.id],
        )
        action = decide(
            LiveBooking(start=booking.starts_at, end=booking.ends_at, checked_in=booking.checked_in_at is not None),
            occupancy,
            rules=rules_here,
            now=now,
            free_after=free_after,
        )
        if action is None:
            continue
        try:
            with session.begin_nested():
                _act(session, booking, action, now=now, rules=rules_here, booking_rules=booking_rules)
            taken += 1
        except AtriumError as refused:
            log.info("occupancy rule %s on booking %d refused: %s", action.value, booking.id, refused)
    return taken


def _act(
    session: Session,
    booking: Booking,
    action: Action,
    *,
    now: datetime,
    rules: OccupancyRules,
    booking_rules: bookings.BookingRules,
) -> None:
    if action is Action.CHECK_IN:
        bookings.check_in(session, booking_id=booking.id, now=now, rules=booking_rules)
    elif action is Action.END:
        bookings.end_booking(session, booking_id=booking.id, now=now)
    elif action is Action.EXTEND and rules.auto_extend_by is not None:
        bookings.extend_booking(
            session,
            booking_id=booking.id,
            minutes=int(rules.auto_extend_by / timedelta(minutes=1)),
            now=now,
            rules=booking_rules,
        )
    elif action is Action.RELEASE:
        release = bookings.release_booking(session, booking_id=booking.id, now=now, rules=booking_rules)
        site_id = get_site(session).id
        notify(
            session,
            site_id=site_id,
            kind=NotificationKind.BOOKING_RELEASED,
            to=booking.organiser_email,
            subject=f"{booking.title}: room released",
            text=f"Nobody checked in to {booking.room.name}, so the room was released for others.",
            room_id=booking.room_id,
            now=now,
        )
        if release.series_cancelled:
            notify(
                session,
                site_id=site_id,
                kind=NotificationKind.SERIES_CANCELLED,
                to=booking.organiser_email,
                subject=f"{booking.title}: series cancelled after {release.strikes} no-shows",
                text="The rest of the series was cancelled; book again when you need the room.",
                room_id=booking.room_id,
                now=now,
            )
