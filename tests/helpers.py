"""Small helpers shared by tests: bounded waiting, a plain MQTT publisher, payload builders."""

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from devices.codec import encode
from devices.kinds import DeviceKind
from devices.payloads import EnvironmentTelemetry, OccupancyTelemetry
from devices.site import Building
from devices.topics import hub_notifications_topic
from devices.transport import BrokerEndpoint, MqttProtocol

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 20.0, interval: float = 0.05, what: str = "") -> T:
    """Poll until ``predicate()`` is truthy and return it; fail the test with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


class Publisher:
    """A plain paho client that publishes whatever a test gives it, as any device or attacker could."""

    def __init__(self, endpoint: BrokerEndpoint, client_id: str = "test-publisher", *, max_inflight: int = 20) -> None:
        protocol = paho.MQTTv5 if endpoint.protocol is MqttProtocol.V5 else paho.MQTTv311
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
        self.client.max_inflight_messages_set(max_inflight)
        self.client.connect(endpoint.host, endpoint.port)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_for_retained(endpoint: BrokerEndpoint, topic: str, payload: bytes, timeout: float = 30.0) -> None:
    """Block until ``topic`` holds the retained ``payload`` (e.g. a hub announcing itself online)."""
    seen: list[bytes] = []
    protocol = paho.MQTTv5 if endpoint.protocol is MqttProtocol.V5 else paho.MQTTv311
    watcher = paho.Client(CallbackAPIVersion.VERSION2, client_id="test-watcher", protocol=protocol)
    watcher.on_message = lambda _c, _u, message: seen.append(bytes(message.payload))
    watcher.connect(endpoint.host, endpoint.port)
    watcher.loop_start()
    try:
        while True:
            seen.clear()
            watcher.subscribe(topic, qos=1)
            try:
                wait_for(lambda: payload in seen, timeout=1.0, what=f"{payload!r} on {topic}")
                return
            except AssertionError:
                watcher.unsubscribe(topic)
                timeout -= 1.0
                if timeout <= 0:
                    raise
    finally:
        watcher.disconnect()
        watcher.loop_stop()


def environment_payload(device_id: str, seq: int, co2: float = 600.0) -> bytes:
    """A valid environment reading."""
    return encode(
        EnvironmentTelemetry(
            v=1,
            device_id=device_id,
            seq=seq,
            ts=datetime.now(UTC),
            kind=DeviceKind.ENVIRONMENT,
            temperature_c=21.5,
            humidity_pct=40.0,
            co2_ppm=co2,
        )
    )


def occupancy_payload(device_id: str, seq: int, people: int = 2) -> bytes:
    """A valid occupancy reading."""
    return encode(
        OccupancyTelemetry(
            v=1,
            device_id=device_id,
            seq=seq,
            ts=datetime.now(UTC),
            kind=DeviceKind.OCCUPANCY,
            presence=people > 0,
            people=people,
        )
    )


def printers_only(building: Building) -> Building:
    """The building with only its badge printers, so a simulated fleet of it stays small."""
    document = building.model_dump()
    for floor in document["floors"]:
        for room in floor["rooms"]:
            room["devices"] = [d for d in room["devices"] if d["kind"] == DeviceKind.BADGE_PRINTER]
    return Building.model_validate(document)


class Notifications:
    """What the hub tells people, as a mail or chat bridge receives it from the broker."""

    def __init__(self, endpoint: BrokerEndpoint, client_id: str = "test-notification-bridge", site: str = "hq") -> None:
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        protocol = paho.MQTTv5 if endpoint.protocol is MqttProtocol.V5 else paho.MQTTv311
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
        self.client.on_message = self._received
        self.client.connect(endpoint.host, endpoint.port)
        self.client.subscribe(hub_notifications_topic(site), qos=1)
        self.client.loop_start()

    def _received(self, _c: Any, _u: Any, message: paho.MQTTMessage) -> None:
        with self._lock:
            self.received.append(json.loads(message.payload))

    def kinds(self) -> list[str]:
        with self._lock:
            return [note["kind"] for note in self.received]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [note for note in self.received if note["kind"] == kind]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
