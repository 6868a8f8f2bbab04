"""The dashboard's summary: open tickets by priority and age, devices offline, energy per floor today."""

from datetime import timedelta

from hub.runtime import Database
from hub.services import tickets
from hub.services.cleaning import CleaningRules
from hub.services.facilities_dashboard import facilities_summary
from hub.store.models import Device
from tests.hub.energy_fixture import at, load_energy_fixture

NOW = at(21, 30)
"""22:30 on Tuesday in the site's zone."""


def test_open_tickets_by_age_offline_devices_and_energy_today(site_database: Database) -> None:
    load_energy_fixture(site_database)
    with site_database.sessions.begin() as session:
        for priority, age in (
            ("critical", timedelta(minutes=5)),
            ("high", timedelta(hours=5)),
            ("high", timedelta(days=3)),
        ):
            tickets.open_ticket(
                session, title=f"{priority} {age}", source="staff", room_id="atlas", priority=priority, now=NOW - age
            )
        done = tickets.open_ticket(session, title="fixed", source="staff", priority="low", now=NOW - timedelta(days=9))
        tickets.transition(session, done.id, "resolved", actor="ops", now=NOW)
        for device_id, minutes in (("atlas-occ", 10), ("cedar-env", 50)):
            device = session.get(Device, device_id)
            assert device is not None
            device.online, device.availability_changed_at = False, NOW - timedelta(minutes=minutes)
    with site_database.sessions() as session:
        summary = facilities_summary(session, now=NOW, cleaning_rules=CleaningRules())
    assert summary.unavailable == {}
    assert summary.tickets is not None
    assert (summary.tickets.total, summary.tickets.by_priority) == (
        3,
        {"critical": 1, "high": 2, "medium": 0, "low": 0},
    )
    assert summary.tickets.by_age["high"] == {"<4h": 0, "4-24h": 1, "1-7d": 1, ">7d": 0}
    assert summary.tickets.by_age["low"] == {"<4h": 0, "4-24h": 0, "1-7d": 0, ">7d": 0}  # resolved: not open
    assert [d.id for d in summary.devices_offline] == ["cedar-env", "atlas-occ"]  # longest silent first
    assert summary.devices_total == 152
    assert summary.energy_today is not None
    assert [(f.floor_id, f.kwh) for f in summary.energy_today] == [
        ("ground", 7.75),
        ("first", 2.0),
        ("second", 0.0),
        ("third", 0.0),
    ]
    assert summary.timezone == "Europe/London"
    assert summary.incidents == [] and isinstance(summary.cleaning, list)
