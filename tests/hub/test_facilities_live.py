"""Facilities over a real broker and database: smoke takes a room out of order, prints open preventive work."""

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion

from devices.codec import encode
from devices.payloads import PrintBadge, RoomState
from devices.site import load_building
from devices.topics import Channel, device_topic, hub_notifications_topic
from devices.transport import BrokerEndpoint, MqttProtocol
from firmware_sim.badge_printer import BadgePrinter
from firmware_sim.door_display import DoorDisplay
from firmware_sim.faults import Fault
from firmware_sim.fleet import Fleet, FleetThread
from hub.runtime import Hub
from hub.store.facilities_models import PreventiveSchedule, SafetyIncident
from hub.store.room_live_models import RoomLive
from hub.store.ticket_models import Ticket
from tests.brokers import TestBroker
from tests.helpers import Publisher, wait_for
from tests.hub.conftest import StartHub

SMALL_SITE = """
[site]
id = "hq"
name = "Atrium HQ"
timezone = "Europe/London"

[[floors]]
id = "ground"
name = "Ground floor"

[[floors.rooms]]
id = "reception"
name = "Reception"
bookable = false
devices = [{ id = "reception-printer-1", kind = "badge_printer" }]

[[floors.rooms]]
id = "atlas"
name = "Atlas"
capacity = 8
devices = [{ id = "atlas-safe", kind = "safety" }, { id = "atlas-door", kind = "door_display" }]
"""

SCHEDULES = """
[[schedule]]
asset = "reception-printer-1"
task = "Clean the print head and rollers"
every_prints = 5000
lead_pct = 0
"""


@pytest.fixture
def site_file(tmp_path: Path) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(SMALL_SITE, encoding="utf-8")
    return path


def retained(endpoint: BrokerEndpoint, topic: str, timeout: float = 10.0) -> dict[str, Any]:
    """What a device subscribing now would get: the topic's retained message."""
    got: list[dict[str, Any]] = []
    done = threading.Event()

    def received(_c: Any, _u: Any, message: paho.MQTTMessage) -> None:
        got.append(json.loads(message.payload))
        done.set()

    protocol = paho.MQTTv5 if endpoint.protocol is MqttProtocol.V5 else paho.MQTTv311
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="late-display", protocol=protocol)
    client.on_message = received
    client.connect(endpoint.host, endpoint.port)
    client.subscribe(topic, qos=1)
    client.loop_start()
    try:
        assert done.wait(timeout), f"nothing retained on {topic}"
        return got[0]
    finally:
        client.disconnect()
        client.loop_stop()


def incidents(hub: Hub) -> list[SafetyIncident]:
    assert hub.database is not None
    with hub.database.sessions() as session:
        return list(session.scalars(sa.select(SafetyIncident)).all())


@pytest.mark.slow
def test_smoke_opens_one_incident_and_the_door_display_shows_the_room_out_of_order(
    broker: TestBroker, start_hub: StartHub, site_file: Path
) -> None:
    notes: list[dict[str, Any]] = []
    listener = Publisher(broker.endpoint, client_id="notification-bridge")
    listener.client.on_message = lambda _c, _u, message: notes.append(json.loads(message.payload))
    listener.client.subscribe(hub_notifications_topic("hq"), qos=1)
    hub = start_hub(building=str(site_file))
    fleet = FleetThread(Fleet(load_building(site_file), broker.endpoint, interval_s=0.5)).start()
    try:
        assert fleet.wait_online(30)
        display = fleet.device("atlas-door")
        assert isinstance(display, DoorDisplay)
        wait_for(lambda: display.room_state is not None, what="the display's first room state")
        fleet.inject("atlas-safe", Fault.SMOKE)
        wait_for(
            lambda: display.room_state is not None and display.room_state.state is RoomState.OUT_OF_ORDER,
            what="the simulated door display showing out of order",
        )
        state = retained(broker.endpoint, device_topic("hq", "atlas-door", Channel.COMMAND))
        assert state["state"] == "out_of_order"
        wait_for(lambda: incidents(hub) and incidents(hub)[0].alarms >= 3, what="the alarm repeating")
        [incident] = incidents(hub)  # repeats are counted, not new incidents
        assert (incident.hazard, incident.status, incident.room_id) == ("smoke", "active", "atlas")
        assert [e.what for e in incident.timeline][:3] == ["detected", "out_of_order", "notified"]
        wait_for(lambda: len([n for n in notes if n["kind"] == "safety_incident"]) == 2, what="both teams told")
        assert {n["to"] for n in notes} == {"facilities", "reception"}

        fleet.clear("atlas-safe", Fault.SMOKE)
        wait_for(lambda: incidents(hub)[0].status == "cleared", what="the incident cleared")
        assert hub.database is not None
        with hub.database.sessions() as session:
            assert session.get_one(RoomLive, "atlas").out_of_order  # until staff close it
    finally:
        fleet.stop()
        listener.close()


@pytest.mark.slow
def test_the_printers_5000th_print_opens_one_preventive_ticket(
    broker: TestBroker, start_hub: StartHub, site_file: Path, tmp_path: Path
) -> None:
    schedules = tmp_path / "preventive.toml"
    schedules.write_text(SCHEDULES, encoding="utf-8")
    hub = start_hub(building=str(site_file), preventive_file=schedules)
    fleet = Fleet(load_building(site_file), broker.endpoint, interval_s=30)
    printer = fleet.device("reception-printer-1")
    assert isinstance(printer, BadgePrinter)
    printer.prints_total = 4_998  # a printer well into its life: the counter starts here
    running = FleetThread(fleet).start()
    publisher = Publisher(broker.endpoint)
    try:
        assert running.wait_online(30)

        def print_one(job: str) -> None:
            command = PrintBadge(id=job, ts=datetime.now(UTC), job_id=job, zpl="^XA^FDAda^FS^XZ")
            topic = device_topic("hq", "reception-printer-1", Channel.COMMAND)
            publisher.publish(topic, encode(command))
            wait_for(lambda: any(done.job_id == job for done in printer.printed), what=f"{job} printed")

        def preventive_tickets() -> list[Ticket]:
            assert hub.database is not None
            with hub.database.sessions() as session:
                return list(session.scalars(sa.select(Ticket).where(Ticket.source == "preventive")).all())

        print_one("job-4999")
        wait_for(lambda: _meter(hub) == 4999, what="the meter counting the 4,999th print")
        assert preventive_tickets() == []
        print_one("job-5000")
        [ticket] = wait_for(preventive_tickets, what="the preventive ticket")
        assert ticket.asset_id == "reception-printer-1"
        assert ticket.title.startswith("Preventive: Clean the print head and rollers")
        print_one("job-5001")
        wait_for(lambda: _meter(hub) == 5001, what="the meter counting the next print")
        [again] = preventive_tickets()
        assert (again.id, again.occurrences) == (ticket.id, 1)  # once per due cycle
    finally:
        publisher.close()
        running.stop()


def _meter(hub: Hub) -> float | None:
    assert hub.database is not None
    with hub.database.sessions() as session:
        return session.scalars(sa.select(PreventiveSchedule.meter)).one_or_none()
