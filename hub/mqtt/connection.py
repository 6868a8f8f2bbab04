"""The hub's broker connection: persistent session, QoS 1, acknowledged only after commit.

paho runs its network loop on its own thread and reconnects by itself. Each delivered message is
tagged with the connection it came on: an acknowledgement is sent only on that same connection,
since after a reconnect the broker redelivers whatever was not acknowledged (and the store ignores
the repeat).
"""

import logging
import queue
import random
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from devices.topics import OFFLINE, ONLINE, hub_availability_topic, subscriptions
from devices.transport import BrokerEndpoint, MqttProtocol
from hub.errors import ConfigError
from hub.services.ingest import RawMessage

log = logging.getLogger(__name__)

RECEIVE_MAXIMUM = 2000
"""How many unacknowledged messages an MQTT 5 broker may have in flight to the hub."""
RECONNECT_MAX_S = 30
"""The longest wait between two reconnect attempts."""


def reconnect_delay(attempt: int, rng: random.Random, *, cap: int = RECONNECT_MAX_S) -> int:
    """Exponential backoff with jitter, in whole seconds (paho's unit): between half and all of 1, 2, 4... ``cap``.

    paho doubles its delay but adds no jitter, so hub workers that lost one broker would all come
    back in the same second; the connection sets each next delay itself instead.
    """
    ceiling = min(cap, 2 ** min(attempt, 16))
    return rng.randint(max(1, ceiling // 2), ceiling)


@dataclass(frozen=True, slots=True)
class Delivery:
    """A message from the broker, with what is needed to acknowledge it later."""

    raw: RawMessage
    mid: int
    qos: int
    connection: int


class HubConnection:
    """Receives device messages into ``inbox`` and acknowledges them when told."""

    def __init__(
        self,
        endpoint: BrokerEndpoint,
        *,
        site_id: str,
        client_id: str,
        inbox: "queue.Queue[Delivery]",
        keepalive: int = 30,
        session_expiry_s: int = 86_400,
        shared_group: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.site_id = site_id
        self.inbox = inbox
        self.keepalive = keepalive
        self.session_expiry_s = session_expiry_s
        self.shared_group = shared_group
        self._connection = 0
        self._connected = threading.Event()
        self._lock = threading.Lock()
        protocol = paho.MQTTv5 if endpoint.protocol is MqttProtocol.V5 else paho.MQTTv311
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=protocol,
            clean_session=None if protocol == paho.MQTTv5 else False,
            manual_ack=True,
            reconnect_on_failure=True,
        )
        self._client.max_queued_messages_set(0)
        self._reconnect_rng = random.Random()
        self._failed_attempts = 0
        self._client.reconnect_delay_set(min_delay=1, max_delay=1)
        self._client.on_connect_fail = self._next_reconnect_delay
        if endpoint.username:
            self._client.username_pw_set(endpoint.username, endpoint.password)
        if endpoint.tls:
            self._client.tls_set(ca_certs=endpoint.ca_file)
        self._client.will_set(hub_availability_topic(site_id), OFFLINE, qos=1, retain=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    @property
    def connected(self) -> bool:
        """Whether the hub is connected to the broker now."""
        return self._connected.is_set()

    def start(self, timeout: float = 10.0) -> None:
        """Connect and start the network thread; raises ConfigError when the broker cannot be reached."""
        options: dict[str, Any] = {}
        if self.endpoint.protocol is MqttProtocol.V5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = self.session_expiry_s
            properties.ReceiveMaximum = RECEIVE_MAXIMUM
            options = {"clean_start": False, "properties": properties}
        try:
            self._client.connect(self.endpoint.host, self.endpoint.port, keepalive=self.keepalive, **options)
        except OSError as error:
            raise ConfigError(
                f"cannot reach the MQTT broker at {self.endpoint.url}: {error.strerror or error}"
            ) from None
        self._client.loop_start()
        if not self._connected.wait(timeout):
            self._client.loop_stop()
            raise ConfigError(f"the MQTT broker at {self.endpoint.url} did not accept the hub's connection")

    def stop(self) -> None:
        """Announce the hub offline, disconnect cleanly and stop the network thread."""
        if self._connected.is_set():
            self._client.publish(hub_availability_topic(self.site_id), OFFLINE, qos=1, retain=True).wait_for_publish(5)
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()

    def ack(self, delivery: Delivery) -> None:
        """Acknowledge a committed message, if the connection it came on is still the current one."""
        if delivery.qos == 0:
            return
        with self._lock:
            if delivery.connection != self._connection or not self._connected.is_set():
                return
            self._client.ack(delivery.mid, delivery.qos)

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> paho.MQTTMessageInfo:
        """Publish from the hub; paho queues it while disconnected. Wait on the result for the PUBACK."""
        return self._client.publish(topic, payload, qos=qos, retain=retain)

    def _on_connect(
        self, client: paho.Client, _userdata: Any, flags: paho.ConnectFlags, reason: ReasonCode, _props: Any
    ) -> None:
        if reason.is_failure:
            log.error("the broker at %s refused the hub: %s", self.endpoint.url, reason)
            return
        with self._lock:
            self._connection += 1
        # Mosquitto (2.0) resumes a persistent session after its own restart without its shared
        # subscriptions, so a worker in a shared group subscribes again each time (a repeat is harmless).
        if not flags.session_present or self.shared_group:
            client.subscribe([(topic, 1) for topic in subscriptions(self.site_id, self.shared_group)])
        client.publish(hub_availability_topic(self.site_id), ONLINE, qos=1, retain=True)
        log.info("connected to %s (session %s)", self.endpoint.url, "resumed" if flags.session_present else "new")
        self._connected.set()
        self._failed_attempts = 0

    def _next_reconnect_delay(self, *_args: Any) -> None:
        """Set the wait before paho's next attempt (called after each failure, before paho waits)."""
        delay = reconnect_delay(self._failed_attempts, self._reconnect_rng)
        self._failed_attempts += 1
        self._client.reconnect_delay_set(min_delay=delay, max_delay=delay)

    def _on_disconnect(
        self, _client: paho.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        self._connected.clear()
        self._next_reconnect_delay()
        if reason.is_failure:
            log.warning("lost the broker at %s (%s); reconnecting", self.endpoint.url, reason)

    def _on_message(self, _client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        topic = message._topic.decode("utf-8", errors="replace")  # brokers forward only UTF-8, but be sure
        raw = RawMessage(topic=topic, payload=bytes(message.payload), received_at=datetime.now(UTC))
        self.inbox.put(Delivery(raw=raw, mid=message.mid, qos=message.qos, connection=self._connection))
