"""Faults injected into simulated devices over a real broker open the right ticket once, escalate, and resolve."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from devices.payloads import DisplayButton
from firmware_sim.door_display import DoorDisplay
from firmware_sim.faults import Fault
from firmware_sim.fleet import Fleet, FleetThread
from hub.errors import ConfigError
from hub.runtime import Hub
from hub.services import tickets
from hub.settings import Settings
from hub.store.models import DeviceMessage
from hub.store.ticket_models import Asset, Ticket
from tests.brokers import TestBroker
from tests.helpers import wait_for
from tests.hub.conftest import StartHub

BUILDING = """
[site]
id = "hq"
name = "Test HQ"

[[floors]]
id = "ground"
name = "Ground"

[[floors.rooms]]
id = "atlas"
name = "Atlas"
capacity = 8
equipment = [
  "screen",
  { name = "Coffee machine", make_model = "Jura X8", installed = 2024-03-01, warranty_until = 2027-03-01 },
]

[[floors.rooms.devices]]
id = "atlas-env"
kind = "environment"

[[floors.rooms.devices]]
id = "atlas-safe"
kind = "safety"

[[floors.rooms.devices]]
id = "atlas-printer"
kind = "badge_printer"

[[floors.rooms.devices]]
id = "atlas-door"
kind = "door_display"
"""

RULES = """
[sla.critical]
acknowledge_within = "1s"
resolve_within = "1h"

[sla.high]
acknowledge_within = "1s"
resolve_within = "1h"

[sla.medium]
acknowledge_within = "1h"
resolve_within = "1d"

[kinds.environment.stuck]
readings = 4

[kinds.badge_printer.offline]
after = "1s"
"""


@pytest.fixture
def live(tmp_path: Path, start_hub: StartHub, broker: TestBroker) -> Iterator[tuple[Hub, FleetThread]]:
    building = tmp_path / "building.toml"
    building.write_text(BUILDING)
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    hub = start_hub(building=str(building), fault_rules_file=rules, fault_check_every_s=0.2)
    fleet = FleetThread(Fleet(hub.building, broker.endpoint, interval_s=0.2)).start()
    assert fleet.wait_online(30)
    yield hub, fleet
    fleet.stop()


def ticket_rows(hub: Hub, asset_id: str, fault_type: str) -> list[Ticket]:
    assert hub.database is not None
    with hub.database.sessions() as session:
        rows = session.scalars(
            sa.select(Ticket).where(Ticket.asset_id == asset_id, Ticket.fault_type == fault_type).order_by(Ticket.id)
        ).all()
        session.expunge_all()
        return list(rows)


def telemetry_count(hub: Hub, device_id: str) -> int:
    assert hub.database is not None
    with hub.database.sessions() as session:
        return (
            session.scalar(
                sa.select(sa.func.count()).where(
                    DeviceMessage.device_id == device_id, DeviceMessage.channel == "telemetry"
                )
            )
            or 0
        )


def history(hub: Hub, ticket_id: int) -> list[str]:
    assert hub.database is not None
    with hub.database.sessions() as session:
        return [event.kind for event in tickets.history(session, ticket_id)]


def one_ticket(hub: Hub, asset_id: str, fault_type: str) -> Ticket:
    found = wait_for(lambda: ticket_rows(hub, asset_id, fault_type), what=f"a {fault_type} ticket on {asset_id}")
    assert len(found) == 1
    return found[0]


def after_more_readings(hub: Hub, device_id: str, n: int = 4) -> None:
    seen = telemetry_count(hub, device_id)
    wait_for(lambda: telemetry_count(hub, device_id) >= seen + n, what=f"{n} more readings from {device_id}")


@pytest.mark.slow
def test_printer_faults_open_once_escalate_and_resolve(live: tuple[Hub, FleetThread]) -> None:
    hub, fleet = live
    assert hub.database is not None
    with hub.database.sessions() as session:
        coffee = session.get(Asset, "atlas/coffee-machine")
        assert coffee is not None and coffee.make_model == "Jura X8" and str(coffee.warranty_until) == "2027-03-01"
    fleet.inject("atlas-printer", Fault.JAM)
    jam = one_ticket(hub, "atlas-printer", "jam")
    assert (jam.priority, jam.source, jam.room_id) == ("high", "sensor", "atlas")
    after_more_readings(hub, "atlas-printer")  # still jammed: no second ticket, no new occurrence
    assert [t.occurrences for t in ticket_rows(hub, "atlas-printer", "jam")] == [1]
    wait_for(lambda: ticket_rows(hub, "atlas-printer", "jam")[0].escalation_level >= 1, what="escalation")
    fleet.clear("atlas-printer", Fault.JAM)
    wait_for(lambda: ticket_rows(hub, "atlas-printer", "jam")[0].status == "resolved", what="resolved on recovery")
    events = history(hub, jam.id)
    assert events[0] == "opened" and "escalated" in events and events[-2:] == ["recovered", "transition"]

    fleet.inject("atlas-printer", Fault.PAPER_OUT)
    assert one_ticket(hub, "atlas-printer", "paper_out").priority == "high"
    fleet.clear("atlas-printer", Fault.PAPER_OUT)
    wait_for(lambda: ticket_rows(hub, "atlas-printer", "paper_out")[0].status == "resolved", what="paper loaded")

    fleet.inject("atlas-printer", Fault.OFFLINE)
    offline = one_ticket(hub, "atlas-printer", "offline")
    fleet.clear("atlas-printer", Fault.OFFLINE)
    wait_for(lambda: ticket_rows(hub, "atlas-printer", "offline")[0].status == "resolved", what="back online")
    assert "recovered" in history(hub, offline.id)


@pytest.mark.slow
def test_sensor_faults_and_alarms_open_the_right_tickets(live: tuple[Hub, FleetThread]) -> None:
    hub, fleet = live
    fleet.inject("atlas-safe", Fault.SMOKE)
    smoke = one_ticket(hub, "atlas-safe", "smoke")
    assert smoke.priority == "critical"
    fleet.clear("atlas-safe", Fault.SMOKE)
    wait_for(lambda: "recovered" in history(hub, smoke.id), what="the all-clear noted")
    assert ticket_rows(hub, "atlas-safe", "smoke")[0].status == "open"  # a person checks after smoke

    fleet.inject("atlas-safe", Fault.BATTERY_LOW)
    one_ticket(hub, "atlas-safe", "battery_low")
    fleet.clear("atlas-safe", Fault.BATTERY_LOW)
    wait_for(lambda: ticket_rows(hub, "atlas-safe", "battery_low")[0].status == "resolved", what="new battery")

    for fault, fault_type in ((Fault.CO, "carbon_monoxide"), (Fault.LEAK, "leak")):
        fleet.inject("atlas-safe", fault)
        assert one_ticket(hub, "atlas-safe", fault_type).priority == "critical"
        fleet.clear("atlas-safe", fault)

    fleet.inject("atlas-env", Fault.STUCK)
    one_ticket(hub, "atlas-env", "stuck")
    fleet.clear("atlas-env", Fault.STUCK)
    wait_for(lambda: ticket_rows(hub, "atlas-env", "stuck")[0].status == "resolved", what="moving again")

    fleet.inject("atlas-env", Fault.OUT_OF_RANGE)
    one_ticket(hub, "atlas-env", "out_of_range")
    fleet.clear("atlas-env", Fault.OUT_OF_RANGE)

    door = fleet.device("atlas-door")
    assert isinstance(door, DoorDisplay)
    fleet.call(door.press, DisplayButton.REPORT_PROBLEM, None, "The screen is dead")
    reported = wait_for(lambda: ticket_rows_in_room(hub, "reported"), what="the panel's ticket")
    assert (reported[0].source, reported[0].room_id, reported[0].description) == (
        "panel",
        "atlas",
        "The screen is dead",
    )


def ticket_rows_in_room(hub: Hub, fault_type: str) -> list[Ticket]:
    assert hub.database is not None
    with hub.database.sessions() as session:
        rows = session.scalars(
            sa.select(Ticket).where(Ticket.fault_type == fault_type, Ticket.room_id == "atlas")
        ).all()
        session.expunge_all()
        return list(rows)


def test_a_hub_with_a_bad_rules_file_refuses_to_start(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[kinds.environment.co2_high]\nabove = 1500\nfor = "15 fortnights"\n')
    with pytest.raises(ConfigError, match=r"rules.toml, line 3: kinds.environment.co2_high.for: .*not a duration"):
        Hub(Settings(fault_rules_file=rules, database_url="sqlite://"))
