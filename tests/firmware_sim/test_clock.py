"""The simulated clock, the working day and deterministic readings, with no broker."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from devices.kinds import DeviceKind
from devices.site import SAMPLE_BUILDING, load_building
from devices.topics import Channel
from devices.transport import BrokerEndpoint
from firmware_sim.clock import SimClock, office_activity
from firmware_sim.environment import EnvironmentSensor
from firmware_sim.fleet import Fleet
from firmware_sim.room import RoomActivity
from tests.firmware_sim.support import free_port, small_building

LONDON = ZoneInfo("Europe/London")
TUESDAY = datetime(2024, 3, 12, tzinfo=LONDON)
SATURDAY = datetime(2024, 3, 16, tzinfo=LONDON)


def at(day: datetime, hour: float) -> datetime:
    return day + timedelta(hours=hour)


def sample_rooms(seed: int = 0) -> list[RoomActivity]:
    building = load_building(SAMPLE_BUILDING)
    return [RoomActivity(room, timezone=LONDON, seed=seed) for _, room in building.rooms()]


def test_the_day_curve_is_empty_at_night_and_busy_mid_morning() -> None:
    assert office_activity(at(TUESDAY, 3)) == 0
    assert office_activity(at(TUESDAY, 10.5)) > 0.5
    assert office_activity(at(SATURDAY, 10.5)) == 0


def test_the_day_peaks_mid_morning_and_mid_afternoon_with_a_lunch_dip() -> None:
    morning, lunch, afternoon = (office_activity(at(TUESDAY, h)) for h in (10.5, 12.5, 15.0))
    assert lunch < morning and lunch < afternoon


def test_nobody_is_in_at_three_in_the_morning_and_people_are_in_mid_morning() -> None:
    rooms = sample_rooms()
    assert sum(room.people(at(TUESDAY, 3)) for room in rooms) == 0
    assert sum(room.people(at(SATURDAY, 10.5)) for room in rooms) == 0
    assert sum(room.people(at(TUESDAY, 10.5)) for room in rooms) > 0


def test_people_never_exceed_the_room_capacity() -> None:
    for room in sample_rooms(seed=7):
        for minute in range(0, 24 * 60, 7):
            assert 0 <= room.people(at(TUESDAY, minute / 60)) <= room.capacity


def test_occupancy_is_deterministic_for_a_seed() -> None:
    times = [at(TUESDAY, 9 + n / 4) for n in range(32)]
    first, again, other = sample_rooms(seed=1), sample_rooms(seed=1), sample_rooms(seed=2)
    people = [[room.people(t) for t in times] for room in first]
    assert people == [[room.people(t) for t in times] for room in again]
    assert people != [[room.people(t) for t in times] for room in other]


def test_the_clock_runs_faster_by_its_time_scale() -> None:
    now = [100.0]
    clock = SimClock(start=datetime(2024, 3, 12, 8, tzinfo=UTC), time_scale=60, monotonic=lambda: now[0])
    clock.anchor()
    now[0] += 60
    assert clock.now() == datetime(2024, 3, 12, 9, tzinfo=UTC)
    assert clock.at(100.0 + 30) == datetime(2024, 3, 12, 8, 30, tzinfo=UTC)


def test_co2_follows_people_with_a_lag() -> None:
    fleet = Fleet(small_building(DeviceKind.ENVIRONMENT, capacity=8), BrokerEndpoint("127.0.0.1", 1))
    sensor = fleet.device("environment-0")
    assert isinstance(sensor, EnvironmentSensor)
    night = sensor.measure(at(TUESDAY, 3), 0)["co2_ppm"]
    readings = [sensor.measure(at(TUESDAY, 3 + n / 6), 600)["co2_ppm"] for n in range(1, 6 * 12)]
    assert night < 500
    assert max(readings) > night + 200  # the working day fills the room...
    assert readings[-1] < max(readings)  # ...and the air clears after it empties


def test_a_seed_and_a_start_time_give_the_same_readings() -> None:
    def readings(seed: int) -> dict[tuple[str, int], dict[str, object]]:
        # No broker listens: the devices measure into their outboxes all the same. Simulated time stands
        # (almost) still, so how busy the machine is cannot move a reading to another time of day.
        fleet = Fleet(
            small_building(),
            BrokerEndpoint("127.0.0.1", free_port()),
            interval_s=0.02,
            time_scale=1e-9,
            start=at(TUESDAY, 8),
            seed=seed,
        )
        asyncio.run(fleet.run(0.5))
        found = {}
        for device in fleet:
            for message in device.outbox:
                if message.channel is Channel.TELEMETRY:
                    found[device.id, message.seq] = {k: v for k, v in json.loads(message.payload).items() if k != "ts"}
        return found

    first, again, other = readings(1), readings(1), readings(2)
    common = first.keys() & again.keys()
    assert len(common) > 20
    assert all(first[key] == pytest.approx(again[key]) for key in common)
    assert any(first[key] != pytest.approx(other[key]) for key in common & other.keys())
