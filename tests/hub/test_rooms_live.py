"""Meeting rooms over a real broker and database: door displays follow bookings, sensors and buttons."""

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as paho
import pytest
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion

from devices.codec import encode
from devices.kinds import DeviceKind
from devices.payloads import ButtonPressed, DisplayButton, OccupancyTelemetry, RoomState
from devices.site import SAMPLE_BUILDING, load_building
from devices.topics import Channel, device_topic, hub_notifications_topic
from devices.transport import BrokerEndpoint, MqttProtocol
from firmware_sim.door_display import DoorDisplay
from firmware_sim.fleet import Fleet, FleetThread
from hub.runtime import Hub
from hub.services import bookings
from hub.store.booking_models import Booking, BookingSource, BookingStatus
from tests.brokers import TestBroker
from tests.helpers import Publisher, wait_for
from tests.hub.conftest import StartHub

ROOM, DOOR, OCC = "atlas", "atlas-door", "atlas-occ"
ADA = bookings.Person(email="ada@example.com", name="Ada Lovelace")
FAST_RULES = {"occupancy_release_after_s": 3, "occupancy_stale_after_s": 60}


class Watcher:
    """Listens to a door display's command topic and the hub's notifications, as the display would."""

    def __init__(self, endpoint: BrokerEndpoint) -> None:
        self.states: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        protocol = paho.MQTTv5 if endpoint.protocol is MqttProtocol.V5 else paho.MQTTv311
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="room-watcher", protocol=protocol)
        self.client.on_message = self._received
        self.client.connect(endpoint.host, endpoint.port)
        self.client.subscribe([(device_topic("hq", DOOR, Channel.COMMAND), 1), (hub_notifications_topic("hq"), 1)])
        self.client.loop_start()

    def _received(self, _c: Any, _u: Any, message: paho.MQTTMessage) -> None:
        body = json.loads(message.payload)
        with self._lock:
            if message.topic.endswith("notifications"):
                self.notifications.append(body)
            elif body.get("cmd") == "room_state":  # the display's command topic also carries commit confirmations
                self.states.append(body)

    def state(self) -> str | None:
        with self._lock:
            return self.states[-1]["state"] if self.states else None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def book(hub: Hub, *, minutes_ago: float, minutes: int = 30, title: str = "Design review") -> int:
    assert hub.database is not None
    now = datetime.now(UTC)
    start = now - timedelta(minutes=minutes_ago)
    with hub.database.sessions.begin() as session:
        booking = bookings.create_booking(
            session,
            room_id=ROOM,
            title=title,
            start=start,
            end=start + timedelta(minutes=minutes),
            organiser=ADA,
            now=now,
        )
        return booking.id


def status_of(hub: Hub, booking_id: int) -> str:
    assert hub.database is not None
    with hub.database.sessions() as session:
        found = session.get(Booking, booking_id)
        assert found is not None
        return found.status


def occupancy(publisher: Publisher, seq: int, people: int) -> None:
    reading = OccupancyTelemetry(
        v=1,
        device_id=OCC,
        seq=seq,
        ts=datetime.now(UTC),
        kind=DeviceKind.OCCUPANCY,
        presence=people > 0,
        people=people,
    )
    publisher.publish(device_topic("hq", OCC, Channel.TELEMETRY), encode(reading))


@pytest.fixture
def watcher(broker: TestBroker) -> Any:
    watching = Watcher(broker.endpoint)
    wait_for(watching.client.is_connected, what="the watcher connected")
    yield watching
    watching.close()


@pytest.mark.slow
def test_a_booking_nobody_comes_to_is_released_and_the_display_goes_back_to_free(
    broker: TestBroker, start_hub: StartHub, watcher: Watcher
) -> None:
    hub = start_hub(building=str(SAMPLE_BUILDING), **FAST_RULES)
    booking_id = book(hub, minutes_ago=1)
    wait_for(lambda: watcher.state() == RoomState.BOOKED, what="the display showing the booking")
    publisher = Publisher(broker.endpoint)
    occupancy(publisher, 1, people=0)  # the sensor is alive and sees nobody
    wait_for(lambda: status_of(hub, booking_id) == BookingStatus.RELEASED, what="the booking released")
    wait_for(lambda: watcher.state() == RoomState.FREE, what="the display free again")
    wait_for(lambda: any(n["kind"] == "booking_released" for n in watcher.notifications), what="the organiser told")
    assert [n["to"] for n in watcher.notifications if n["kind"] == "booking_released"] == [ADA.email]
    publisher.close()


@pytest.mark.slow
def test_people_in_the_room_check_the_meeting_in_and_the_display_shows_it_in_use(
    broker: TestBroker, start_hub: StartHub, watcher: Watcher
) -> None:
    hub = start_hub(building=str(SAMPLE_BUILDING), **FAST_RULES)
    booking_id = book(hub, minutes_ago=1)
    publisher = Publisher(broker.endpoint)
    occupancy(publisher, 1, people=4)
    wait_for(lambda: status_of(hub, booking_id) == BookingStatus.CHECKED_IN, what="the meeting checked in")
    wait_for(lambda: watcher.state() == RoomState.IN_USE, what="the display showing it in use")
    publisher.close()


@pytest.mark.slow
def test_a_stale_sensor_never_releases_a_booking(broker: TestBroker, start_hub: StartHub, watcher: Watcher) -> None:
    hub = start_hub(building=str(SAMPLE_BUILDING), occupancy_release_after_s=1, occupancy_stale_after_s=1)
    publisher = Publisher(broker.endpoint)
    occupancy(publisher, 1, people=0)  # then the sensor dies
    booking_id = book(hub, minutes_ago=1)
    wait_for(lambda: watcher.state() == RoomState.BOOKED, what="the display showing the booking")
    hub_jobs = {job.name: job for job in (hub.scheduler.jobs if hub.scheduler else [])}
    rules_job = hub_jobs["apply occupancy rules"]
    runs = rules_job.next_at
    wait_for(lambda: rules_job.next_at > runs + 4, timeout=20, what="the rules running several times")
    assert status_of(hub, booking_id) == BookingStatus.BOOKED
    publisher.close()


@pytest.mark.slow
def test_book_now_on_a_simulated_door_display_creates_a_booking_it_then_shows(
    broker: TestBroker, start_hub: StartHub
) -> None:
    hub = start_hub(building=str(SAMPLE_BUILDING), **FAST_RULES)
    building = load_building(SAMPLE_BUILDING)
    fleet = FleetThread(Fleet(building, broker.endpoint, interval_s=30)).start()
    try:
        assert fleet.wait_online(60)
        display = fleet.device(DOOR)
        assert isinstance(display, DoorDisplay)
        wait_for(lambda: display.room_state is not None, what="the display's first room state")
        fleet.call(display.press, DisplayButton.BOOK_NOW, 30)
        wait_for(
            lambda: display.room_state is not None and display.room_state.state is RoomState.IN_USE,
            what="the display showing the walk-up meeting",
        )
        assert display.screen[1].startswith("In use: Booked at the door until")
        assert hub.database is not None
        with hub.database.sessions() as session:
            made = session.scalars(sa.select(Booking).where(Booking.room_id == ROOM)).one()
        assert made.source == BookingSource.DISPLAY
        assert made.ends_at - made.starts_at == timedelta(minutes=30)
        fleet.call(display.press, DisplayButton.BOOK_NOW, 30)  # the room is taken now: refused and counted
        wait_for(lambda: _counter(hub, "reaction_refused:door display button") == 1, what="the refusal counted")
    finally:
        fleet.stop()


def _counter(hub: Hub, name: str) -> int:
    from hub.store.journal import read_counters

    assert hub.database is not None
    with hub.database.sessions() as session:
        return read_counters(session).get(name, 0)


@pytest.mark.slow
def test_the_display_changes_by_itself_when_a_meeting_starts(
    broker: TestBroker, start_hub: StartHub, watcher: Watcher
) -> None:
    hub = start_hub(building=str(SAMPLE_BUILDING), **FAST_RULES)
    booking_id = book(hub, minutes_ago=-4 / 60)  # starts in four seconds
    wait_for(
        lambda: any(s["state"] == RoomState.FREE and s.get("free_until") for s in watcher.states),
        what="the room shown free until the meeting",
    )
    wait_for(lambda: watcher.state() == RoomState.BOOKED, timeout=30, what="the display turning at the start")
    assert status_of(hub, booking_id) == BookingStatus.BOOKED


@pytest.mark.slow
def test_a_replayed_button_press_acts_once(broker: TestBroker, start_hub: StartHub, watcher: Watcher) -> None:
    hub = start_hub(building=str(SAMPLE_BUILDING), **FAST_RULES)
    press = ButtonPressed(
        v=1,
        device_id=DOOR,
        seq=7,
        ts=datetime.now(UTC),
        kind=DeviceKind.DOOR_DISPLAY,
        event="button_pressed",
        button=DisplayButton.BOOK_NOW,
        minutes=15,
    )
    publisher = Publisher(broker.endpoint)
    for _ in range(3):
        publisher.publish(device_topic("hq", DOOR, Channel.EVENT), encode(press))
    publisher.close()
    wait_for(lambda: watcher.state() == RoomState.IN_USE, what="the walk-up meeting shown")
    wait_for(lambda: _counter(hub, "duplicates") == 2, what="the replays counted as duplicates")
    assert hub.database is not None
    with hub.database.sessions() as session:
        made = session.scalars(sa.select(Booking).where(Booking.room_id == ROOM)).all()
    assert len(made) == 1
    assert _counter(hub, "reaction_refused:door display button") == 0
