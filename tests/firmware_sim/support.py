"""What the simulator's tests share: a plain paho observer, a small building and bounded waiting."""

import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from devices.codec import DeviceMessage, decode, encode
from devices.kinds import DeviceKind
from devices.payloads import CommandBase, Envelope
from devices.site import Building, DeviceSpec, FloorSpec, RoomSpec, SiteInfo
from devices.topics import Channel, Topic, device_topic, subscriptions
from devices.transport import BrokerEndpoint, MqttProtocol

SITE = "test"


def free_port() -> int:
    """A local TCP port nobody listens on, for an unreachable broker."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def eventually(condition: Callable[[], object], *, timeout: float = 10.0, what: str = "condition") -> None:
    """Poll until ``condition()`` is true; fail naming ``what`` if ``timeout`` passes first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def small_building(*kinds: DeviceKind, capacity: int = 8) -> Building:
    """One meeting room with one device of each kind asked for, ids ``<kind>-<n>`` (``_`` -> ``-``)."""
    devices = [
        DeviceSpec(id=f"{kind.value.replace('_', '-')}-{n}", kind=kind) for n, kind in enumerate(kinds or DeviceKind)
    ]
    room = RoomSpec(id="atlas", name="Atlas", capacity=capacity, equipment=["screen"], devices=devices)
    return Building(
        site=SiteInfo(id=SITE, name="Test site", timezone="Europe/London"),
        floors=[FloorSpec(id="ground", name="Ground", rooms=[room])],
    )


@dataclass(frozen=True)
class Received:
    """One message the observer saw, decoded with the device contract."""

    topic: Topic
    message: DeviceMessage
    retained: bool


class Observer:
    """A plain paho client (with its own network thread) that records every device message of a site.

    With ``persistent`` it keeps a broker session, so messages published while it is away (a broker
    restart) are queued for it and nothing is missed.
    """

    def __init__(self, endpoint: BrokerEndpoint, *, site: str = SITE, persistent: bool = False) -> None:
        self.site = site
        self.received: list[Received] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        v5 = endpoint.protocol is MqttProtocol.V5
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"observer-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else not persistent,
        )
        client.reconnect_delay_set(1, 1)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._client = client
        if v5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = 3600 if persistent else 0
            client.connect(
                endpoint.host, endpoint.port, keepalive=10, clean_start=not persistent, properties=properties
            )
        else:
            client.connect(endpoint.host, endpoint.port, keepalive=10)
        client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("the observer could not subscribe")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        client.subscribe([(topic_filter, 1) for topic_filter in subscriptions(self.site)])

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, properties: Any) -> None:
        self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            topic = Topic.parse(message.topic)
            decoded = decode(topic, bytes(message.payload))
        except ValueError as error:
            with self._lock:
                self.errors.append(f"{message.topic}: {error}")
            return
        with self._lock:
            self.received.append(Received(topic, decoded, bool(message.retain)))

    def send(self, device_id: str, command: CommandBase) -> None:
        """Send a command to a device as the hub would."""
        self.send_raw(device_id, encode(command))

    def send_raw(self, device_id: str, payload: bytes) -> None:
        """Send any bytes to a device's command topic."""
        self._client.publish(device_topic(self.site, device_id, Channel.COMMAND), payload, qos=1).wait_for_publish(5)

    def messages(self, device_id: str, channel: Channel | None = None) -> list[Any]:
        """Decoded messages from one device, in arrival order, optionally of one channel."""
        with self._lock:
            return [
                r.message
                for r in self.received
                if r.topic.device_id == device_id and (channel is None or r.topic.channel is channel)
            ]

    def telemetry(self, device_id: str) -> list[Any]:
        return self.messages(device_id, Channel.TELEMETRY)

    def events(self, device_id: str) -> list[Any]:
        return self.messages(device_id, Channel.EVENT)

    def states(self, device_id: str) -> list[Any]:
        return self.messages(device_id, Channel.STATE)

    def availability(self, device_id: str) -> list[bool]:
        """Each ``online`` (True) / ``offline`` (False) seen from the device, in order."""
        return [m.online for m in self.messages(device_id, Channel.AVAILABILITY)]

    def seqs(self, device_id: str) -> list[int]:
        """Sequence numbers of every enveloped message from the device, in arrival order."""
        return [m.seq for m in self.messages(device_id) if isinstance(m, Envelope)]

    def retained(self, device_id: str, channel: Channel) -> list[Any]:
        """Messages of a channel that arrived as retained copies (sent before the observer subscribed)."""
        with self._lock:
            return [
                r.message
                for r in self.received
                if r.topic.device_id == device_id and r.topic.channel is channel and r.retained
            ]
