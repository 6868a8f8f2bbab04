"""The hub confirms end to end what it committed, and finds (and forgets, once filled) sequence gaps."""

import threading
from collections.abc import Iterator

import paho.mqtt.client as paho
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from devices.codec import decode_command
from devices.payloads import Committed
from devices.topics import Channel, device_topic
from devices.transport import BrokerEndpoint
from hub.api.app import create_app
from hub.runtime import Hub
from hub.services.principals import Role
from hub.store.registry import ingest_totals
from tests.access import headers_for
from tests.brokers import TestBroker
from tests.helpers import Publisher, environment_payload, wait_for
from tests.hub.conftest import StartHub

SITE = "fleet"
ENV = "dev-00001"


class CommandListener:
    """Records the ``committed`` commands the hub sends one device."""

    def __init__(self, endpoint: BrokerEndpoint, device_id: str) -> None:
        self.confirmed: set[int] = set()
        self.commands: list[Committed] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"listener-{device_id}")
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_args: self._subscribed.set()
        self.client.connect(endpoint.host, endpoint.port)
        self.client.loop_start()
        self.client.subscribe(device_topic(SITE, device_id, Channel.COMMAND), qos=1)
        assert self._subscribed.wait(10)

    def _on_message(self, _client: paho.Client, _userdata: object, message: paho.MQTTMessage) -> None:
        command = decode_command(bytes(message.payload))
        assert isinstance(command, Committed)
        with self._lock:
            self.commands.append(command)
            for first, last in command.ranges:
                self.confirmed.update(range(first, last + 1))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def listener(broker: TestBroker) -> Iterator[CommandListener]:
    listening = CommandListener(broker.endpoint, ENV)
    yield listening
    listening.close()


def test_the_hub_confirms_what_it_committed_out_of_order_and_again_for_a_repeat(
    broker: TestBroker, start_hub: StartHub, listener: CommandListener
) -> None:
    start_hub()
    publisher = Publisher(broker.endpoint)
    telemetry = device_topic(SITE, ENV, Channel.TELEMETRY)
    for seq in (0, 1, 2, 5, 3):
        publisher.publish(telemetry, environment_payload(ENV, seq))
    wait_for(lambda: listener.confirmed == {0, 1, 2, 3, 5}, what="seqs 0-3 and 5 confirmed")
    confirmations = len(listener.commands)
    publisher.publish(telemetry, environment_payload(ENV, 1))  # a device that missed its confirmation sends again
    publisher.close()
    wait_for(lambda: len(listener.commands) > confirmations, what="the repeat confirmed again")
    assert listener.commands[-1].ranges == [(1, 1)]


@pytest.mark.slow
def test_a_gap_is_counted_after_its_grace_shown_by_the_api_and_closed_by_a_replay(
    broker: TestBroker, start_hub: StartHub
) -> None:
    hub = start_hub(seq_gap_grace_s=0.5, seq_gap_max_span=1000)
    publisher = Publisher(broker.endpoint)
    telemetry = device_topic(SITE, ENV, Channel.TELEMETRY)
    for seq in [0, 1, 2, 3, 4, 7, 8, 9, 5000]:  # 5 and 6 missing; 5000 is a reset counter, not a gap
        publisher.publish(telemetry, environment_payload(ENV, seq))
    wait_for(lambda: gaps(hub) == 2, what="the two missing messages counted")
    assert hub.database is not None
    staff = headers_for(hub.database, hub.settings, Role.FACILITIES)
    with TestClient(create_app(hub.settings, hub=hub), headers=staff) as client:
        shown = client.get(f"/devices/{ENV}/gaps").json()
        assert shown["missing"] == 2
        assert shown["gaps"] == [{"first": 5, "last": 6}]
        assert client.get("/ingest/stats").json()["gaps"] == 2
        assert client.get("/devices/no-such-device/gaps").status_code == 404

        for seq in (6, 5):  # the device's replay, out of order
            publisher.publish(telemetry, environment_payload(ENV, seq))
        publisher.close()
        wait_for(lambda: gaps(hub) == 0, what="the filled gap un-counted")
        assert client.get(f"/devices/{ENV}/gaps").json()["gaps"] == []


def gaps(hub: Hub) -> int:
    assert hub.database is not None
    with hub.database.sessions() as session:
        found = ingest_totals(session)["gaps"]
    assert isinstance(found, int)
    return found
