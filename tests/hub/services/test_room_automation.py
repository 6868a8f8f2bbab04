"""The occupancy rules acting on real bookings in a real database, with the clock passed in."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from hub.runtime import Database
from hub.services import bookings
from hub.services.occupancy_rules import OccupancyRules
from hub.services.room_automation import apply_occupancy_rules
from hub.services.room_displays import room_live
from hub.store.booking_models import Booking, BookingStatus
from hub.store.outbox import OutboxMessage
from tests.hub.booking_helpers import local

ANN = bookings.Person(email="ann@example.com", name="Ann")
RULES = OccupancyRules()
FIRST = local(2026, 10, 12, 9)  # a Monday, 09:00 in London


def weekly_series(database: Database) -> list[int]:
    with database.sessions.begin() as session:
        series = bookings.create_series(
            session,
            room_id="atlas",
            title="Team meeting",
            start=FIRST,
            end=FIRST + timedelta(hours=1),
            rrule="FREQ=WEEKLY;COUNT=6",
            organiser=ANN,
            now=FIRST - timedelta(hours=1),
        )
        return [b.id for b in bookings.series_occurrences(session, series_id=series.id)]


def sensor_sees(database: Database, *, people: int, at: datetime) -> None:
    with database.sessions.begin() as session:
        live = room_live(session, "atlas")
        live.observed_at, live.people = at, people
        live.empty_since = None if people else at - timedelta(minutes=30)


def run_rules(database: Database, now: datetime) -> int:
    with database.sessions.begin() as session:
        return apply_occupancy_rules(session, now, rules=RULES, booking_rules=bookings.DEFAULT_RULES)


def statuses(database: Database, ids: list[int]) -> list[str]:
    with database.sessions() as session:
        return [session.get_one(Booking, i).status for i in ids]


def test_three_meetings_nobody_came_to_cancel_the_rest_of_the_series(site_database: Database) -> None:
    meetings = weekly_series(site_database)
    for week in range(3):
        start = (FIRST + timedelta(weeks=week)).astimezone(UTC)
        sensor_sees(site_database, people=0, at=start + timedelta(minutes=9))
        assert run_rules(site_database, start + timedelta(minutes=5)) == 0  # too early to give up
        assert run_rules(site_database, start + timedelta(minutes=10)) == 1
    assert statuses(site_database, meetings) == ["released"] * 3 + ["cancelled"] * 3
    with site_database.sessions() as session:
        told = session.scalars(
            sa.select(OutboxMessage.payload).where(OutboxMessage.topic.like("%/notifications"))
        ).all()
    kinds = [b'"kind":"booking_released"' in p for p in told].count(True), [b"series_cancelled" in p for p in told]
    assert kinds[0] == 3 and kinds[1].count(True) == 1


def test_people_in_the_room_check_a_meeting_in_and_reset_the_strikes(site_database: Database) -> None:
    meetings = weekly_series(site_database)
    start = FIRST.astimezone(UTC)
    sensor_sees(site_database, people=3, at=start + timedelta(minutes=2))
    assert run_rules(site_database, start + timedelta(minutes=2, seconds=30)) == 1
    assert statuses(site_database, meetings[:1]) == [BookingStatus.CHECKED_IN]


def test_the_display_of_the_room_is_queued_for_publishing_with_each_change(site_database: Database) -> None:
    meetings = weekly_series(site_database)
    start = FIRST.astimezone(UTC)
    sensor_sees(site_database, people=0, at=start + timedelta(minutes=9))
    run_rules(site_database, start + timedelta(minutes=10))
    with site_database.sessions() as session:
        retained = session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.topic == "atrium/v1/hq/atlas-door/command")
        ).all()
    assert retained and all(message.retain for message in retained)
    assert statuses(site_database, meetings[:1]) == [BookingStatus.RELEASED]


def test_a_room_with_rules_of_its_own_keeps_its_meeting_longer(site_database: Database) -> None:
    from devices.site import RoomRules

    meetings = weekly_series(site_database)
    start = FIRST.astimezone(UTC)
    sensor_sees(site_database, people=0, at=start + timedelta(minutes=9))
    patient = {"atlas": RULES.for_room(RoomRules(release_after_min=30))}
    with site_database.sessions.begin() as session:
        taken = apply_occupancy_rules(
            session,
            start + timedelta(minutes=10),
            rules=RULES,
            booking_rules=bookings.DEFAULT_RULES,
            room_rules=patient,
        )
    assert taken == 0
    assert statuses(site_database, meetings[:1]) == [BookingStatus.BOOKED]
