"""iCalendar feeds and imports over a real database: round trips, recurrence, and all-or-nothing refusals."""

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import sqlalchemy as sa

from hub.errors import Conflict, Invalid
from hub.runtime import Database
from hub.services import bookings, calendars
from hub.services.bookings import Person
from hub.store.booking_models import Booking, BookingSeries
from tests.hub.booking_helpers import ANN, BOB, LONDON, book, local

NOW = local(2026, 10, 12, 8)
WINDOW = (local(2026, 10, 1), local(2027, 1, 1))


def ics(*events: str) -> str:
    """A calendar file of these VEVENT bodies (one property per line)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//EN"]
    for event in events:
        lines += ["BEGIN:VEVENT", *event.strip().splitlines(), "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(line.strip() for line in lines) + "\r\n"


def _count(database: Database, model: type[Booking] | type[BookingSeries]) -> int:
    with database.sessions() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def _events(feed: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(feed)
    return {str(event["SUMMARY"]): event for event in calendar.walk("VEVENT") if isinstance(event, icalendar.Event)}


def test_a_room_feed_lists_its_bookings_in_utc_with_stable_uids(site_database: Database) -> None:
    with site_database.sessions.begin() as session:
        book(session, local(2026, 10, 12, 9), local(2026, 10, 12, 10), now=NOW, attendees=[BOB.email], title="Open")
        book(session, local(2026, 10, 12, 11), local(2026, 10, 12, 12), now=NOW, title="Secret", private=True,
             attendees=[BOB.email])  # fmt: skip
        gone = book(session, local(2026, 10, 12, 14), local(2026, 10, 12, 15), now=NOW, title="Gone")
        bookings.cancel_booking(session, booking_id=gone.id, now=NOW)
        book(session, local(2026, 10, 12, 9), local(2026, 10, 12, 10), now=NOW, room_id="boreal", title="Elsewhere")
    with site_database.sessions() as session:
        feed = calendars.room_calendar(session, room_id="atlas", start=WINDOW[0], end=WINDOW[1], now=NOW)
        again = calendars.room_calendar(session, room_id="atlas", start=WINDOW[0], end=WINDOW[1], now=NOW)
    assert b"DTSTART:20261012T080000Z" in feed
    events = _events(feed)
    assert set(events) == {"Open", "Private meeting", "Gone"}
    assert {str(e["UID"]) for e in events.values()} == {str(e["UID"]) for e in _events(again).values()}
    assert all(str(e["UID"]).endswith("@atrium") for e in events.values())
    opened = events["Open"]
    assert opened.start == datetime(2026, 10, 12, 8, tzinfo=UTC)
    assert opened.end == datetime(2026, 10, 12, 9, tzinfo=UTC)
    assert [a.email for a in opened.attendees] == [BOB.email]
    assert opened.organizer is not None and opened.organizer.email == ANN.email
    assert opened.organizer.params["CN"] == ANN.name
    assert str(opened["LOCATION"]) == "Atlas"
    assert str(opened["STATUS"]) == "CONFIRMED"
    secret = events["Private meeting"]
    assert secret.attendees == []
    assert str(secret["CLASS"]) == "PRIVATE"
    assert str(events["Gone"]["STATUS"]) == "CANCELLED"


def test_a_person_feed_has_what_they_organise_and_what_they_are_invited_to(site_database: Database) -> None:
    with site_database.sessions.begin() as session:
        book(session, local(2026, 10, 12, 9), local(2026, 10, 12, 10), now=NOW, title="Mine")
        book(session, local(2026, 10, 13, 9), local(2026, 10, 13, 10), now=NOW, title="Invited", organiser=BOB,
             attendees=[ANN.email], room_id="boreal")  # fmt: skip
        book(session, local(2026, 10, 14, 9), local(2026, 10, 14, 10), now=NOW, title="Not mine", organiser=BOB)
    with site_database.sessions() as session:
        feed = calendars.person_calendar(session, email="Ann@Example.com", start=WINDOW[0], end=WINDOW[1], now=NOW)
    assert set(_events(feed)) == {"Mine", "Invited"}


def test_export_then_import_into_another_room_gives_the_same_times(site_database: Database) -> None:
    with site_database.sessions.begin() as session:
        book(session, local(2026, 10, 13, 15), local(2026, 10, 13, 16, 30), now=NOW, title="One-off",
             attendees=[BOB.email])  # fmt: skip
        bookings.create_series(
            session,
            room_id="atlas",
            title="Weekly",
            start=local(2026, 10, 19, 9),
            end=local(2026, 10, 19, 10),
            rrule="FREQ=WEEKLY;COUNT=3",
            organiser=BOB,
            now=NOW,
        )
    with site_database.sessions() as session:
        feed = calendars.room_calendar(session, room_id="atlas", start=WINDOW[0], end=WINDOW[1], now=NOW)
        exported = bookings.list_room_bookings(session, room_id="atlas", start=WINDOW[0], end=WINDOW[1])
    with site_database.sessions.begin() as session:
        report = calendars.import_calendar(session, room_id="grove", data=feed, now=NOW)
        assert report.skipped == []
    with site_database.sessions() as session:
        imported = bookings.list_room_bookings(session, room_id="grove", start=WINDOW[0], end=WINDOW[1])

    def shape(found: list[Booking]) -> list[tuple[datetime, datetime, str, str, list[str]]]:
        return [(b.starts_at, b.ends_at, b.title, b.organiser_email, b.attendees) for b in found]

    assert shape(imported) == shape(exported)
    assert [b.starts_at.astimezone(LONDON).hour for b in imported[1:]] == [9, 9, 9]
    assert {b.source for b in imported} == {"ics"}
    assert len(report.created) == 4


MONDAYS_AT_NINE = """
UID:standup-1@example.com
SUMMARY:Standup
DTSTART;TZID=Europe/London:20261019T090000
DTEND;TZID=Europe/London:20261019T091500
RRULE:FREQ=WEEKLY;UNTIL=20261116T235959Z
EXDATE;TZID=Europe/London:20261102T090000
ORGANIZER;CN=Ann Smith:mailto:ann@example.com
ATTENDEE;CN=Bob:mailto:bob@example.com
ATTENDEE;CUTYPE=ROOM:mailto:atlas-room@example.com
"""
MOVED = """
UID:standup-1@example.com
RECURRENCE-ID;TZID=Europe/London:20261026T090000
SUMMARY:Standup (late)
DTSTART;TZID=Europe/London:20261026T110000
DTEND;TZID=Europe/London:20261026T111500
ORGANIZER;CN=Ann Smith:mailto:ann@example.com
"""
DROPPED = """
UID:standup-1@example.com
RECURRENCE-ID;TZID=Europe/London:20261109T090000
STATUS:CANCELLED
SUMMARY:Standup
DTSTART;TZID=Europe/London:20261109T090000
DTEND;TZID=Europe/London:20261109T091500
"""


def test_a_recurring_event_becomes_a_series_with_its_exceptions(site_database: Database) -> None:
    with site_database.sessions.begin() as session:
        report = calendars.import_calendar(session, room_id="atlas", data=ics(MONDAYS_AT_NINE, MOVED, DROPPED), now=NOW)
        assert len(report.series) == 1
        series_id = report.series[0].id
    with site_database.sessions() as session:
        series = bookings.get_series(session, series_id)
        assert (series.external_uid, series.timezone, series.source) == (
            "standup-1@example.com",
            "Europe/London",
            "ics",
        )
        meetings = {
            b.occurrence_start.astimezone(LONDON).strftime("%d %b"): b
            for b in bookings.series_occurrences(session, series_id=series_id)
            if b.occurrence_start is not None
        }
        assert list(meetings) == ["19 Oct", "26 Oct", "09 Nov", "16 Nov"]
        assert meetings["19 Oct"].starts_at == datetime(2026, 10, 19, 8, tzinfo=UTC)
        assert meetings["16 Nov"].starts_at == datetime(2026, 11, 16, 9, tzinfo=UTC)
        assert meetings["26 Oct"].starts_at == local(2026, 10, 26, 11)
        assert meetings["09 Nov"].status == "cancelled"
        assert meetings["19 Oct"].attendees == [BOB.email]
        assert sorted(series.exdates) == ["2026-11-02T09:00:00+00:00", "2026-11-09T09:00:00+00:00"]


def test_events_that_are_not_bookings_are_skipped_and_reported(site_database: Database) -> None:
    data = ics(
        "UID:a\nSUMMARY:Holiday\nDTSTART;VALUE=DATE:20261020\nORGANIZER:mailto:ann@example.com",
        "UID:b\nSUMMARY:Last week\nDTSTART:20261005T090000Z\nDTEND:20261005T100000Z\nORGANIZER:mailto:ann@example.com",
        "UID:c\nSUMMARY:Called off\nSTATUS:CANCELLED\nDTSTART:20261020T090000Z\nDTEND:20261020T100000Z\n"
        "ORGANIZER:mailto:ann@example.com",
        "UID:d\nSUMMARY:Real\nDTSTART:20261020T090000\nDURATION:PT45M",
    )
    with site_database.sessions.begin() as session:
        report = calendars.import_calendar(session, room_id="atlas", data=data, organiser=BOB, now=NOW)
        assert report.skipped == [
            "event 1 ('Holiday') UID a: an all-day event does not book a room",
            "event 2 ('Last week') UID b: it started before now",
            "event 3 ('Called off') UID c: it is cancelled",
        ]
        [real] = report.created
        assert (real.starts_at, real.ends_at) == (local(2026, 10, 20, 9), local(2026, 10, 20, 9, 45))
        assert real.organiser_email == BOB.email


GOOD = "UID:good\nSUMMARY:Fine\nDTSTART:20261020T090000Z\nDTEND:20261020T100000Z\nORGANIZER:mailto:ann@example.com"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("this is not a calendar", "the calendar file is not valid iCalendar"),
        (b"\xff\xfe\x00BEGIN", "not UTF-8 text"),
        (ics(), "the calendar file has no events"),
        (ics(GOOD, "UID:bad\nSUMMARY:Broken\nDTSTART:2026-10-20 nine\nDTEND:20261020T100000Z"), "event 2 ('Broken')"),
        (ics(GOOD, "UID:open\nSUMMARY:Endless\nDTSTART:20261021T090000Z"), "event 2 ('Endless') UID open has neither"),
        (ics(GOOD, "UID:x\nSUMMARY:Nobody\nDTSTART:20261021T090000Z\nDTEND:20261021T100000Z"), "has no ORGANIZER"),
        (ics(GOOD, GOOD.replace("UID:good", "UID:twice")), "event 2 ('Fine') UID twice: Atlas is already booked"),
        (ics(GOOD, GOOD.replace("T090000Z", "T120000Z").replace("UID:good", "UID:back")), "must end after it starts"),
        (ics(GOOD.replace("mailto:ann@example.com", "mailto:nobody")), "ORGANIZER 'nobody' is not an email"),
        (ics(GOOD + "\nRDATE:20261027T090000Z"), "RDATE, which is not supported"),
    ],
)
def test_a_bad_file_or_event_is_refused_and_nothing_is_written(
    site_database: Database, data: str | bytes, reason: str
) -> None:
    with site_database.sessions() as session, pytest.raises((Invalid, Conflict)) as refused:
        calendars.import_calendar(session, room_id="atlas", data=data, now=NOW)
    assert reason in str(refused.value)
    assert _count(site_database, Booking) == 0
    assert _count(site_database, BookingSeries) == 0


def test_a_clash_with_an_existing_booking_refuses_the_whole_import(site_database: Database) -> None:
    with site_database.sessions.begin() as session:
        book(session, local(2026, 10, 21, 9), local(2026, 10, 21, 10), now=NOW, organiser=BOB, title="Held")
    data = ics(GOOD, MONDAYS_AT_NINE, "UID:late\nSUMMARY:Late\nDTSTART:20261021T083000Z\nDTEND:20261021T093000Z")
    with site_database.sessions.begin() as session, pytest.raises(Conflict) as clash:
        # The caller swallows the refusal and commits: the import still leaves nothing behind.
        calendars.import_calendar(session, room_id="atlas", data=data, organiser=ANN, now=NOW)
    assert str(clash.value).startswith("event 3 ('Late') UID late: Atlas is already booked then: 'Held' by Bob Jones")
    assert _count(site_database, Booking) == 1
    assert _count(site_database, BookingSeries) == 0


def test_import_needs_a_bookable_room(site_database: Database) -> None:
    with site_database.sessions() as session, pytest.raises(Invalid, match="Reception cannot be booked"):
        calendars.import_calendar(session, room_id="reception", data=ics(GOOD), now=NOW)


def test_a_floating_time_is_the_sites_wall_time(site_database: Database) -> None:
    data = ics("UID:f\nSUMMARY:Floating\nDTSTART:20261102T090000\nDTEND:20261102T100000")
    with site_database.sessions.begin() as session:
        [booking] = calendars.import_calendar(
            session, room_id="atlas", data=data, organiser=Person("cy@example.com"), now=NOW
        ).created
        assert booking.starts_at == datetime(2026, 11, 2, 9, tzinfo=UTC)
        assert booking.organiser_name == "cy@example.com"
        assert booking.ends_at - booking.starts_at == timedelta(hours=1)
