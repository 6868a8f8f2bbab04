"""Meeting-room bookings: the rules a booking obeys, and what happens to it over its life.

Plain functions over a Session: they add and change rows and flush, and the caller commits, so
several calls (an iCalendar import) succeed or fail together. ``now`` is always passed in.
Recurring series are materialised as booking rows up to a horizon, so clashes and queries only
look at one table.
"""

import itertools
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.errors import Conflict, Invalid, NotFound
from hub.services.recurrence import Rule, exdate_text, is_occurrence, occurrences, parse_exdates, parse_rule
from hub.settings import Settings
from hub.store import audit
from hub.store.booking_models import (
    HOLDS_ROOM,
    Booking,
    BookingAttendee,
    BookingSeries,
    BookingSource,
    BookingStatus,
)
from hub.store.models import Room, Site

PRIVATE_TITLE = "Private meeting"
"""What others see of a private booking."""
MAX_TITLE = 200
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
_CLASHES_LISTED = 10


@dataclass(frozen=True)
class BookingRules:
    """The policy bookings obey; the API builds it from Settings, tests give their own."""

    start_grace: timedelta = timedelta(minutes=5)
    """How long ago a new booking may start (booking the room you are standing in)."""
    max_duration: timedelta = timedelta(hours=24)
    check_in_before: timedelta = timedelta(minutes=10)
    """How early before its start a booking may be checked in."""
    no_show_strikes: int = 3
    """Released occurrences in a row after which the rest of a series is cancelled."""
    horizon: timedelta = timedelta(days=90)
    """How far ahead a series' occurrences are booked."""
    max_occurrences: int = 500

    @classmethod
    def from_settings(cls, settings: Settings) -> "BookingRules":
        return cls(
            check_in_before=timedelta(minutes=settings.booking_check_in_minutes),
            no_show_strikes=settings.booking_no_show_strikes,
            horizon=timedelta(days=settings.booking_horizon_days),
        )


DEFAULT_RULES = BookingRules()


@dataclass(frozen=True)
class Person:
    """Someone who books: the organiser. (Who may act for whom is for the roles issue to decide.)"""

    email: str
    name: str = ""


@dataclass(frozen=True)
class RoomAgenda:
    """What a door display shows: the meeting in the room now, and the next one."""

    room: Room
    current: Booking | None
    next: Booking | None


@dataclass(frozen=True)
class Release:
    """What releasing a no-show did."""

    booking: Booking
    strikes: int
    """No-shows in a row of its series (0 for a one-off booking)."""
    series_cancelled: bool
    cancelled: list[Booking] = field(default_factory=list)
    """Future occurrences cancelled because of the strikes."""


@dataclass(frozen=True)
class SkippedOccurrence:
    """An occurrence a series could not book when its horizon moved on, because the room was taken."""

    series_id: int
    start: datetime
    clash: Booking


def site_zone(session: Session) -> ZoneInfo:
    """The site's time zone (the building file's ``site.timezone``), UTC before a building is loaded."""
    name = session.scalar(sa.select(Site.timezone).order_by(Site.id).limit(1))
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"the site's time zone {name!r} is not a known IANA zone such as Europe/London") from None


def get_room(session: Session, room_id: str) -> Room:
    """One room, or NotFound."""
    room = session.get(Room, room_id)
    if room is None:
        raise NotFound(f"there is no room {room_id!r}")
    return room


def bookable_room(session: Session, room_id: str) -> Room:
    """A room that can be booked, or the reason it cannot."""
    room = get_room(session, room_id)
    if not room.bookable or room.capacity < 1:
        raise Invalid(f"{room.name} cannot be booked: it is not a meeting room")
    return room


def normalise_email(value: str, *, what: str = "email") -> str:
    """An email address in lower case, or the reason it is not one."""
    email = value.strip().lower()
    if email.startswith("mailto:"):
        email = email[len("mailto:") :]
    if not _EMAIL.match(email) or len(email) > 254:
        raise Invalid(f"the {what} {value!r} is not an email address")
    return email


def aware(value: datetime, *, what: str) -> datetime:
    """``value`` in UTC; a time without a zone is refused, as it means different instants to different people."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise Invalid(
            f"the {what} {value.isoformat()} has no time zone; give an offset, as in 2026-10-26T09:00:00+00:00"
        )
    return value.astimezone(UTC)


def display_title(booking: Booking | BookingSeries) -> str:
    """The title others may see."""
    return PRIVATE_TITLE if booking.private else booking.title


def format_span(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """``Mon 26 Oct 2026 09:00-10:00 (Europe/London)``, in the site's wall time."""
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    first = local_start.strftime("%a %d %b %Y %H:%M")
    if local_start.date() == local_end.date():
        last = local_end.strftime("%H:%M")
    else:
        last = " " + local_end.strftime("%a %d %b %Y %H:%M")
    return f"{first}-{last} ({zone.key})"


def format_moment(moment: datetime, zone: ZoneInfo) -> str:
    """``Mon 26 Oct 2026 09:00 (Europe/London)``."""
    return f"{moment.astimezone(zone):%a %d %b %Y %H:%M} ({zone.key})"


def _describe(booking: Booking, zone: ZoneInfo) -> str:
    return (
        f"{display_title(booking)!r} by {booking.organiser_name} <{booking.organiser_email}>, "
        f"{format_span(booking.starts_at, booking.ends_at, zone)}"
    )


def _status_sentence(booking: Booking) -> str:
    return {
        BookingStatus.CANCELLED.value: f"booking {booking.id} was cancelled",
        BookingStatus.RELEASED.value: f"booking {booking.id} was released because nobody came",
        BookingStatus.ENDED.value: f"booking {booking.id} has ended",
    }.get(booking.status, f"booking {booking.id} is {booking.status}")


def _title(value: str) -> str:
    title = " ".join(value.split())
    if not title:
        raise Invalid("give the booking a title")
    if len(title) > MAX_TITLE:
        raise Invalid(f"the title is {len(title)} characters long; at most {MAX_TITLE} fit")
    return title


def _organiser(organiser: Person) -> Person:
    email = normalise_email(organiser.email, what="organiser's email")
    name = " ".join(organiser.name.split())[:120] or email
    return Person(email=email, name=name)


def _attendees(values: Iterable[str]) -> list[str]:
    return sorted({normalise_email(value, what="attendee's email") for value in values})


def check_span(
    start: datetime, end: datetime, *, now: datetime, rules: BookingRules, zone: ZoneInfo, check_start: bool = True
) -> None:
    """Refuse an empty or backwards span, one longer than allowed, and (with ``check_start``) a start in the past."""
    if end <= start:
        raise Invalid(f"the booking must end after it starts ({format_moment(start, zone)})")
    if end - start > rules.max_duration:
        hours = (end - start) / timedelta(hours=1)
        limit = rules.max_duration / timedelta(hours=1)
        raise Invalid(f"a booking may last at most {limit:g} hours; this one lasts {hours:.1f} hours")
    if check_start and start < now - rules.start_grace:
        raise Invalid(f"the start, {format_moment(start, zone)}, is in the past")


def _check_capacity(room: Room, organiser_email: str, attendees: Sequence[str]) -> None:
    people = len({organiser_email, *attendees})
    if people > room.capacity:
        raise Invalid(
            f"{room.name} seats {room.capacity}; this booking has {people} people (the organiser and attendees)"
        )


def _lock_room(session: Session, room_id: str) -> None:
    """Serialise bookings of one room before looking for clashes: a row lock on PostgreSQL, the write lock on SQLite.

    SQLite refuses a writer that another writer overtook since it began reading; that one is told
    to try again rather than given a database error.
    """
    try:
        session.execute(
            sa.update(Room)
            .where(Room.id == room_id)
            .values(name=Room.name)
            .execution_options(synchronize_session=False)
        )
    except sa.exc.OperationalError as error:
        if str(getattr(error.orig, "sqlite_errorname", "")).startswith("SQLITE_BUSY"):
            raise Conflict("someone else is booking this room at this very moment; try again") from None
        raise


def clashes(
    session: Session, *, room_id: str, start: datetime, end: datetime, exclude: Iterable[int] = ()
) -> list[Booking]:
    """Bookings that hold ``room_id`` for some of [start, end), earliest first."""
    query = (
        sa.select(Booking)
        .where(
            Booking.room_id == room_id,
            Booking.status.in_(HOLDS_ROOM),
            Booking.starts_at < end,
            Booking.ends_at > start,
        )
        .order_by(Booking.starts_at)
    )
    excluded = list(exclude)
    if excluded:
        query = query.where(Booking.id.not_in(excluded))
    return list(session.scalars(query).unique())


def _refuse_clash(room: Room, found: Sequence[Booking], zone: ZoneInfo) -> None:
    if found:
        listed = "; ".join(_describe(booking, zone) for booking in found[:_CLASHES_LISTED])
        more = f" and {len(found) - _CLASHES_LISTED} more" if len(found) > _CLASHES_LISTED else ""
        raise Conflict(f"{room.name} is already booked then: {listed}{more}")


def get_booking(session: Session, booking_id: int) -> Booking:
    """One booking, or NotFound."""
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFound(f"there is no booking {booking_id}")
    return booking


HUB_ACTOR = "hub"
"""The audit log's actor for changes the hub makes by itself (no-show release, occupancy rules, series upkeep)."""


def _audit(
    session: Session, actor: str, action: str, booking: Booking | BookingSeries, now: datetime, **detail: object
) -> None:
    object_type = "booking" if isinstance(booking, Booking) else "booking_series"
    audit.record(
        session, actor=actor, action=action, object_type=object_type, object_id=booking.id, now=now,
        detail={"room_id": booking.room_id, **detail},
    )  # fmt: skip


def create_booking(
    session: Session,
    *,
    room_id: str,
    title: str,
    start: datetime,
    end: datetime,
    organiser: Person,
    attendees: Iterable[str] = (),
    private: bool = False,
    source: BookingSource = BookingSource.API,
    external_uid: str | None = None,
    now: datetime,
    rules: BookingRules = DEFAULT_RULES,
    actor: str = HUB_ACTOR,
) -> Booking:
    """Book a room for [start, end); refuses the past, impossible spans, full rooms and clashes, saying why."""
    now = aware(now, what="now")
    zone = site_zone(session)
    start, end = aware(start, what="start"), aware(end, what="end")
    title = _title(title)
    who = _organiser(organiser)
    invited = _attendees(attendees)
    room = bookable_room(session, room_id)
    check_span(start, end, now=now, rules=rules, zone=zone)
    _check_capacity(room, who.email, invited)
    _lock_room(session, room.id)
    _refuse_clash(room, clashes(session, room_id=room.id, start=start, end=end), zone)
    booking = _new_booking(
        room=room,
        title=title,
        organiser=who,
        attendees=invited,
        private=private,
        start=start,
        end=end,
        source=source,
        external_uid=external_uid,
        now=now,
    )
    session.add(booking)
    session.flush()
    _audit(session, actor, "booking.create", booking, now, starts_at=start.isoformat(), ends_at=end.isoformat())
    return booking


def _new_booking(
    *,
    room: Room,
    title: str,
    organiser: Person,
    attendees: list[str],
    private: bool,
    start: datetime,
    end: datetime,
    source: BookingSource | str,
    now: datetime,
    external_uid: str | None = None,
    series: BookingSeries | None = None,
    occurrence_start: datetime | None = None,
) -> Booking:
    booking = Booking(
        uid=uuid.uuid4().hex,
        room=room,
        room_id=room.id,
        title=title,
        private=private,
        organiser_email=organiser.email,
        organiser_name=organiser.name,
        starts_at=start,
        ends_at=end,
        status=BookingStatus.BOOKED.value,
        source=str(source),
        series=series,
        occurrence_start=occurrence_start,
        external_uid=external_uid,
        created_at=now,
        updated_at=now,
    )
    booking.attendees = attendees
    return booking


def update_booking(
    session: Session,
    *,
    booking_id: int,
    title: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    room_id: str | None = None,
    attendees: Iterable[str] | None = None,
    private: bool | None = None,
    now: datetime,
    rules: BookingRules = DEFAULT_RULES,
    actor: str = HUB_ACTOR,
) -> Booking:
    """Rename, move or re-invite; ``None`` keeps a field. A moved occurrence stays part of its series."""
    now = aware(now, what="now")
    zone = site_zone(session)
    booking = get_booking(session, booking_id)
    _must_hold_room(booking, now, zone, action="changed")
    new_start = aware(start, what="start") if start is not None else booking.starts_at
    new_end = aware(end, what="end") if end is not None else booking.ends_at
    new_room_id = room_id if room_id is not None else booking.room_id
    moved = new_start != booking.starts_at or new_room_id != booking.room_id
    if booking.status == BookingStatus.CHECKED_IN.value and moved:
        raise Conflict(f"booking {booking.id} is checked in; only its end, title and attendees can change")
    room = bookable_room(session, new_room_id) if new_room_id != booking.room_id else booking.room
    check_span(new_start, new_end, now=now, rules=rules, zone=zone, check_start=new_start != booking.starts_at)
    if new_end <= now:
        raise Invalid(f"the new end, {new_end.astimezone(zone):%H:%M} ({zone.key}), is in the past")
    invited = _attendees(attendees) if attendees is not None else booking.attendees
    _check_capacity(room, booking.organiser_email, invited)
    _lock_room(session, room.id)
    _refuse_clash(room, clashes(session, room_id=room.id, start=new_start, end=new_end, exclude=[booking.id]), zone)
    if title is not None:
        booking.title = _title(title)
    if private is not None:
        booking.private = private
    booking.room = room
    booking.room_id = room.id
    booking.starts_at, booking.ends_at = new_start, new_end
    booking.attendees = invited
    booking.updated_at = now
    session.flush()
    _audit(session, actor, "booking.update", booking, now, starts_at=new_start.isoformat(), ends_at=new_end.isoformat())
    return booking


def _must_hold_room(booking: Booking, now: datetime, zone: ZoneInfo, *, action: str) -> None:
    if not booking.holds_room:
        raise Conflict(f"{_status_sentence(booking)}; it can no longer be {action}")
    if booking.ends_at <= now:
        raise Conflict(
            f"booking {booking.id} ended at {booking.ends_at.astimezone(zone):%H:%M} ({zone.key}); "
            f"it can no longer be {action}"
        )


def cancel_booking(
    session: Session, *, booking_id: int, and_following: bool = False, now: datetime, actor: str = HUB_ACTOR
) -> Booking:
    """Cancel a booking that has not ended; an occurrence of a series becomes an exception date (EXDATE).

    With ``and_following``, the series' later meetings are cancelled too (the series ends here).
    """
    now = aware(now, what="now")
    zone = site_zone(session)
    booking = get_booking(session, booking_id)
    if and_following and booking.series is None:
        raise Invalid(f"booking {booking.id} is not part of a series, so it has no following meetings")
    if booking.status == BookingStatus.CANCELLED.value and not and_following:
        return booking
    if booking.status != BookingStatus.CANCELLED.value:
        _must_hold_room(booking, now, zone, action="cancelled")
        if booking.status == BookingStatus.CHECKED_IN.value and booking.starts_at <= now:
            raise Conflict(f"booking {booking.id} is under way; end it early instead of cancelling it")
        _cancel(booking, now)
    series = booking.series
    if series is not None and booking.occurrence_start is not None:
        _add_exdate(series, booking.occurrence_start, now)
        if and_following:
            _cancel_series_from(session, series, booking.occurrence_start, now=now, reason="cancelled by the organiser")
    session.flush()
    _audit(session, actor, "booking.cancel", booking, now, following=and_following)
    return booking


def _cancel(booking: Booking, now: datetime) -> None:
    booking.status = BookingStatus.CANCELLED.value
    booking.ended_at = now
    booking.updated_at = now


def extend_booking(
    session: Session,
    *,
    booking_id: int,
    minutes: int,
    now: datetime,
    rules: BookingRules = DEFAULT_RULES,
    actor: str = HUB_ACTOR,
) -> Booking:
    """Make a booking that has not ended last ``minutes`` longer, if the room is free then."""
    now = aware(now, what="now")
    zone = site_zone(session)
    if minutes < 1:
        raise Invalid(f"extend by a positive number of minutes, not {minutes}")
    booking = get_booking(session, booking_id)
    _must_hold_room(booking, now, zone, action="extended")
    new_end = booking.ends_at + timedelta(minutes=minutes)
    check_span(booking.starts_at, new_end, now=now, rules=rules, zone=zone, check_start=False)
    _lock_room(session, booking.room_id)
    found = clashes(session, room_id=booking.room_id, start=booking.ends_at, end=new_end, exclude=[booking.id])
    _refuse_clash(booking.room, found, zone)
    booking.ends_at = new_end
    booking.updated_at = now
    session.flush()
    _audit(session, actor, "booking.extend", booking, now, minutes=minutes)
    return booking


def end_booking(session: Session, *, booking_id: int, now: datetime, actor: str = HUB_ACTOR) -> Booking:
    """End a meeting under way now, which frees the room from ``now`` on."""
    now = aware(now, what="now")
    zone = site_zone(session)
    booking = get_booking(session, booking_id)
    _must_hold_room(booking, now, zone, action="ended")
    if booking.starts_at >= now:
        raise Conflict(f"booking {booking.id} has not started yet; cancel it instead")
    booking.status = BookingStatus.ENDED.value
    booking.ended_at = now
    booking.ends_at = now
    booking.updated_at = now
    session.flush()
    _audit(session, actor, "booking.end", booking, now)
    return booking


def check_in(
    session: Session, *, booking_id: int, now: datetime, rules: BookingRules = DEFAULT_RULES, actor: str = HUB_ACTOR
) -> Booking:
    """Record that the meeting's people arrived; allowed from shortly before the start until the end."""
    now = aware(now, what="now")
    zone = site_zone(session)
    booking = get_booking(session, booking_id)
    if booking.status == BookingStatus.CHECKED_IN.value:
        return booking
    _must_hold_room(booking, now, zone, action="checked in")
    opens = booking.starts_at - rules.check_in_before
    if now < opens:
        minutes = rules.check_in_before / timedelta(minutes=1)
        raise Conflict(
            f"check-in for booking {booking.id} opens at {opens.astimezone(zone):%H:%M} ({zone.key}), "
            f"{minutes:g} minutes before it starts"
        )
    booking.status = BookingStatus.CHECKED_IN.value
    booking.checked_in_at = now
    booking.updated_at = now
    if booking.series is not None:
        booking.series.no_show_strikes = 0
        booking.series.updated_at = now
    session.flush()
    _audit(session, actor, "booking.check_in", booking, now)
    return booking


def release_booking(
    session: Session, *, booking_id: int, now: datetime, rules: BookingRules = DEFAULT_RULES
) -> Release:
    """Give back the room of a booking nobody came to (a no-show), and count a strike against its series.

    When to release is the occupancy rules' decision; this is what releasing does. After
    ``rules.no_show_strikes`` no-shows in a row, the series' future occurrences are cancelled.
    """
    now = aware(now, what="now")
    zone = site_zone(session)
    booking = get_booking(session, booking_id)
    if booking.status == BookingStatus.CHECKED_IN.value:
        raise Conflict(f"booking {booking.id} is checked in; it is not a no-show")
    _must_hold_room(booking, now, zone, action="released")
    if booking.starts_at > now:
        raise Conflict(f"booking {booking.id} has not started yet; only a meeting nobody came to is released")
    booking.status = BookingStatus.RELEASED.value
    booking.ended_at = now
    booking.updated_at = now
    _audit(session, HUB_ACTOR, "booking.release", booking, now)
    series = booking.series
    if series is None:
        session.flush()
        return Release(booking=booking, strikes=0, series_cancelled=False)
    series.no_show_strikes += 1
    series.updated_at = now
    cancelled: list[Booking] = []
    struck_out = series.no_show_strikes >= rules.no_show_strikes
    if struck_out:
        reason = f"nobody came to {series.no_show_strikes} occurrences in a row"
        cancelled = _cancel_series_from(session, series, now, now=now, reason=reason)
    session.flush()
    return Release(booking=booking, strikes=series.no_show_strikes, series_cancelled=struck_out, cancelled=cancelled)


def _in_range(query: sa.Select[Booking], start: datetime, end: datetime, include_cancelled: bool) -> sa.Select[Booking]:
    start, end = aware(start, what="range start"), aware(end, what="range end")
    if end <= start:
        raise Invalid("the range must end after it starts")
    query = query.where(Booking.starts_at < end, Booking.ends_at > start).order_by(Booking.starts_at, Booking.id)
    if not include_cancelled:
        query = query.where(Booking.status != BookingStatus.CANCELLED.value)
    return query


def list_room_bookings(
    session: Session, *, room_id: str, start: datetime, end: datetime, include_cancelled: bool = False
) -> list[Booking]:
    """A room's bookings overlapping [start, end), earliest first."""
    get_room(session, room_id)
    query = _in_range(sa.select(Booking).where(Booking.room_id == room_id), start, end, include_cancelled)
    return list(session.scalars(query).unique())


def list_person_bookings(
    session: Session, *, email: str, start: datetime, end: datetime, include_cancelled: bool = False
) -> list[Booking]:
    """Bookings a person organises or is invited to, overlapping [start, end), earliest first."""
    person = normalise_email(email)
    invited = sa.select(BookingAttendee.booking_id).where(BookingAttendee.email == person)
    query = sa.select(Booking).where(sa.or_(Booking.organiser_email == person, Booking.id.in_(invited)))
    return list(session.scalars(_in_range(query, start, end, include_cancelled)).unique())


def room_agenda(session: Session, *, room_id: str, now: datetime) -> RoomAgenda:
    """The booking holding the room at ``now`` and the next one after it (for the door display)."""
    now = aware(now, what="now")
    room = get_room(session, room_id)
    holding = sa.select(Booking).where(Booking.room_id == room.id, Booking.status.in_(HOLDS_ROOM))
    current = session.scalars(
        holding.where(Booking.starts_at <= now, Booking.ends_at > now).order_by(Booking.starts_at).limit(1)
    ).first()
    after = current.ends_at if current is not None else now
    upcoming = session.scalars(holding.where(Booking.starts_at >= after).order_by(Booking.starts_at).limit(1)).first()
    return RoomAgenda(room=room, current=current, next=upcoming)


def get_series(session: Session, series_id: int) -> BookingSeries:
    """One series, or NotFound."""
    series = session.get(BookingSeries, series_id)
    if series is None:
        raise NotFound(f"there is no booking series {series_id}")
    return series


def series_occurrences(session: Session, *, series_id: int, include_cancelled: bool = True) -> list[Booking]:
    """The booked occurrences of a series, earliest first."""
    query = sa.select(Booking).where(Booking.series_id == series_id).order_by(Booking.starts_at, Booking.id)
    if not include_cancelled:
        query = query.where(Booking.status != BookingStatus.CANCELLED.value)
    return list(session.scalars(query).unique())


def series_zone(series: BookingSeries) -> ZoneInfo:
    return ZoneInfo(series.timezone)


def _series_rule(series: BookingSeries) -> Rule:
    return parse_rule(series.rrule, zone=series_zone(series))


def create_series(
    session: Session,
    *,
    room_id: str,
    title: str,
    start: datetime,
    end: datetime,
    rrule: str,
    organiser: Person,
    attendees: Iterable[str] = (),
    private: bool = False,
    source: BookingSource = BookingSource.API,
    exdates: Iterable[datetime] = (),
    zone: ZoneInfo | None = None,
    external_uid: str | None = None,
    allow_past_start: bool = False,
    now: datetime,
    rules: BookingRules = DEFAULT_RULES,
    actor: str = HUB_ACTOR,
) -> BookingSeries:
    """Book a room by an RRULE whose first meeting is [start, end), kept in ``zone``'s (the site's) wall time.

    Occurrences up to ``rules.horizon`` ahead are booked now (the rest as the horizon moves, see
    :func:`materialise_series`). A clash on any of them refuses the whole series, listing the dates.
    ``allow_past_start`` (imports) books only the occurrences still to come.
    """
    now = aware(now, what="now")
    zone = zone or site_zone(session)
    start, end = aware(start, what="start"), aware(end, what="end")
    title = _title(title)
    who = _organiser(organiser)
    invited = _attendees(attendees)
    room = bookable_room(session, room_id)
    check_span(start, end, now=now, rules=rules, zone=zone, check_start=not allow_past_start)
    _check_capacity(room, who.email, invited)
    rule = parse_rule(rrule, zone=zone)
    excluded = {aware(day, what="exception date") for day in exdates}
    duration = end - start
    horizon = now + rules.horizon
    starts = [
        s
        for s in occurrences(
            rule,
            first_start=start,
            zone=zone,
            before=horizon,
            after=now - rules.start_grace,
            limit=rules.max_occurrences,
        )
        if s not in excluded
    ]
    if not starts and not allow_past_start:
        raise Invalid(
            f"the rule {rrule!r} gives no meeting from {format_moment(start, zone)} "
            f"in the next {rules.horizon.days} days"
        )
    _refuse_overlapping_occurrences(starts, duration)
    _lock_room(session, room.id)
    _refuse_series_clashes(session, room, starts, duration, zone)
    series = BookingSeries(
        room=room,
        room_id=room.id,
        title=title,
        private=private,
        organiser_email=who.email,
        organiser_name=who.name,
        attendees=invited,
        rrule=rule.text,
        timezone=zone.key,
        first_start=start,
        duration_seconds=int(duration.total_seconds()),
        exdates=sorted(exdate_text(day) for day in excluded),
        no_show_strikes=0,
        materialised_until=horizon,
        source=str(source),
        external_uid=external_uid,
        created_at=now,
        updated_at=now,
    )
    session.add(series)
    for occurrence in starts:
        session.add(_occurrence(series, room, occurrence, now))
    session.flush()
    _audit(session, actor, "series.create", series, now, rrule=rule.text, first_start=start.isoformat())
    return series


def _occurrence(series: BookingSeries, room: Room, start: datetime, now: datetime) -> Booking:
    return _new_booking(
        room=room,
        title=series.title,
        organiser=Person(series.organiser_email, series.organiser_name),
        attendees=list(series.attendees),
        private=series.private,
        start=start,
        end=start + timedelta(seconds=series.duration_seconds),
        source=series.source,
        now=now,
        external_uid=series.external_uid,
        series=series,
        occurrence_start=start,
    )


def _refuse_overlapping_occurrences(starts: Sequence[datetime], duration: timedelta) -> None:
    for earlier, later in itertools.pairwise(starts):
        if later < earlier + duration:
            raise Invalid("the series' meetings would overlap each other; make them shorter or further apart")


def _refuse_series_clashes(
    session: Session, room: Room, starts: Sequence[datetime], duration: timedelta, zone: ZoneInfo
) -> None:
    if not starts:
        return
    taken = clashes(session, room_id=room.id, start=starts[0], end=starts[-1] + duration)
    found: list[str] = []
    for start in starts:
        end = start + duration
        hits = [b for b in taken if b.starts_at < end and b.ends_at > start]
        if hits:
            hit = hits[0]
            found.append(
                f"{start.astimezone(zone):%a %d %b %Y} ({display_title(hit)!r} by {hit.organiser_name} "
                f"<{hit.organiser_email}>, {hit.starts_at.astimezone(zone):%H:%M}-{hit.ends_at.astimezone(zone):%H:%M})"
            )
    if found:
        listed = "; ".join(found[:_CLASHES_LISTED])
        more = f" and {len(found) - _CLASHES_LISTED} more" if len(found) > _CLASHES_LISTED else ""
        raise Conflict(
            f"{room.name} is already booked on {len(found)} of the series' dates: {listed}{more} (times in {zone.key})"
        )


def _add_exdate(series: BookingSeries, occurrence_start: datetime, now: datetime) -> None:
    text = exdate_text(occurrence_start)
    if text not in series.exdates:
        series.exdates = sorted([*series.exdates, text])
        series.updated_at = now


def _find_occurrence(session: Session, series: BookingSeries, occurrence_start: datetime) -> Booking | None:
    return session.scalars(
        sa.select(Booking).where(Booking.series_id == series.id, Booking.occurrence_start == occurrence_start)
    ).first()


def _check_is_occurrence(series: BookingSeries, occurrence_start: datetime) -> None:
    zone = series_zone(series)
    if occurrence_start in parse_exdates(series.exdates) or not is_occurrence(
        _series_rule(series), first_start=series.first_start, zone=zone, candidate=occurrence_start
    ):
        raise NotFound(f"booking series {series.id} has no meeting starting {format_moment(occurrence_start, zone)}")
    if series.cancelled_from is not None and occurrence_start >= series.cancelled_from:
        raise Conflict(f"booking series {series.id} was cancelled from that date on")


def cancel_occurrence(
    session: Session, *, series_id: int, occurrence_start: datetime, now: datetime, actor: str = HUB_ACTOR
) -> BookingSeries:
    """Take one meeting out of a series (an EXDATE), whether or not it is booked yet."""
    now = aware(now, what="now")
    series = get_series(session, series_id)
    occurrence_start = aware(occurrence_start, what="occurrence start")
    booking = _find_occurrence(session, series, occurrence_start)
    if booking is not None:
        cancel_booking(session, booking_id=booking.id, now=now, actor=actor)
        return series
    _check_is_occurrence(series, occurrence_start)
    if occurrence_start < now:
        raise Conflict("that meeting of the series is in the past")
    _add_exdate(series, occurrence_start, now)
    session.flush()
    _audit(session, actor, "series.cancel_occurrence", series, now, occurrence_start=occurrence_start.isoformat())
    return series


def move_occurrence(
    session: Session,
    *,
    series_id: int,
    occurrence_start: datetime,
    start: datetime,
    end: datetime,
    now: datetime,
    rules: BookingRules = DEFAULT_RULES,
    actor: str = HUB_ACTOR,
) -> Booking:
    """Move one meeting of a series to [start, end); it stays that occurrence (its RECURRENCE-ID)."""
    now = aware(now, what="now")
    series = get_series(session, series_id)
    occurrence_start = aware(occurrence_start, what="occurrence start")
    booking = _find_occurrence(session, series, occurrence_start)
    if booking is None:
        _check_is_occurrence(series, occurrence_start)
        zone = site_zone(session)
        start, end = aware(start, what="start"), aware(end, what="end")
        check_span(start, end, now=now, rules=rules, zone=zone)
        _lock_room(session, series.room_id)
        _refuse_clash(series.room, clashes(session, room_id=series.room_id, start=start, end=end), zone)
        booking = _occurrence(series, series.room, occurrence_start, now)
        booking.starts_at, booking.ends_at = start, end
        session.add(booking)
        session.flush()
        _audit(session, actor, "booking.create", booking, now, starts_at=start.isoformat(), ends_at=end.isoformat())
        return booking
    return update_booking(session, booking_id=booking.id, start=start, end=end, now=now, rules=rules, actor=actor)


def cancel_series(
    session: Session,
    *,
    series_id: int,
    now: datetime,
    from_start: datetime | None = None,
    reason: str | None = None,
    actor: str = HUB_ACTOR,
) -> list[Booking]:
    """Cancel a series' meetings from ``from_start`` (default: now) on; meetings under way or past stay."""
    now = aware(now, what="now")
    series = get_series(session, series_id)
    start = max(aware(from_start, what="from") if from_start is not None else now, now)
    cancelled = _cancel_series_from(session, series, start, now=now, reason=reason or "cancelled by the organiser")
    session.flush()
    _audit(session, actor, "series.cancel", series, now, from_start=start.isoformat(), meetings=len(cancelled))
    return cancelled


def _cancel_series_from(
    session: Session, series: BookingSeries, start: datetime, *, now: datetime, reason: str
) -> list[Booking]:
    query = sa.select(Booking).where(
        Booking.series_id == series.id,
        Booking.status.in_(HOLDS_ROOM),
        Booking.starts_at > now,
        sa.func.coalesce(Booking.occurrence_start, Booking.starts_at) >= start,
    )
    cancelled = list(session.scalars(query.order_by(Booking.starts_at)).unique())
    for booking in cancelled:
        _cancel(booking, now)
    if series.cancelled_from is None or start < series.cancelled_from:
        series.cancelled_from = start
        series.cancel_reason = reason[:200]
    series.updated_at = now
    return cancelled


def materialise_series(
    session: Session, *, now: datetime, rules: BookingRules = DEFAULT_RULES
) -> list[SkippedOccurrence]:
    """Book the occurrences that came within the horizon since each series was last extended (a timed job).

    An occurrence whose slot someone else took meanwhile is skipped (recorded as an exception date)
    and returned, so that its organiser can be told.
    """
    now = aware(now, what="now")
    horizon = now + rules.horizon
    due = session.scalars(
        sa.select(BookingSeries)
        .where(
            BookingSeries.materialised_until < horizon,
            sa.or_(
                BookingSeries.cancelled_from.is_(None), BookingSeries.cancelled_from > BookingSeries.materialised_until
            ),
        )
        .order_by(BookingSeries.id)
    ).unique()
    skipped: list[SkippedOccurrence] = []
    for series in list(due):
        zone = series_zone(series)
        until = horizon if series.cancelled_from is None else min(horizon, series.cancelled_from)
        excluded = parse_exdates(series.exdates)
        duration = timedelta(seconds=series.duration_seconds)
        starts = occurrences(
            _series_rule(series),
            first_start=series.first_start,
            zone=zone,
            before=until,
            after=max(series.materialised_until, now),
            limit=rules.max_occurrences,
        )
        _lock_room(session, series.room_id)
        for start in starts:
            if start in excluded or _find_occurrence(session, series, start) is not None:
                continue
            taken = clashes(session, room_id=series.room_id, start=start, end=start + duration)
            if taken:
                _add_exdate(series, start, now)
                skipped.append(SkippedOccurrence(series_id=series.id, start=start, clash=taken[0]))
                continue
            session.add(_occurrence(series, series.room, start, now))
            session.flush()
        series.materialised_until = horizon
        series.updated_at = now
    session.flush()
    return skipped
