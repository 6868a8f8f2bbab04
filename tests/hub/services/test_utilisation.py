"""Utilisation against a hand-computed fixture: bookings and occupancy readings around the October clock change.

Sunday 25 October 2026 is 25 hours long in London (01:00-02:00 happens twice); Monday 26 is a plain day.

Bookings (local times):
- Atlas: Sun 00:30 BST - 03:00 GMT (3.5 real hours); Mon 09:00-10:00 checked in; 11:00-12:00 released at
  11:10, then 11:15-11:45 booked by someone else (inside the released hour: not counted twice);
  14:00-14:30 cancelled (not counted); 15:00-16:00 ended at 15:20 (20 minutes); Tue 09:00 (outside).
- Boreal: Sun 23:00 - Mon 01:00 (an hour on each day). Delta (first floor): Mon 10:00-12:00.

Occupancy readings (a reading holds until the next one, at most 15 minutes):
- atlas-occ: Sun 23:55 present (5 min on Sunday, 10 on Monday); Mon 09:00 present (15 min), 09:30
  present (10 min, until 09:40), 09:40 absent, 10:00 present (15 min). Monday: 50 minutes.
- lobby-lounge-occ 13:00 present, 13:10 absent; lobby-lounge-occ-2 13:05 present, 13:20 absent:
  together 13:00-13:20, 20 minutes.
- delta-occ: present every 10 minutes from 10:00 to 11:50, absent at 12:00: 2 hours.
- Ignored: an event (not telemetry) and another kind of device saying "presence".
"""

from datetime import date, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from sqlalchemy.orm import Session

from hub.errors import Invalid
from hub.runtime import Database
from hub.services import bookings, utilisation
from hub.services.recurrence import local_day_bounds
from hub.services.utilisation import Hours
from hub.store.models import DeviceMessage
from tests.hub.booking_helpers import BOB, LONDON, book, local

SUNDAY, MONDAY = date(2026, 10, 25), date(2026, 10, 26)
SETUP = local(2026, 10, 24, 12)
_seq = count(1)


def _reading(session: Session, device_id: str, at: datetime, data: dict[str, Any], channel: str = "telemetry") -> None:
    session.add(
        DeviceMessage(device_id=device_id, seq=next(_seq), channel=channel, device_ts=at, received_at=at, data=data)
    )


def _presence(session: Session, device_id: str, at: datetime, present: bool) -> None:
    _reading(session, device_id, at, {"kind": "occupancy", "presence": present, "people": 2 if present else 0})


def _fixture(database: Database) -> None:
    with database.sessions.begin() as session:
        book(session, local(2026, 10, 25, 0, 30), datetime.fromisoformat("2026-10-25T03:00:00+00:00"), now=SETUP)
        checked = book(session, local(2026, 10, 26, 9), local(2026, 10, 26, 10), now=SETUP).id
        no_show = book(session, local(2026, 10, 26, 11), local(2026, 10, 26, 12), now=SETUP).id
        cancelled = book(session, local(2026, 10, 26, 14), local(2026, 10, 26, 14, 30), now=SETUP).id
        early = book(session, local(2026, 10, 26, 15), local(2026, 10, 26, 16), now=SETUP).id
        book(session, local(2026, 10, 27, 9), local(2026, 10, 27, 10), now=SETUP)
        book(session, local(2026, 10, 25, 23), local(2026, 10, 26, 1), now=SETUP, room_id="boreal")
        book(session, local(2026, 10, 26, 10), local(2026, 10, 26, 12), now=SETUP, room_id="delta")
    with database.sessions.begin() as session:
        bookings.check_in(session, booking_id=checked, now=local(2026, 10, 26, 9, 2))
        bookings.release_booking(session, booking_id=no_show, now=local(2026, 10, 26, 11, 10))
        book(
            session,
            local(2026, 10, 26, 11, 15),
            local(2026, 10, 26, 11, 45),
            now=local(2026, 10, 26, 11, 10),
            organiser=BOB,
        )
        bookings.cancel_booking(session, booking_id=cancelled, now=SETUP)
        bookings.end_booking(session, booking_id=early, now=local(2026, 10, 26, 15, 20))
    with database.sessions.begin() as session:
        for at, present in [((25, 23, 55), True), ((26, 9, 0), True), ((26, 9, 30), True), ((26, 9, 40), False)]:
            _presence(session, "atlas-occ", local(2026, 10, *at), present)
        _presence(session, "atlas-occ", local(2026, 10, 26, 10), True)
        _reading(session, "atlas-occ", local(2026, 10, 26, 12), {"kind": "occupancy", "presence": True}, "event")
        _reading(session, "atlas-env", local(2026, 10, 26, 12), {"kind": "environment", "presence": True})
        _presence(session, "lobby-lounge-occ", local(2026, 10, 26, 13), True)
        _presence(session, "lobby-lounge-occ", local(2026, 10, 26, 13, 10), False)
        _presence(session, "lobby-lounge-occ-2", local(2026, 10, 26, 13, 5), True)
        _presence(session, "lobby-lounge-occ-2", local(2026, 10, 26, 13, 20), False)
        for minutes in range(0, 120, 10):
            _presence(session, "delta-occ", local(2026, 10, 26, 10) + timedelta(minutes=minutes), True)
        _presence(session, "delta-occ", local(2026, 10, 26, 12), False)


def _close(actual: Hours, booked: float, released: float, occupied: float) -> None:
    assert actual.booked == pytest.approx(booked)
    assert actual.released == pytest.approx(released)
    assert actual.occupied == pytest.approx(occupied)


def test_utilisation_by_room_floor_and_local_day_matches_the_hand_computed_hours(site_database: Database) -> None:
    _fixture(site_database)
    with site_database.sessions() as session:
        report = utilisation.utilisation(session, first_day=SUNDAY, last_day=MONDAY)
    assert report.timezone == "Europe/London"
    assert report.days == [SUNDAY, MONDAY]
    rooms = {room.room_id: room for room in report.rooms}
    assert "reception" not in rooms and "open-plan-1" not in rooms
    _close(rooms["atlas"].by_day[SUNDAY], 3.5, 0, 5 / 60)
    _close(rooms["atlas"].by_day[MONDAY], 2 + 1 / 3, 1, 50 / 60)
    _close(rooms["atlas"].total, 3.5 + 2 + 1 / 3, 1, 55 / 60)
    _close(rooms["boreal"].by_day[SUNDAY], 1, 0, 0)
    _close(rooms["boreal"].by_day[MONDAY], 1, 0, 0)
    _close(rooms["lobby-lounge"].by_day[MONDAY], 0, 0, 20 / 60)
    _close(rooms["delta"].by_day[MONDAY], 2, 0, 2)
    _close(rooms["townhall"].total, 0, 0, 0)
    floors = {floor.floor_id: floor for floor in report.floors}
    assert list(floors) == ["ground", "first", "second", "third"]
    _close(floors["ground"].by_day[SUNDAY], 4.5, 0, 5 / 60)
    _close(floors["ground"].by_day[MONDAY], 3 + 1 / 3, 1, 70 / 60)
    _close(floors["first"].total, 2, 0, 2)
    _close(floors["third"].total, 0, 0, 0)


def test_a_floor_alone_and_a_backwards_range(site_database: Database) -> None:
    _fixture(site_database)
    with site_database.sessions() as session:
        report = utilisation.utilisation(session, first_day=MONDAY, last_day=MONDAY, floor_id="first")
        assert [room.room_id for room in report.rooms] == ["cedar", "delta", "elm", "fjord", "grove"]
        assert [floor.floor_id for floor in report.floors] == ["first"]
        _close(report.floors[0].by_day[MONDAY], 2, 0, 2)
        with pytest.raises(Invalid, match="must end on or after its first day"):
            utilisation.utilisation(session, first_day=MONDAY, last_day=SUNDAY)


def test_the_day_the_clocks_go_back_has_twenty_five_hours() -> None:
    start, end = local_day_bounds(SUNDAY, LONDON)
    assert end - start == timedelta(hours=25)
    start, end = local_day_bounds(date(2027, 3, 28), LONDON)
    assert end - start == timedelta(hours=23)
