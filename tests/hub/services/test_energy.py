"""Energy rollups against numbers worked out by hand: a counter reset, a gap, late and repeated readings."""

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from hub.errors import Invalid
from hub.runtime import Database
from hub.services.energy import (
    Evidence,
    Group,
    OfficeHours,
    Period,
    after_hours_use,
    energy_report,
    roll_up,
    spread,
)
from hub.store.energy_models import EnergyReading
from tests.hub.energy_fixture import TUESDAY, WEDNESDAY, add_occupancy, at, load_energy_fixture

# Worked out by hand from the readings in tests/hub/energy_fixture.py (UTC hours; the site is on UTC+1):
# atlas  09:00 100.0, 09:30 101.0, 10:30 103.0, 11:00 0.5 (reset), 14:00 3.5 (3 h silent), 14:15 3.75
#        -> 09Z 1.0 + 1.0, 10Z 1.0 + 0.5, 11Z/12Z/13Z 1.0 each (3.0 over the gap), 14Z 0.25; 6.75 in all
# boreal 22:30 50.0, 23:30 52.0 -> 22Z 1.0 (23:00 Tuesday local), 23Z 1.0 (00:00 Wednesday local)
# cedar  19:00 10.0, 21:00 12.0 -> 19Z 1.0, 20Z 1.0 (20:00 and 21:00 local: after hours)
ATLAS_HOURS = {at(9): 2.0, at(10): 1.5, at(11): 1.0, at(12): 1.0, at(13): 1.0, at(14): 0.25}
BOREAL_HOURS = {at(22): 1.0, at(23): 1.0}
CEDAR_HOURS = {at(19): 1.0, at(20): 1.0}


def hours(report_series: list[tuple[datetime, float]]) -> dict[datetime, float]:
    return {when.astimezone(UTC): kwh for when, kwh in report_series if kwh}


@pytest.fixture
def rolled_up(site_database: Database) -> Database:
    return load_energy_fixture(site_database)


def test_hourly_buckets_per_room_match_the_hand_computed_numbers(rolled_up: Database) -> None:
    with rolled_up.sessions() as session:
        report = energy_report(
            session, group=Group.ROOM, period=Period.HOUR, first_day=TUESDAY, last_day=date(2025, 6, 11)
        )
    by_room = {series.id: series for series in report.series}
    assert report.timezone == "Europe/London"
    assert hours([(b.start, b.kwh) for b in by_room["atlas"].buckets]) == pytest.approx(ATLAS_HOURS)
    assert hours([(b.start, b.kwh) for b in by_room["boreal"].buckets]) == pytest.approx(BOREAL_HOURS)
    assert hours([(b.start, b.kwh) for b in by_room["cedar"].buckets]) == pytest.approx(CEDAR_HOURS)
    assert by_room["atlas"].total_kwh == pytest.approx(6.75)
    assert by_room["delta"].total_kwh == 0  # a metered room that said nothing is listed, at zero
    assert report.total_kwh == pytest.approx(6.75 + 2.0 + 2.0)


def test_floors_and_site_by_the_sites_local_day(rolled_up: Database) -> None:
    wednesday = WEDNESDAY
    with rolled_up.sessions() as session:
        floors = energy_report(session, group=Group.FLOOR, period=Period.DAY, first_day=TUESDAY, last_day=wednesday)
        site = energy_report(session, group=Group.SITE, period=Period.DAY, first_day=TUESDAY, last_day=wednesday)
    by_floor = {series.id: [(b.start.date(), round(b.kwh, 6)) for b in series.buckets] for series in floors.series}
    assert list(by_floor) == ["ground", "first", "second", "third"]
    assert by_floor["ground"] == [(TUESDAY, 7.75), (wednesday, 1.0)]
    assert by_floor["first"] == [(TUESDAY, 2.0), (wednesday, 0.0)]
    assert by_floor["third"] == [(TUESDAY, 0.0), (wednesday, 0.0)]
    (whole,) = site.series
    assert (whole.id, whole.name) == ("hq", "Atrium HQ")
    assert [(b.start.isoformat(), round(b.kwh, 6)) for b in whole.buckets] == [
        ("2025-06-10T00:00:00+01:00", 9.75),
        ("2025-06-11T00:00:00+01:00", 1.0),
    ]


def test_energy_in_empty_rooms_after_hours_is_flagged(rolled_up: Database) -> None:
    add_occupancy(rolled_up)
    with rolled_up.sessions() as session:
        flagged = after_hours_use(
            session,
            first_day=TUESDAY,
            last_day=date(2025, 6, 11),
            office_hours=OfficeHours.parse("07:00-19:00"),
            min_kwh=0.1,
        )
    assert [(f.room_id, f.hour_start, round(f.kwh, 6), f.evidence) for f in flagged] == [
        ("cedar", at(19), 1.0, Evidence.SENSOR),
        ("cedar", at(20), 1.0, Evidence.SENSOR),
        ("boreal", at(23), 1.0, Evidence.ROOM_LIVE),
    ]


def test_a_gap_spreads_linearly_and_a_same_instant_reading_lands_in_its_hour() -> None:
    assert list(spread(at(10, 30), at(12, 30), 4.0)) == [(at(10), 1.0), (at(11), 2.0), (at(12), 1.0)]
    assert list(spread(at(10, 30), at(10, 30), 0.5)) == [(at(10), 0.5)]


def test_bad_ranges_and_office_hours_are_refused(site_database: Database) -> None:
    with site_database.sessions() as session, pytest.raises(Invalid, match="on or after"):
        energy_report(session, group=Group.SITE, period=Period.DAY, first_day=TUESDAY, last_day=date(2025, 6, 1))
    with site_database.sessions() as session, pytest.raises(Invalid, match="at most 31 days"):
        energy_report(session, group=Group.SITE, period=Period.HOUR, first_day=TUESDAY, last_day=date(2025, 8, 1))
    with pytest.raises(Invalid, match="close before they open"):
        OfficeHours.parse("19:00-07:00")
    with pytest.raises(Invalid, match="HH:MM-HH:MM"):
        OfficeHours.parse("9 to 5")


def test_rolling_up_again_from_scratch_gives_the_same_buckets(rolled_up: Database) -> None:
    def by_room() -> dict[str | None, list[tuple[datetime, float]]]:
        with rolled_up.sessions() as session:
            report = energy_report(session, group=Group.ROOM, period=Period.HOUR, first_day=TUESDAY, last_day=WEDNESDAY)
        return {s.id: [(b.start, round(b.kwh, 9)) for b in s.buckets] for s in report.series}

    before = by_room()
    with rolled_up.sessions.begin() as session:
        session.execute(sa.update(EnergyReading).values(rolled_up=False))
    with rolled_up.sessions.begin() as session:
        assert roll_up(session, at(23, 59)) == 10
    assert by_room() == before
