"""A hand-computed energy fixture: three meters, a counter reset, a gap, late and repeated readings, after hours.

Shared by the service, API and CLI tests so they all check the same numbers.
"""

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from devices.kinds import DeviceKind
from devices.payloads import EnergyTelemetry
from hub.runtime import Database
from hub.services.energy import record_reading, roll_up
from hub.services.reactions import NewMessage
from hub.store.models import DeviceMessage
from hub.store.room_live_models import RoomLive

TUESDAY = date(2025, 6, 10)
"""Europe/London is on summer time (UTC+1): the site's Tuesday is 09 Jun 23:00Z to 10 Jun 23:00Z."""


def at(hour: int, minute: int = 0, day: int = 10) -> datetime:
    return datetime(2025, 6, day, hour, minute, tzinfo=UTC)


# (meter, seq, when (UTC), counter kWh)
ATLAS = [
    ("atlas-pwr", 1, at(9), 100.0),
    ("atlas-pwr", 2, at(9, 30), 101.0),  # 1.0 in 09:00-09:30                        -> 09Z +1.0
    ("atlas-pwr", 3, at(10, 30), 103.0),  # 2.0 over 09:30-10:30                      -> 09Z +1.0, 10Z +1.0
    ("atlas-pwr", 4, at(11), 0.5),  # counter reset: 0.5 counted from zero            -> 10Z +0.5
    ("atlas-pwr", 5, at(14), 3.5),  # silent for 3 hours: 3.0 spread over the gap     -> 11Z, 12Z, 13Z +1.0 each
    ("atlas-pwr", 6, at(14, 15), 3.75),  # 0.25                                       -> 14Z +0.25
]
BOREAL = [
    ("boreal-pwr", 1, at(22, 30), 50.0),
    ("boreal-pwr", 2, at(23, 30), 52.0),  # 2.0 over the site's midnight -> 22Z (23:00 Tue) +1.0, 23Z (00:00 Wed) +1.0
]
CEDAR = [
    ("cedar-pwr", 1, at(19), 10.0),
    ("cedar-pwr", 2, at(21), 12.0),  # after hours (20:00-22:00 local): 19Z +1.0, 20Z +1.0
]


def record(session: Session, meter: str, seq: int, ts: datetime, kwh: float) -> None:
    reading = EnergyTelemetry(
        v=1, device_id=meter, seq=seq, ts=ts, kind=DeviceKind.ENERGY, energy_kwh=kwh, power_w=100.0
    )
    record_reading(session, NewMessage(meter, reading, ts), ts)


def occupancy(session: Session, device_id: str, seq: int, ts: datetime, people: int) -> None:
    session.add(
        DeviceMessage(
            device_id=device_id,
            seq=seq,
            channel="telemetry",
            device_ts=ts,
            received_at=ts,
            data={"kind": "occupancy", "presence": people > 0, "people": people},
        )
    )


WEDNESDAY = date(2025, 6, 11)


def load_energy_fixture(site_database: Database) -> Database:
    """Every reading recorded, most of them late and out of order, some twice, rolled up in three runs."""
    sessions = site_database.sessions
    with sessions.begin() as session:
        for reading in (ATLAS[0], ATLAS[1], ATLAS[4], *BOREAL):
            record(session, *reading)
    with sessions.begin() as session:
        assert roll_up(session, at(23, 59)) == 5
    with sessions.begin() as session:  # the replayed outbox: older readings, and one already stored
        for reading in (ATLAS[5], ATLAS[3], ATLAS[2], ATLAS[1], *CEDAR):
            record(session, *reading)
    with sessions.begin() as session:
        assert roll_up(session, at(23, 59)) == 5
    with sessions.begin() as session:
        assert roll_up(session, at(23, 59)) == 0  # nothing left: a second run changes nothing
    return site_database


def add_occupancy(site_database: Database) -> None:
    """Cedar's sensor sees nobody after hours; somebody is in boreal at 23:40 local, empty from 23:50."""
    with site_database.sessions.begin() as session:
        occupancy(session, "cedar-occ", 1, at(19, 5), 0)
        occupancy(session, "cedar-occ", 2, at(20, 10), 0)
        occupancy(session, "boreal-occ", 1, at(22, 40), 2)
        session.add(RoomLive(room_id="boreal", people=0, observed_at=at(22, 50), empty_since=at(22, 50)))
