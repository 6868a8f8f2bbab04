"""Cleaning status: meetings and occupied minutes since the last cleaning, the list per floor, marking cleaned."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from devices.kinds import DeviceKind
from devices.payloads import OccupancyTelemetry, RoomState
from hub.runtime import Database
from hub.services import bookings
from hub.services.cleaning import CleaningRules, cleaning_needs, count_occupied_time, flag_rooms_needing_cleaning
from hub.services.cleaning import mark_cleaned as cleaned
from hub.services.reactions import NewMessage
from hub.services.room_displays import room_display_state
from hub.store.models import Device
from hub.store.room_live_models import RoomLive
from tests.hub.booking_helpers import book

T0 = datetime(2030, 3, 4, 8, 0, tzinfo=UTC)
RULES = CleaningRules(after_meetings=2, after_occupied=timedelta(minutes=60))
_seq = iter(range(1, 1_000_000))


def reading(session: Session, device_id: str, at: datetime, people: int) -> None:
    message = OccupancyTelemetry(
        v=1, device_id=device_id, seq=next(_seq), ts=at, kind=DeviceKind.OCCUPANCY, presence=people > 0, people=people
    )
    count_occupied_time(session, [NewMessage(device_id=device_id, message=message, received_at=at)], at)


def meeting(session: Session, room_id: str, start: datetime, minutes: int = 30, *, checked_in: bool = True) -> None:
    made = book(session, start, start + timedelta(minutes=minutes), now=start - timedelta(hours=1), room_id=room_id)
    if checked_in:
        bookings.check_in(session, booking_id=made.id, now=start)


def needs(session: Session, now: datetime, floor: str = "ground") -> dict[str, tuple[int, float, float]]:
    return {
        n.room_id: (n.meetings, n.occupied_minutes, n.need)
        for n in cleaning_needs(session, now=now, rules=RULES, floor_id=floor)
    }


def test_checked_in_meetings_count_and_no_shows_do_not(site_database: Database) -> None:
    with site_database.sessions.begin() as session:
        cleaning_needs(session, now=T0, rules=RULES)  # the hub starts counting here
        meeting(session, "atlas", T0 + timedelta(hours=1))
        meeting(session, "atlas", T0 + timedelta(hours=2), checked_in=False)  # a no-show leaves no mess
        meeting(session, "atlas", T0 + timedelta(hours=3))
        assert needs(session, T0 + timedelta(hours=2))["atlas"][0] == 1
        assert needs(session, T0 + timedelta(hours=3, minutes=10))["atlas"][0] == 1  # still running
        meetings, _, need = needs(session, T0 + timedelta(hours=4))["atlas"]
        assert (meetings, need) == (2, 1.0)
        assert flag_rooms_needing_cleaning(session, T0 + timedelta(hours=4), rules=RULES) == 1
        assert session.get_one(RoomLive, "atlas").needs_cleaning
        shown = room_display_state(session, "atlas", T0 + timedelta(hours=4))
        assert (shown.state, shown.needs_cleaning) == (RoomState.CLEANING_NEEDED, True)


def test_occupied_minutes_come_from_readings_or_without_a_sensor_from_meetings(site_database: Database) -> None:
    with site_database.sessions.begin() as session:
        cleaning_needs(session, now=T0, rules=RULES)
        reading(session, "boreal-occ", T0 + timedelta(minutes=1), people=3)
        reading(session, "boreal-occ", T0 + timedelta(minutes=11), people=2)  # +10 occupied
        reading(session, "boreal-occ", T0 + timedelta(minutes=21), people=0)  # +10 occupied
        reading(session, "boreal-occ", T0 + timedelta(minutes=51), people=4)  # empty: +0
        reading(session, "boreal-occ", T0 + timedelta(minutes=50), people=0)  # replayed old reading: ignored
        reading(session, "boreal-occ", T0 + timedelta(hours=5), people=1)  # silent for hours: at most 15
        assert needs(session, T0 + timedelta(hours=5))["boreal"][1] == 35.0

        # A room without an occupancy sensor counts its checked-in meetings' time instead.
        session.execute(sa.update(Device).where(Device.id == "atlas-occ").values(in_building=False))
        meeting(session, "atlas", T0 + timedelta(hours=1), minutes=45)
        assert needs(session, T0 + timedelta(hours=2))["atlas"][1:] == (45.0, 0.75)


def test_the_list_puts_the_rooms_most_in_need_first_and_cleaning_starts_over(site_database: Database) -> None:
    with site_database.sessions.begin() as session:
        cleaning_needs(session, now=T0, rules=RULES)
        meeting(session, "atlas", T0 + timedelta(hours=1))  # half way by meetings
        reading(session, "boreal-occ", T0, people=2)
        reading(session, "boreal-occ", T0 + timedelta(minutes=15), people=2)
        reading(session, "boreal-occ", T0 + timedelta(minutes=30), people=2)  # 30 of 60 minutes...
        reading(session, "boreal-occ", T0 + timedelta(minutes=45), people=0)  # ...45: three quarters
        now = T0 + timedelta(hours=2)
        listed = cleaning_needs(session, now=now, rules=RULES)
        assert [n.floor_id for n in listed][:6] == ["ground"] * 6  # floor by floor
        assert [n.room_id for n in listed][:2] == ["boreal", "atlas"]
        assert [n.need for n in listed][:3] == [0.75, 0.5, 0.0]

        after = cleaned(session, room_id="boreal", by="Sam", now=now, rules=RULES)
        assert (after.meetings, after.occupied_minutes, after.need, after.cleaned_by) == (0, 0.0, 0.0, "Sam")
        assert cleaning_needs(session, now=now, rules=RULES)[0].room_id == "atlas"
