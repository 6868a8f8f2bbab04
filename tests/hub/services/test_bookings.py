"""One-off bookings over a real database (SQLite and PostgreSQL): the rules, the clashes, the life of a booking."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from hub.errors import AtriumError, Conflict, Invalid, NotFound
from hub.runtime import Database
from hub.services import bookings, rooms
from hub.services.bookings import Person
from hub.store.booking_models import Booking, BookingStatus
from tests.hub.booking_helpers import ANN, BOB, local

NOW = local(2026, 10, 19, 8, 0)
"""A Monday in British Summer Time (07:00 UTC), so local and UTC times differ."""


def test_a_booking_is_stored_in_utc_with_its_people(site_database: Database) -> None:
    with site_database.sessions.begin() as session:
        booking = bookings.create_booking(
            session,
            room_id="atlas",
            title="  Quarterly   planning ",
            start=local(2026, 10, 19, 9),
            end=local(2026, 10, 19, 10),
            organiser=Person("Ann@Example.COM", "Ann Smith"),
            attendees=["bob@example.com", "BOB@example.com", "mailto:cy@example.com"],
            now=NOW,
        )
        booking_id = booking.id
    with site_database.sessions() as session:
        stored = bookings.get_booking(session, booking_id)
        assert stored.starts_at == datetime(2026, 10, 19, 8, 0, tzinfo=UTC)
        assert stored.ends_at == datetime(2026, 10, 19, 9, 0, tzinfo=UTC)
        assert stored.title == "Quarterly planning"
        assert stored.organiser_email == "ann@example.com"
        assert stored.attendees == ["bob@example.com", "cy@example.com"]
        assert stored.status == BookingStatus.BOOKED.value
        assert stored.source == "api"
        assert stored.uid and stored.created_at == NOW


@pytest.mark.parametrize(
    ("changes", "error", "reason"),
    [
        ({"start": NOW - timedelta(minutes=6)}, Invalid, "is in the past"),
        ({"end": local(2026, 10, 19, 9)}, Invalid, "must end after it starts"),
        ({"end": local(2026, 10, 19, 8, 30)}, Invalid, "must end after it starts"),
        ({"end": local(2026, 10, 20, 9, 1)}, Invalid, "at most 24 hours"),
        ({"room_id": "nowhere"}, NotFound, "there is no room 'nowhere'"),
        ({"room_id": "reception"}, Invalid, "Reception cannot be booked"),
        ({"room_id": "boreal", "attendees": [f"p{n}@example.com" for n in range(4)]}, Invalid, "Boreal seats 4"),
        ({"start": datetime(2026, 10, 19, 9)}, Invalid, "has no time zone"),
        ({"attendees": ["not an email"]}, Invalid, "'not an email' is not an email address"),
        ({"organiser": Person("ann", "Ann")}, Invalid, "organiser's email 'ann'"),
        ({"title": "   "}, Invalid, "give the booking a title"),
    ],
)
def test_a_booking_that_breaks_a_rule_is_refused_with_the_reason(
    site_database: Database, changes: dict[str, object], error: type[AtriumError], reason: str
) -> None:
    arguments: dict[str, object] = {
        "room_id": "atlas",
        "title": "Planning",
        "start": local(2026, 10, 19, 9),
        "end": local(2026, 10, 19, 10),
        "organiser": ANN,
        "attendees": [],
        **changes,
    }
    with site_database.sessions() as session, pytest.raises(error) as refused:
        bookings.create_booking(session, **arguments, now=NOW)  # type: ignore[arg-type]
    assert reason in str(refused.value)
    assert refused.value.status_code in (404, 422)
    with site_database.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0


def test_a_start_a_few_minutes_ago_is_allowed(site_database: Database) -> None:
    with site_database.sessions.begin() as session:
        booking = bookings.create_booking(
            session,
            room_id="atlas",
            title="Walk-in",
            start=NOW - timedelta(minutes=4),
            end=NOW + timedelta(minutes=30),
            organiser=ANN,
            now=NOW,
        )
        assert booking.starts_at == NOW - timedelta(minutes=4)


def test_capacity_counts_the_organiser_and_attendees_once_each(site_database: Database) -> None:
    with site_database.sessions.begin() as session:
        invited = [ANN.email, "b@example.com", "c@example.com", "d@example.com"]
        booking = bookings.create_booking(
            session,
            room_id="boreal",
            title="Four of us",
            start=local(2026, 10, 19, 9),
            end=local(2026, 10, 19, 10),
            organiser=ANN,
            attendees=invited,
            now=NOW,
        )
        assert len({booking.organiser_email, *booking.attendees}) == 4


def _book(database: Database, start: datetime, end: datetime, **extra: object) -> int:
    arguments: dict[str, object] = {"room_id": "atlas", "title": "Planning", "organiser": ANN, **extra}
    with database.sessions.begin() as session:
        return bookings.create_booking(session, start=start, end=end, now=NOW, **arguments).id  # type: ignore[arg-type]


def test_a_clash_names_the_booking_its_organiser_and_its_local_time(site_database: Database) -> None:
    _book(site_database, local(2026, 10, 19, 10), local(2026, 10, 19, 11), title="Board review")
    with site_database.sessions() as session, pytest.raises(Conflict) as clash:
        bookings.create_booking(
            session,
            room_id="atlas",
            title="Sync",
            start=local(2026, 10, 19, 10, 30),
            end=local(2026, 10, 19, 11, 30),
            organiser=BOB,
            now=NOW,
        )
    assert str(clash.value) == (
        "Atlas is already booked then: 'Board review' by Ann Smith <ann@example.com>, "
        "Mon 19 Oct 2026 10:00-11:00 (Europe/London)"
    )


def test_a_private_booking_clashes_without_showing_its_title(site_database: Database) -> None:
    _book(site_database, local(2026, 10, 19, 10), local(2026, 10, 19, 11), title="Layoffs", private=True)
    with pytest.raises(Conflict) as clash:
        _book(site_database, local(2026, 10, 19, 9), local(2026, 10, 19, 12), organiser=BOB)
    assert "'Private meeting' by Ann Smith" in str(clash.value)
    assert "Layoffs" not in str(clash.value)


def test_back_to_back_bookings_do_not_clash_and_other_rooms_are_independent(site_database: Database) -> None:
    _book(site_database, local(2026, 10, 19, 10), local(2026, 10, 19, 11))
    _book(site_database, local(2026, 10, 19, 11), local(2026, 10, 19, 12))
    _book(site_database, local(2026, 10, 19, 9), local(2026, 10, 19, 10))
    _book(site_database, local(2026, 10, 19, 10), local(2026, 10, 19, 11), room_id="boreal")


@pytest.mark.parametrize("free_it", ["cancel", "release"])
def test_a_cancelled_or_released_booking_frees_its_slot(site_database: Database, free_it: str) -> None:
    first = _book(site_database, local(2026, 10, 19, 9), local(2026, 10, 19, 10))
    with site_database.sessions.begin() as session:
        if free_it == "cancel":
            bookings.cancel_booking(session, booking_id=first, now=NOW)
        else:
            bookings.release_booking(session, booking_id=first, now=local(2026, 10, 19, 9, 10))
    later = NOW if free_it == "cancel" else local(2026, 10, 19, 9, 10)
    with site_database.sessions.begin() as session:
        second = bookings.create_booking(
            session,
            room_id="atlas",
            title="Taken over",
            start=max(later, local(2026, 10, 19, 9)),
            end=local(2026, 10, 19, 10),
            organiser=BOB,
            now=later,
        )
        assert second.holds_room
        assert bookings.get_booking(session, first).status == (
            BookingStatus.CANCELLED.value if free_it == "cancel" else BookingStatus.RELEASED.value
        )


def test_moving_and_renaming_checks_again_but_not_against_itself(site_database: Database) -> None:
    mine = _book(site_database, local(2026, 10, 19, 9), local(2026, 10, 19, 10))
    _book(site_database, local(2026, 10, 19, 11), local(2026, 10, 19, 12), title="Theirs", organiser=BOB)
    with site_database.sessions.begin() as session:
        moved = bookings.update_booking(
            session,
            booking_id=mine,
            start=local(2026, 10, 19, 9, 30),
            end=local(2026, 10, 19, 10, 30),
            title="Planning, later",
            now=NOW,
        )
        assert (moved.starts_at, moved.title) == (local(2026, 10, 19, 9, 30), "Planning, later")
    with site_database.sessions() as session, pytest.raises(Conflict, match="'Theirs' by Bob Jones"):
        bookings.update_booking(session, booking_id=mine, end=local(2026, 10, 19, 11, 15), now=NOW)
    with site_database.sessions() as session, pytest.raises(Invalid, match="is in the past"):
        bookings.update_booking(session, booking_id=mine, start=NOW - timedelta(hours=1), now=NOW)
    with site_database.sessions() as session, pytest.raises(Invalid, match="Boreal seats 4"):
        bookings.update_booking(
            session, booking_id=mine, room_id="boreal", attendees=[f"p{n}@example.com" for n in range(4)], now=NOW
        )
    with site_database.sessions.begin() as session:
        moved = bookings.update_booking(session, booking_id=mine, room_id="boreal", now=NOW)
        assert moved.room_id == "boreal"


def test_a_checked_in_booking_keeps_its_start_and_a_cancelled_one_cannot_change(site_database: Database) -> None:
    first = _book(site_database, local(2026, 10, 19, 9), local(2026, 10, 19, 10))
    during = local(2026, 10, 19, 9, 5)
    with site_database.sessions.begin() as session:
        bookings.check_in(session, booking_id=first, now=during)
    with site_database.sessions() as session, pytest.raises(Conflict, match="checked in; only its end"):
        bookings.update_booking(session, booking_id=first, start=local(2026, 10, 19, 9, 30), now=during)
    with site_database.sessions.begin() as session:
        renamed = bookings.update_booking(session, booking_id=first, title="Renamed", now=during)
        assert renamed.title == "Renamed"
    second = _book(site_database, local(2026, 10, 19, 14), local(2026, 10, 19, 15))
    with site_database.sessions.begin() as session:
        bookings.cancel_booking(session, booking_id=second, now=NOW)
    with site_database.sessions() as session, pytest.raises(Conflict, match="was cancelled; it can no longer be"):
        bookings.update_booking(session, booking_id=second, title="Again", now=NOW)


def test_extend_until_the_next_booking_and_never_after_the_end(site_database: Database) -> None:
    first = _book(site_database, local(2026, 10, 19, 9), local(2026, 10, 19, 10))
    _book(site_database, local(2026, 10, 19, 10, 30), local(2026, 10, 19, 11), title="Next up", organiser=BOB)
    during = local(2026, 10, 19, 9, 50)
    with site_database.sessions.begin() as session:
        extended = bookings.extend_booking(session, booking_id=first, minutes=30, now=during)
        assert extended.ends_at == local(2026, 10, 19, 10, 30)
    with site_database.sessions() as session, pytest.raises(Conflict, match="'Next up' by Bob Jones"):
        bookings.extend_booking(session, booking_id=first, minutes=1, now=during)
    with site_database.sessions() as session, pytest.raises(Invalid, match="positive number of minutes"):
        bookings.extend_booking(session, booking_id=first, minutes=0, now=during)
    with site_database.sessions() as session, pytest.raises(Conflict, match="ended at 10:30"):
        bookings.extend_booking(session, booking_id=first, minutes=15, now=local(2026, 10, 19, 10, 31))
    long = _book(site_database, local(2026, 10, 20, 9), local(2026, 10, 21, 8))
    with site_database.sessions() as session, pytest.raises(Invalid, match="at most 24 hours"):
        bookings.extend_booking(session, booking_id=long, minutes=61, now=NOW)


def test_ending_early_frees_the_room_from_then_on(site_database: Database) -> None:
    first = _book(site_database, local(2026, 10, 19, 9), local(2026, 10, 19, 11))
    with site_database.sessions() as session, pytest.raises(Conflict, match="has not started yet; cancel it"):
        bookings.end_booking(session, booking_id=first, now=NOW)
    early = local(2026, 10, 19, 9, 40)
    with site_database.sessions.begin() as session:
        ended = bookings.end_booking(session, booking_id=first, now=early)
        assert (ended.status, ended.ended_at, ended.ends_at) == ("ended", early, early)
    with site_database.sessions.begin() as session:
        bookings.create_booking(
            session, room_id="atlas", title="Next", start=early, end=local(2026, 10, 19, 11), organiser=BOB, now=early
        )
    with site_database.sessions() as session, pytest.raises(Conflict, match="has ended; it can no longer be extended"):
        bookings.extend_booking(session, booking_id=first, minutes=10, now=early)


def test_check_in_opens_ten_minutes_before_the_start_and_closes_at_the_end(site_database: Database) -> None:
    first = _book(site_database, local(2026, 10, 19, 9), local(2026, 10, 19, 10))
    with site_database.sessions() as session, pytest.raises(Conflict) as early:
        bookings.check_in(session, booking_id=first, now=local(2026, 10, 19, 8, 49))
    assert "opens at 08:50 (Europe/London), 10 minutes before it starts" in str(early.value)
    with site_database.sessions() as session, pytest.raises(Conflict, match="ended at 10:00"):
        bookings.check_in(session, booking_id=first, now=local(2026, 10, 19, 10))
    with site_database.sessions.begin() as session:
        checked = bookings.check_in(session, booking_id=first, now=local(2026, 10, 19, 8, 50))
        assert (checked.status, checked.checked_in_at) == ("checked_in", local(2026, 10, 19, 8, 50))
    with site_database.sessions.begin() as session:
        again = bookings.check_in(session, booking_id=first, now=local(2026, 10, 19, 9, 5))
        assert again.checked_in_at == local(2026, 10, 19, 8, 50)


def test_release_is_for_a_started_booking_nobody_checked_in_to(site_database: Database) -> None:
    first = _book(site_database, local(2026, 10, 19, 9), local(2026, 10, 19, 10))
    with site_database.sessions() as session, pytest.raises(Conflict, match="has not started yet"):
        bookings.release_booking(session, booking_id=first, now=local(2026, 10, 19, 8, 55))
    with site_database.sessions.begin() as session:
        release = bookings.release_booking(session, booking_id=first, now=local(2026, 10, 19, 9, 10))
        assert (release.booking.status, release.strikes, release.series_cancelled) == ("released", 0, False)
        assert release.booking.ends_at == local(2026, 10, 19, 10)
    second = _book(site_database, local(2026, 10, 19, 11), local(2026, 10, 19, 12))
    with site_database.sessions.begin() as session:
        bookings.check_in(session, booking_id=second, now=local(2026, 10, 19, 11))
    with site_database.sessions() as session, pytest.raises(Conflict, match="is checked in; it is not a no-show"):
        bookings.release_booking(session, booking_id=second, now=local(2026, 10, 19, 11, 15))


def test_cancel_is_refused_once_over_and_repeating_it_changes_nothing(site_database: Database) -> None:
    first = _book(site_database, local(2026, 10, 19, 9), local(2026, 10, 19, 10))
    with site_database.sessions() as session, pytest.raises(Conflict, match="ended at 10:00"):
        bookings.cancel_booking(session, booking_id=first, now=local(2026, 10, 19, 10, 5))
    with site_database.sessions.begin() as session:
        bookings.cancel_booking(session, booking_id=first, now=NOW)
    with site_database.sessions.begin() as session:
        assert bookings.cancel_booking(session, booking_id=first, now=NOW).ended_at == NOW
    with site_database.sessions() as session, pytest.raises(NotFound, match="there is no booking 999"):
        bookings.cancel_booking(session, booking_id=999, now=NOW)


def test_a_room_and_a_person_list_their_bookings_in_a_range(site_database: Database) -> None:
    a = _book(site_database, local(2026, 10, 19, 9), local(2026, 10, 19, 10))
    b = _book(site_database, local(2026, 10, 19, 11), local(2026, 10, 19, 12), organiser=BOB, attendees=[ANN.email])
    c = _book(site_database, local(2026, 10, 20, 9), local(2026, 10, 20, 10), room_id="boreal")
    d = _book(site_database, local(2026, 10, 19, 13), local(2026, 10, 19, 14), organiser=BOB)
    with site_database.sessions.begin() as session:
        bookings.cancel_booking(session, booking_id=d, now=NOW)
    day = (local(2026, 10, 19), local(2026, 10, 20))
    with site_database.sessions() as session:
        in_atlas = bookings.list_room_bookings(session, room_id="atlas", start=day[0], end=day[1])
        assert [x.id for x in in_atlas] == [a, b]
        with_cancelled = bookings.list_room_bookings(
            session, room_id="atlas", start=day[0], end=day[1], include_cancelled=True
        )
        assert [x.id for x in with_cancelled] == [a, b, d]
        week = (local(2026, 10, 19), local(2026, 10, 26))
        assert [
            x.id for x in bookings.list_person_bookings(session, email="ANN@example.com", start=week[0], end=week[1])
        ] == [a, b, c]
        assert [x.id for x in bookings.list_person_bookings(session, email=BOB.email, start=week[0], end=week[1])] == [
            b
        ]
        with pytest.raises(NotFound):
            bookings.list_room_bookings(session, room_id="nowhere", start=day[0], end=day[1])


def test_the_room_agenda_gives_the_current_and_next_meeting(site_database: Database) -> None:
    a = _book(site_database, local(2026, 10, 19, 9), local(2026, 10, 19, 10))
    b = _book(site_database, local(2026, 10, 19, 11), local(2026, 10, 19, 12))
    with site_database.sessions() as session:
        before = bookings.room_agenda(session, room_id="atlas", now=NOW)
        assert (before.current, before.next and before.next.id) == (None, a)
        during = bookings.room_agenda(session, room_id="atlas", now=local(2026, 10, 19, 9, 30))
        assert (during.current and during.current.id, during.next and during.next.id) == (a, b)
        after = bookings.room_agenda(session, room_id="atlas", now=local(2026, 10, 19, 12))
        assert (after.current, after.next) == (None, None)


def test_free_rooms_fit_people_and_equipment_smallest_first(site_database: Database) -> None:
    start, end = local(2026, 10, 19, 9), local(2026, 10, 19, 15)
    with site_database.sessions() as session:
        found = rooms.find_free_rooms(session, start=start, end=end, people=8, equipment=["Screen"], now=NOW)
        assert [room.id for room in found] == ["atlas", "nova", "delta", "lobby-lounge", "harbor"]
        video = rooms.find_free_rooms(
            session, start=start, end=end, people=8, equipment=["screen", "video conferencing"], now=NOW
        )
        assert [room.id for room in video] == ["atlas", "harbor"]
        assert [r.id for r in rooms.find_free_rooms(session, start=start, end=end, people=61, now=NOW)] == []
        first_floor = rooms.find_free_rooms(session, start=start, end=end, people=2, floor_id="first", now=NOW)
        assert [room.id for room in first_floor] == ["fjord", "elm", "cedar", "grove", "delta"]
    _book(site_database, local(2026, 10, 19, 14, 30), local(2026, 10, 19, 16))
    with site_database.sessions() as session:
        found = rooms.find_free_rooms(session, start=start, end=end, people=8, equipment=["screen"], now=NOW)
        assert [room.id for room in found] == ["nova", "delta", "lobby-lounge", "harbor"]
        with pytest.raises(Invalid, match="must end after it starts"):
            rooms.find_free_rooms(session, start=end, end=start, now=NOW)


def test_rooms_say_whether_they_are_free_now(site_database: Database) -> None:
    _book(site_database, local(2026, 10, 19, 9), local(2026, 10, 19, 10))
    with site_database.sessions() as session:
        states = {state.room.id: state for state in rooms.list_rooms(session, now=local(2026, 10, 19, 9, 30))}
        assert not states["atlas"].free_now
        assert states["boreal"].free_now
        assert not states["reception"].free_now
        ground = rooms.list_rooms(session, now=NOW, floor_id="ground", bookable=True)
        assert [state.room.id for state in ground] == ["atlas", "boreal", "lobby-lounge", "townhall"]


def test_people_booking_the_same_slot_at_once_get_it_once(site_database: Database) -> None:
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            _book(site_database, local(2026, 10, 19, 9), local(2026, 10, 19, 10), organiser=Person(f"p{n}@example.com"))
            outcomes.append("booked")
        except Conflict as refused:
            outcomes.append("conflict" if "already booked" in str(refused) or "try again" in str(refused) else "?")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["booked"] + ["conflict"] * 5
    with site_database.sessions() as session:
        held = bookings.clashes(session, room_id="atlas", start=local(2026, 10, 19, 9), end=local(2026, 10, 19, 10))
        assert len(held) == 1
