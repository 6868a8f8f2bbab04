"""Occupancy rules decide check-in, release, extend and end from sensor facts; stale data decides nothing."""

from datetime import UTC, datetime, timedelta

import pytest

from hub.services.occupancy_rules import Action, LiveBooking, Occupancy, OccupancyRules, decide

START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
BOOKING = LiveBooking(start=START, end=START + timedelta(hours=1), checked_in=False)
RULES = OccupancyRules()


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def seen(minutes: float, people: int, empty_since: float | None = None) -> Occupancy:
    return Occupancy(
        observed_at=at(minutes), people=people, empty_since=at(empty_since) if empty_since is not None else None
    )


def test_people_seen_after_the_start_check_the_meeting_in() -> None:
    assert decide(BOOKING, seen(2, 3), rules=RULES, now=at(2.5), free_after=True) is Action.CHECK_IN


def test_people_seen_before_the_start_do_not_check_in_yet() -> None:
    assert decide(BOOKING, seen(-3, 3), rules=RULES, now=at(-2), free_after=True) is None


@pytest.mark.parametrize(("now", "expected"), [(9.9, None), (10, Action.RELEASE), (30, Action.RELEASE)])
def test_nobody_there_releases_the_booking_ten_minutes_after_its_start(now: float, expected: Action | None) -> None:
    assert decide(BOOKING, seen(now - 0.5, 0, empty_since=-30), rules=RULES, now=at(now), free_after=True) is expected


def test_a_stale_sensor_never_releases_a_booking() -> None:
    dead = seen(-60, 0, empty_since=-90)  # last heard an hour before the meeting
    assert decide(BOOKING, dead, rules=RULES, now=at(45), free_after=True) is None


def test_a_room_without_occupancy_sensor_is_released_for_want_of_a_check_in() -> None:
    assert decide(BOOKING, None, rules=RULES, now=at(10), free_after=True) is Action.RELEASE


def test_people_still_there_at_the_end_extend_the_meeting_when_the_room_is_free_after() -> None:
    running = LiveBooking(start=START, end=at(60), checked_in=True)
    assert decide(running, seen(59.5, 2), rules=RULES, now=at(59.5), free_after=True) is Action.EXTEND
    assert decide(running, seen(59.5, 2), rules=RULES, now=at(59.5), free_after=False) is None
    assert decide(running, seen(40, 2), rules=RULES, now=at(40), free_after=True) is None


def test_a_meeting_is_ended_when_the_room_has_been_empty_for_ten_minutes() -> None:
    running = LiveBooking(start=START, end=at(60), checked_in=True)
    assert decide(running, seen(29, 0, empty_since=20), rules=RULES, now=at(29), free_after=True) is None
    assert decide(running, seen(30, 0, empty_since=20), rules=RULES, now=at(30), free_after=True) is Action.END
    stale = seen(5, 0, empty_since=5)
    assert decide(running, stale, rules=RULES, now=at(30), free_after=True) is None


def test_rules_can_be_switched_off_per_room() -> None:
    rules = OccupancyRules(auto_check_in=False, auto_extend_by=None, end_when_empty_for=None)
    assert decide(BOOKING, seen(2, 3), rules=rules, now=at(2.5), free_after=True) is None
    running = LiveBooking(start=START, end=at(60), checked_in=True)
    assert decide(running, seen(59.5, 2), rules=rules, now=at(59.5), free_after=True) is None
    assert decide(running, seen(30, 0, empty_since=5), rules=rules, now=at(30), free_after=True) is None


def test_a_room_of_the_building_file_can_set_its_own_rules() -> None:
    from devices.site import RoomRules

    own = RULES.for_room(RoomRules(release_after_min=30, extend_by_min=0, auto_check_in=False))
    assert own.release_after == timedelta(minutes=30)
    assert own.auto_extend_by is None
    assert own.auto_check_in is False
    assert own.end_when_empty_for == RULES.end_when_empty_for  # not set: the site's
    assert RULES.for_room(None) is RULES
    assert decide(BOOKING, seen(9.5, 0, empty_since=-30), rules=own, now=at(10), free_after=True) is None
