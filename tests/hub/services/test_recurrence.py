"""Recurring series over a real database: wall time across DST, horizon, exceptions, clashes and no-show strikes."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from hub.errors import Conflict, Invalid, NotFound
from hub.runtime import Database
from hub.services import bookings
from hub.services.bookings import BookingRules
from hub.services.recurrence import is_occurrence, occurrences, parse_rule
from hub.store.booking_models import Booking, BookingSeries, BookingStatus
from tests.hub.booking_helpers import ANN, BOB, LONDON, book, local

NOW = local(2026, 10, 12, 8, 0)
"""Monday 12 October 2026, 08:00 in London (BST)."""
HALF_YEAR = BookingRules(horizon=timedelta(days=180))


def _weekly(database: Database, *, rrule: str = "FREQ=WEEKLY;BYDAY=MO", rules: BookingRules = HALF_YEAR) -> int:
    with database.sessions.begin() as session:
        series = bookings.create_series(
            session,
            room_id="atlas",
            title="Team meeting",
            start=local(2026, 10, 12, 9),
            end=local(2026, 10, 12, 10),
            rrule=rrule,
            organiser=ANN,
            attendees=[BOB.email],
            now=NOW,
            rules=rules,
        )
        return series.id


def _starts(database: Database, series_id: int, *, status: str | None = None) -> list[datetime]:
    with database.sessions() as session:
        return [
            b.starts_at
            for b in bookings.series_occurrences(session, series_id=series_id)
            if status is None or b.status == status
        ]


def test_a_weekly_meeting_stays_at_nine_local_across_both_clock_changes(site_database: Database) -> None:
    series_id = _weekly(site_database)
    starts = _starts(site_database, series_id)
    utc = {start.astimezone(UTC).strftime("%Y-%m-%d %H:%M") for start in starts}
    assert {"2026-10-19 08:00", "2026-10-26 09:00", "2027-03-22 09:00", "2027-03-29 08:00", "2027-04-05 08:00"} <= utc
    assert {start.astimezone(LONDON).strftime("%a %H:%M") for start in starts} == {"Mon 09:00"}
    assert starts[0] == local(2026, 10, 12, 9)
    assert max(starts) < NOW + HALF_YEAR.horizon
    assert len(starts) == 26
    with site_database.sessions() as session:
        series = bookings.get_series(session, series_id)
        assert (series.timezone, series.rrule, series.duration_seconds) == (
            "Europe/London",
            "FREQ=WEEKLY;BYDAY=MO",
            3600,
        )
        meetings = bookings.series_occurrences(session, series_id=series_id)
        assert all(m.ends_at - m.starts_at == timedelta(hours=1) for m in meetings)
        assert meetings[3].attendees == [BOB.email]
        assert meetings[3].occurrence_start == meetings[3].starts_at


def test_count_and_until_bound_a_series_and_a_date_until_means_that_whole_day(site_database: Database) -> None:
    counted = _weekly(site_database, rrule="FREQ=WEEKLY;COUNT=3")
    assert len(_starts(site_database, counted)) == 3
    with site_database.sessions.begin() as session:
        until = bookings.create_series(
            session,
            room_id="boreal",
            title="Until",
            start=local(2026, 10, 12, 9),
            end=local(2026, 10, 12, 10),
            rrule="RRULE:FREQ=DAILY;UNTIL=20261014",
            organiser=ANN,
            now=NOW,
        ).id
    assert _starts(site_database, until) == [local(2026, 10, d, 9) for d in (12, 13, 14)]


def test_an_open_ended_series_is_booked_up_to_the_horizon_then_further_as_time_passes(site_database: Database) -> None:
    rules = BookingRules(horizon=timedelta(days=28))
    series_id = _weekly(site_database, rules=rules)
    assert _starts(site_database, series_id) == [local(2026, 10, d, 9) for d in (12, 19, 26)] + [local(2026, 11, 2, 9)]
    with site_database.sessions.begin() as session:
        assert bookings.materialise_series(session, now=NOW + timedelta(days=14), rules=rules) == []
    assert _starts(site_database, series_id)[-2:] == [local(2026, 11, 9, 9), local(2026, 11, 16, 9)]
    with site_database.sessions.begin() as session:
        assert bookings.materialise_series(session, now=NOW + timedelta(days=14), rules=rules) == []
    assert len(_starts(site_database, series_id)) == 6


def test_an_occurrence_taken_meanwhile_is_skipped_and_reported_when_the_horizon_moves(site_database: Database) -> None:
    rules = BookingRules(horizon=timedelta(days=28))
    series_id = _weekly(site_database, rules=rules)
    with site_database.sessions.begin() as session:
        taken = book(session, local(2026, 11, 9, 9, 30), local(2026, 11, 9, 11), now=NOW, organiser=BOB, title="Mine")
        taken_id = taken.id
    with site_database.sessions.begin() as session:
        skipped = bookings.materialise_series(session, now=NOW + timedelta(days=7), rules=rules)
        assert [(s.series_id, s.start, s.clash.id) for s in skipped] == [(series_id, local(2026, 11, 9, 9), taken_id)]
        series = bookings.get_series(session, series_id)
        assert series.exdates == [local(2026, 11, 9, 9).astimezone(UTC).isoformat()]
    assert local(2026, 11, 9, 9) not in _starts(site_database, series_id)


def test_a_clash_on_any_date_refuses_the_whole_series_listing_the_dates(site_database: Database) -> None:
    with site_database.sessions.begin() as session:
        book(session, local(2026, 10, 26, 9, 30), local(2026, 10, 26, 10), now=NOW, organiser=BOB, title="Review")
        book(session, local(2026, 11, 9, 8), local(2026, 11, 9, 9, 15), now=NOW, organiser=BOB, title="Early")
    with pytest.raises(Conflict) as clash:
        _weekly(site_database)
    assert str(clash.value) == (
        "Atlas is already booked on 2 of the series' dates: Mon 26 Oct 2026 ('Review' by Bob Jones "
        "<bob@example.com>, 09:30-10:00); Mon 09 Nov 2026 ('Early' by Bob Jones <bob@example.com>, 08:00-09:15) "
        "(times in Europe/London)"
    )
    with site_database.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(BookingSeries)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 2


@pytest.mark.parametrize(
    ("rrule", "reason"),
    [
        ("FREQ=HOURLY", "DAILY, WEEKLY, MONTHLY or YEARLY, not HOURLY"),
        ("FREQ=DAILY;BYHOUR=9,15", "part BYHOUR is not supported"),
        ("FREQ=WEEKLY;COUNT=2;UNTIL=20261231", "COUNT or UNTIL, not both"),
        ("FREQ=WEEKLY;COUNT=0", "COUNT must be a whole number above 0"),
        ("FREQ=WEEKLY;BYDAY=XX", "is not valid"),
        ("BYDAY=MO", "has no FREQ"),
        ("FREQ=WEEKLY;INTERVAL", "is not NAME=VALUE"),
        ("FREQ=WEEKLY;UNTIL=tomorrow", "UNTIL 'TOMORROW' is not a date"),
        ("", "the recurrence rule is empty"),
        ("FREQ=WEEKLY;UNTIL=20261001", "gives no meeting"),
    ],
)
def test_a_bad_rule_is_refused_with_the_reason(site_database: Database, rrule: str, reason: str) -> None:
    with pytest.raises(Invalid) as refused:
        _weekly(site_database, rrule=rrule)
    assert reason in str(refused.value)


def test_meetings_of_a_series_may_not_overlap_each_other_even_on_the_short_spring_day(
    site_database: Database,
) -> None:
    with site_database.sessions() as session, pytest.raises(Invalid, match="would overlap each other"):
        bookings.create_series(
            session,
            room_id="atlas",
            title="All day, every day",
            start=datetime(2027, 3, 27, 9, tzinfo=UTC),
            end=datetime(2027, 3, 28, 9, tzinfo=UTC),
            rrule="FREQ=DAILY;COUNT=3",
            organiser=ANN,
            now=NOW,
            rules=HALF_YEAR,
        )


def test_cancelling_one_meeting_records_an_exception_and_frees_its_slot(site_database: Database) -> None:
    series_id = _weekly(site_database)
    with site_database.sessions.begin() as session:
        bookings.cancel_occurrence(session, series_id=series_id, occurrence_start=local(2026, 10, 26, 9), now=NOW)
        series = bookings.get_series(session, series_id)
        assert series.exdates == ["2026-10-26T09:00:00+00:00"]
        book(session, local(2026, 10, 26, 9), local(2026, 10, 26, 10), now=NOW, organiser=BOB)
    assert local(2026, 10, 26, 9) in _starts(site_database, series_id, status=BookingStatus.CANCELLED.value)
    with site_database.sessions() as session, pytest.raises(NotFound, match="has no meeting starting Tue 27 Oct"):
        bookings.cancel_occurrence(session, series_id=series_id, occurrence_start=local(2026, 10, 27, 9), now=NOW)


def test_an_exception_beyond_the_horizon_is_kept_for_when_it_comes(site_database: Database) -> None:
    rules = BookingRules(horizon=timedelta(days=28))
    series_id = _weekly(site_database, rules=rules)
    later = local(2026, 11, 23, 9)
    with site_database.sessions.begin() as session:
        bookings.cancel_occurrence(session, series_id=series_id, occurrence_start=later, now=NOW)
    with site_database.sessions.begin() as session:
        bookings.materialise_series(session, now=NOW + timedelta(days=28), rules=rules)
    starts = _starts(site_database, series_id)
    assert later not in starts
    assert local(2026, 11, 30, 9) in starts


def test_moving_one_meeting_keeps_it_in_the_series(site_database: Database) -> None:
    series_id = _weekly(site_database)
    with site_database.sessions.begin() as session:
        book(session, local(2026, 10, 20, 9), local(2026, 10, 20, 10), now=NOW, organiser=BOB, title="Taken")
    with site_database.sessions.begin() as session:
        moved = bookings.move_occurrence(
            session,
            series_id=series_id,
            occurrence_start=local(2026, 10, 19, 9),
            start=local(2026, 10, 19, 14),
            end=local(2026, 10, 19, 15),
            now=NOW,
        )
        assert (moved.series_id, moved.occurrence_start, moved.starts_at) == (
            series_id,
            local(2026, 10, 19, 9),
            local(2026, 10, 19, 14),
        )
    with site_database.sessions() as session, pytest.raises(Conflict, match="'Taken' by Bob Jones"):
        bookings.move_occurrence(
            session,
            series_id=series_id,
            occurrence_start=local(2026, 10, 19, 9),
            start=local(2026, 10, 20, 9),
            end=local(2026, 10, 20, 10),
            now=NOW,
        )
    with site_database.sessions.begin() as session:
        beyond = bookings.move_occurrence(
            session,
            series_id=series_id,
            occurrence_start=local(2027, 6, 7, 9),
            start=local(2027, 6, 8, 9),
            end=local(2027, 6, 8, 10),
            now=NOW,
            rules=HALF_YEAR,
        )
        assert beyond.occurrence_start == local(2027, 6, 7, 9)


def test_cancelling_from_a_meeting_on_keeps_the_earlier_ones(site_database: Database) -> None:
    series_id = _weekly(site_database)
    with site_database.sessions.begin() as session:
        third = bookings.series_occurrences(session, series_id=series_id)[2]
        bookings.cancel_booking(session, booking_id=third.id, and_following=True, now=NOW)
    assert _starts(site_database, series_id, status="booked") == [local(2026, 10, 12, 9), local(2026, 10, 19, 9)]
    with site_database.sessions.begin() as session:
        series = bookings.get_series(session, series_id)
        assert (series.cancelled_from, series.cancel_reason) == (local(2026, 10, 26, 9), "cancelled by the organiser")
        assert bookings.materialise_series(session, now=NOW + timedelta(days=60), rules=HALF_YEAR) == []
    assert len(_starts(site_database, series_id, status="booked")) == 2
    with site_database.sessions.begin() as session:
        cancelled = bookings.cancel_series(session, series_id=series_id, now=NOW)
        assert [b.starts_at for b in cancelled] == [local(2026, 10, 12, 9), local(2026, 10, 19, 9)]


def _weeks_meeting(week: int) -> datetime:
    return local(2026, 10, 12, 9) + timedelta(weeks=week)


def test_three_no_shows_in_a_row_cancel_the_rest_of_the_series(site_database: Database) -> None:
    series_id = _weekly(site_database)
    with site_database.sessions() as session:
        meetings = [b.id for b in bookings.series_occurrences(session, series_id=series_id)]
    strikes = []
    for week in range(3):
        with site_database.sessions.begin() as session:
            when = _weeks_meeting(week).astimezone(UTC) + timedelta(minutes=10)
            release = bookings.release_booking(session, booking_id=meetings[week], now=when)
            strikes.append((release.strikes, release.series_cancelled))
    assert strikes == [(1, False), (2, False), (3, True)]
    assert _starts(site_database, series_id, status="released") == [_weeks_meeting(w) for w in range(3)]
    assert _starts(site_database, series_id, status="booked") == []
    with site_database.sessions() as session:
        series = bookings.get_series(session, series_id)
        assert series.cancel_reason == "nobody came to 3 occurrences in a row"


def test_a_check_in_resets_the_strikes(site_database: Database) -> None:
    series_id = _weekly(site_database)
    with site_database.sessions() as session:
        meetings = [b.id for b in bookings.series_occurrences(session, series_id=series_id)]
    for week, action in enumerate(["release", "release", "check_in", "release", "release"]):
        with site_database.sessions.begin() as session:
            when = _weeks_meeting(week) + timedelta(minutes=10)
            if action == "release":
                bookings.release_booking(session, booking_id=meetings[week], now=when)
            else:
                bookings.check_in(session, booking_id=meetings[week], now=when)
    with site_database.sessions() as session:
        assert bookings.get_series(session, series_id).no_show_strikes == 2
    assert len(_starts(site_database, series_id, status="booked")) == 26 - 5
    with site_database.sessions.begin() as session:
        release = bookings.release_booking(
            session, booking_id=meetings[5], now=_weeks_meeting(5) + timedelta(minutes=10), rules=BookingRules()
        )
        assert (release.strikes, release.series_cancelled, len(release.cancelled)) == (3, True, 26 - 6)


def test_rules_expand_in_wall_time_and_know_their_own_occurrences() -> None:
    rule = parse_rule("FREQ=MONTHLY;BYDAY=-1FR;COUNT=4", zone=LONDON)
    first = local(2026, 9, 25, 16)
    starts = occurrences(rule, first_start=first, zone=LONDON, before=local(2027, 12, 31), limit=10)
    assert [s.astimezone(LONDON).strftime("%d %b %H:%M") for s in starts] == [
        "25 Sep 16:00",
        "30 Oct 16:00",
        "27 Nov 16:00",
        "25 Dec 16:00",
    ]
    assert [s.strftime("%H:%M") for s in starts] == ["15:00", "16:00", "16:00", "16:00"]
    assert is_occurrence(rule, first_start=first, zone=LONDON, candidate=local(2026, 11, 27, 16))
    assert not is_occurrence(rule, first_start=first, zone=LONDON, candidate=local(2026, 11, 20, 16))
    with pytest.raises(Invalid, match="more than 2 occurrences"):
        occurrences(rule, first_start=first, zone=LONDON, before=local(2027, 12, 31), limit=2)
