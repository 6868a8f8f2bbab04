"""iCalendar (RFC 5545): a room's or a person's bookings as a feed, and a calendar file imported into a room.

The feed lists every booking as its own VEVENT in UTC (a series as its expanded occurrences), so
any calendar client shows exactly what the hub holds. An import books each event in one go: the
first event that cannot be booked refuses the whole file, naming the event and the reason, and
the caller's transaction rolls everything back.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from icalendar.enums import CLASS, STATUS
from sqlalchemy.orm import Session

from hub.errors import AtriumError, Invalid
from hub.services import bookings
from hub.services.bookings import DEFAULT_RULES, BookingRules, Person, display_title, site_zone
from hub.store.booking_models import Booking, BookingSeries, BookingSource, BookingStatus

PRODID = "-//Atrium//Atrium hub//EN"
UID_DOMAIN = "atrium"
STATUSES = {
    BookingStatus.BOOKED.value: STATUS.CONFIRMED,
    BookingStatus.CHECKED_IN.value: STATUS.CONFIRMED,
    BookingStatus.ENDED.value: STATUS.CONFIRMED,
    BookingStatus.CANCELLED.value: STATUS.CANCELLED,
    BookingStatus.RELEASED.value: STATUS.CANCELLED,
}
"""Released (no-show) bookings are cancelled for calendars: the room is no longer held."""
_NOT_PEOPLE = {"ROOM", "RESOURCE"}
_UNTITLED = "Meeting"
_NO_ORGANIZER = "{label} has no ORGANIZER; give an organiser for events without one"


def event_uid(booking: Booking) -> str:
    """The booking's stable iCalendar UID."""
    return f"{booking.uid}@{UID_DOMAIN}"


def bookings_calendar(bookings_: Iterable[Booking], *, name: str, feed_id: str, zone: ZoneInfo, now: datetime) -> bytes:
    """A VCALENDAR of these bookings; private ones show as 'Private meeting' without their attendees."""
    calendar = icalendar.Calendar.new(
        prodid=PRODID, name=name, uid=f"{feed_id}@{UID_DOMAIN}", method="PUBLISH", calscale="GREGORIAN"
    )
    calendar.add("X-WR-TIMEZONE", zone.key)
    for booking in bookings_:
        calendar.add_component(_event(booking, now))
    feed: bytes = calendar.to_ical()
    return feed


def _event(booking: Booking, now: datetime) -> icalendar.Event:
    event = icalendar.Event.new(
        uid=event_uid(booking),
        stamp=now.astimezone(UTC),
        start=booking.starts_at.astimezone(UTC),
        end=booking.ends_at.astimezone(UTC),
        summary=display_title(booking),
        location=booking.room.name,
        organizer=icalendar.vCalAddress.new(booking.organiser_email, cn=booking.organiser_name),
        attendees=[]
        if booking.private
        else [icalendar.vCalAddress.new(email, cutype="INDIVIDUAL") for email in booking.attendees],
        status=STATUSES[booking.status],
        classification=CLASS.PRIVATE if booking.private else CLASS.PUBLIC,
        created=booking.created_at.astimezone(UTC),
        last_modified=booking.updated_at.astimezone(UTC),
    )
    event.add("X-ATRIUM-STATUS", booking.status)
    return event


FEED_HISTORY = timedelta(days=30)
"""How far back a feed reaches when the caller names no start."""


def feed_range(
    start: datetime | None, end: datetime | None, *, now: datetime, horizon: timedelta
) -> tuple[datetime, datetime]:
    """A feed's span: what the caller asked, else from a month ago to the booking horizon."""
    return start or now - FEED_HISTORY, end or now + horizon


def room_calendar(session: Session, *, room_id: str, start: datetime, end: datetime, now: datetime) -> bytes:
    """A room's bookings overlapping [start, end), cancelled ones included so that subscribers drop them."""
    room = bookings.get_room(session, room_id)
    found = bookings.list_room_bookings(session, room_id=room.id, start=start, end=end, include_cancelled=True)
    return bookings_calendar(found, name=room.name, feed_id=f"room-{room.id}", zone=site_zone(session), now=now)


def person_calendar(session: Session, *, email: str, start: datetime, end: datetime, now: datetime) -> bytes:
    """The bookings a person organises or is invited to, overlapping [start, end)."""
    found = bookings.list_person_bookings(session, email=email, start=start, end=end, include_cancelled=True)
    person = bookings.normalise_email(email)
    return bookings_calendar(found, name=person, feed_id=f"person-{person}", zone=site_zone(session), now=now)


@dataclass(frozen=True)
class ImportReport:
    """What an import booked, and the events it left out on purpose (with why)."""

    created: list[Booking] = field(default_factory=list)
    """One-off bookings, and the occurrences of the series below."""
    series: list[BookingSeries] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Parsed:
    label: str
    uid: str
    title: str
    start: datetime
    end: datetime
    organiser: Person | None
    """None only for a change to one meeting of a series (the series has its organiser)."""
    attendees: list[str]
    private: bool
    cancelled: bool
    rrule: str | None
    exdates: list[datetime]
    recurrence_id: datetime | None
    zone: ZoneInfo


class _Skip(Exception):
    """An event that is not a booking (an all-day event, one already over): left out, not an error."""


def import_calendar(
    session: Session,
    *,
    room_id: str,
    data: bytes | str,
    now: datetime,
    organiser: Person | None = None,
    rules: BookingRules = DEFAULT_RULES,
) -> ImportReport:
    """Book every event of an iCalendar file into ``room_id``; any event that cannot be booked refuses the file.

    The bookings are made in a SAVEPOINT, so a refused file leaves nothing behind even if the
    caller goes on to commit other work.

    ``organiser`` stands in for events without an ORGANIZER. Events already over, all-day events and
    cancelled ones are skipped and reported. Recurring events (RRULE, EXDATE) become series, and
    their RECURRENCE-ID overrides move or cancel single occurrences.
    """
    site = site_zone(session)
    bookings.bookable_room(session, room_id)
    report = ImportReport()
    masters: list[_Parsed] = []
    overrides: dict[str, list[_Parsed]] = defaultdict(list)
    for number, event in enumerate(_events(data), start=1):
        try:
            parsed = _parse(event, number, site=site, fallback=organiser)
        except _Skip as skip:
            report.skipped.append(str(skip))
            continue
        if parsed.recurrence_id is not None:
            overrides[parsed.uid].append(parsed)
        else:
            masters.append(parsed)
    master_uids = {parsed.uid for parsed in masters if parsed.rrule}
    for uid, moved in overrides.items():
        if uid not in master_uids:
            masters.extend(moved)
    with session.begin_nested():
        for parsed in masters:
            with _about(parsed.label):
                _book(session, parsed, overrides.get(parsed.uid, []), room_id, report, now=now, rules=rules)
    return report


def _events(data: bytes | str) -> list[icalendar.Event]:
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as error:
        raise Invalid(f"the calendar file is not UTF-8 text (byte {error.start})") from None
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except ValueError as error:
        raise Invalid(f"the calendar file is not valid iCalendar: {_first_line(error)}") from None
    if calendar.name != "VCALENDAR":
        raise Invalid(f"the calendar file holds a {calendar.name}, not a VCALENDAR")
    events = [event for event in calendar.walk("VEVENT") if isinstance(event, icalendar.Event)]
    if not events:
        raise Invalid("the calendar file has no events (VEVENT)")
    return events


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:300]


def _parse(event: icalendar.Event, number: int, *, site: ZoneInfo, fallback: Person | None) -> _Parsed:
    uid = str(event.get("UID", "")).strip()
    summary = str(event.get("SUMMARY", "")).strip()
    label = f"event {number}" + (f" ({summary!r})" if summary else "") + (f" UID {uid}" if uid else "")
    if event.errors:
        name, problem = event.errors[0]
        raise Invalid(f"{label}: its {name} is not valid: {_first_line(Exception(problem))}")
    if "DTSTART" not in event:
        raise Invalid(f"{label} has no DTSTART")
    raw_start = event.DTSTART
    if not isinstance(raw_start, datetime):
        raise _Skip(f"{label}: an all-day event does not book a room")
    if "DTEND" not in event and "DURATION" not in event:
        raise Invalid(f"{label} has neither DTEND nor DURATION, so its end is unknown")
    try:
        raw_end = event.end
    except (ValueError, icalendar.error.InvalidCalendar, icalendar.error.IncompleteComponent) as error:
        raise Invalid(f"{label}: its end is not valid: {_first_line(error)}") from None
    if not isinstance(raw_end, datetime):
        raise Invalid(f"{label} starts at a time but ends on a date")
    rules = event.rrules
    if len(rules) > 1:
        raise Invalid(f"{label} has {len(rules)} RRULEs; one is supported")
    if event.rdates:
        raise Invalid(f"{label} has RDATE, which is not supported; list those meetings as events of their own")
    zone = _zone_of(raw_start, site)
    recurrence_id = event.RECURRENCE_ID
    if recurrence_id is not None and not isinstance(recurrence_id, datetime):
        raise Invalid(f"{label}: its RECURRENCE-ID is a date, but the event starts at a time")
    return _Parsed(
        label=label,
        uid=uid,
        title=" ".join(summary.split())[: bookings.MAX_TITLE] or _UNTITLED,
        start=_in_zone(raw_start, site),
        end=_in_zone(raw_end, site),
        organiser=_organiser(event, label, fallback, required=recurrence_id is None),
        attendees=_attendees(event, label),
        private=event.classification in (CLASS.PRIVATE, CLASS.CONFIDENTIAL),
        cancelled=event.status == STATUS.CANCELLED,
        rrule=rules[0].to_ical().decode() if rules else None,
        exdates=[_in_zone(d, site) for d in event.exdates if isinstance(d, datetime)],
        recurrence_id=_in_zone(recurrence_id, site) if recurrence_id is not None else None,
        zone=zone,
    )


def _in_zone(moment: datetime, site: ZoneInfo) -> datetime:
    """A floating (zoneless) time is the site's wall time."""
    return moment.replace(tzinfo=site) if moment.tzinfo is None else moment


def _zone_of(start: datetime, site: ZoneInfo) -> ZoneInfo:
    """The zone whose wall time a recurring event keeps: its own when it is an IANA zone (or UTC), else the site's."""
    if isinstance(start.tzinfo, ZoneInfo):
        return start.tzinfo
    if start.tzinfo is not None and start.utcoffset() == timedelta(0) and start.tzname() in ("UTC", "Z"):
        return ZoneInfo("UTC")
    return site


def _organiser(event: icalendar.Event, label: str, fallback: Person | None, *, required: bool) -> Person | None:
    address = event.organizer
    if address is None:
        if fallback is None and required:
            raise Invalid(_NO_ORGANIZER.format(label=label))
        return fallback
    name = address.params.get("CN", "")
    try:
        return Person(email=bookings.normalise_email(address.email, what="ORGANIZER"), name=str(name))
    except Invalid as error:
        raise Invalid(f"{label}: {error}") from None


def _attendees(event: icalendar.Event, label: str) -> list[str]:
    people: list[str] = []
    for address in event.attendees:
        if str(address.params.get("CUTYPE", "INDIVIDUAL")).upper() in _NOT_PEOPLE:
            continue
        try:
            people.append(bookings.normalise_email(address.email, what="ATTENDEE"))
        except Invalid as error:
            raise Invalid(f"{label}: {error}") from None
    return people


@contextmanager
def _about(label: str) -> Iterator[None]:
    """Prefix any refusal raised inside with the event it is about."""
    try:
        yield
    except AtriumError as error:
        if str(error).startswith(label):
            raise
        raise type(error)(f"{label}: {error}") from None


def _book(
    session: Session,
    parsed: _Parsed,
    overrides: list[_Parsed],
    room_id: str,
    report: ImportReport,
    *,
    now: datetime,
    rules: BookingRules,
) -> None:
    if parsed.cancelled:
        report.skipped.append(f"{parsed.label}: it is cancelled")
        return
    if parsed.organiser is None:
        raise Invalid(_NO_ORGANIZER.format(label=parsed.label))
    if parsed.rrule is None:
        if parsed.start < now - rules.start_grace:
            report.skipped.append(f"{parsed.label}: it started before now")
            return
        booking = bookings.create_booking(
            session,
            room_id=room_id,
            title=parsed.title,
            start=parsed.start,
            end=parsed.end,
            organiser=parsed.organiser,
            attendees=parsed.attendees,
            private=parsed.private,
            source=BookingSource.ICS,
            external_uid=parsed.uid or None,
            now=now,
            rules=rules,
        )
        report.created.append(booking)
        return
    series = bookings.create_series(
        session,
        room_id=room_id,
        title=parsed.title,
        start=parsed.start,
        end=parsed.end,
        rrule=parsed.rrule,
        organiser=parsed.organiser,
        attendees=parsed.attendees,
        private=parsed.private,
        source=BookingSource.ICS,
        exdates=parsed.exdates,
        zone=parsed.zone,
        external_uid=parsed.uid or None,
        allow_past_start=True,
        now=now,
        rules=rules,
    )
    for override in overrides:
        _apply_override(session, series, override, report, now=now, rules=rules)
    occurrences = bookings.series_occurrences(session, series_id=series.id, include_cancelled=False)
    if not occurrences:
        report.skipped.append(f"{parsed.label}: none of its meetings falls in the next {rules.horizon.days} days")
    report.series.append(series)
    report.created.extend(occurrences)


def _apply_override(
    session: Session,
    series: BookingSeries,
    override: _Parsed,
    report: ImportReport,
    *,
    now: datetime,
    rules: BookingRules,
) -> None:
    assert override.recurrence_id is not None
    if override.recurrence_id < now or (override.start < now and not override.cancelled):
        report.skipped.append(f"{override.label}: this change to one meeting is in the past")
        return
    with _about(override.label):
        if override.cancelled:
            bookings.cancel_occurrence(session, series_id=series.id, occurrence_start=override.recurrence_id, now=now)
        else:
            bookings.move_occurrence(
                session,
                series_id=series.id,
                occurrence_start=override.recurrence_id,
                start=override.start,
                end=override.end,
                now=now,
                rules=rules,
            )
