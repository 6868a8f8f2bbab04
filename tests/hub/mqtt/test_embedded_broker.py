"""The embedded broker: retained messages reach only the clients that subscribed to them."""

import time
from collections.abc import Iterator

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices.transport import BrokerEndpoint, MqttProtocol
from hub.mqtt.embedded_broker import EmbeddedBroker, free_port
from tests.helpers import wait_for


@pytest.fixture
def embedded() -> Iterator[BrokerEndpoint]:
    broker = EmbeddedBroker(port=free_port())
    endpoint = broker.start()
    yield endpoint
    broker.stop()


class Client:
    def __init__(self, endpoint: BrokerEndpoint, client_id: str) -> None:
        self.received: list[str] = []
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv311)
        self.subacks = 0
        self.client.on_message = lambda _c, _u, message: self.received.append(message.topic)
        self.client.on_subscribe = lambda *_: setattr(self, "subacks", self.subacks + 1)
        self.client.connect(endpoint.host, endpoint.port)
        self.client.loop_start()

    def subscribe(self, topic: str) -> None:
        """Subscribe and wait for the broker's SUBACK, so what is published next is sure to be heard."""
        wanted = self.subacks + 1
        self.client.subscribe(topic, qos=1)
        wait_for(lambda: self.subacks >= wanted, what=f"the broker acknowledging {topic}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_the_embedded_broker_speaks_mqtt_311_on_the_port_it_reports(embedded: BrokerEndpoint) -> None:
    assert embedded.protocol is MqttProtocol.V311
    probe = Client(embedded, "probe")
    wait_for(probe.client.is_connected, what="a connection")
    probe.close()


def test_a_connecting_client_gets_no_retained_message_it_did_not_subscribe_to(embedded: BrokerEndpoint) -> None:
    hub = Client(embedded, "hub")
    hub.subscribe("site/+/state")
    publisher = Client(embedded, "device-a")
    publisher.client.publish("site/device-a/state", b"a", qos=1, retain=True).wait_for_publish(5)
    wait_for(lambda: hub.received == ["site/device-a/state"], what="the hub hearing the state")

    device_b = Client(embedded, "device-b")
    device_b.subscribe("site/device-b/command")
    late_subscriber = Client(embedded, "dashboard")
    late_subscriber.client.subscribe("site/+/state", qos=1)
    wait_for(lambda: late_subscriber.received == ["site/device-a/state"], what="retained state on subscribe")
    time.sleep(0.5)
    assert device_b.received == []
    for client in (hub, publisher, device_b, late_subscriber):
        client.close()
