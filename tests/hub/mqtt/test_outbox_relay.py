"""The outbox over a real broker and database: committed messages are published once, in order."""

from datetime import UTC, datetime

import paho.mqtt.client as paho
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion

from devices.transport import BrokerEndpoint, MqttProtocol
from hub.runtime import Database
from hub.store.outbox import OutboxMessage, enqueue
from tests.brokers import TestBroker
from tests.databases import ScratchDatabase
from tests.helpers import wait_for
from tests.hub.conftest import StartHub


class Listener:
    def __init__(self, endpoint: BrokerEndpoint, topic: str) -> None:
        self.payloads: list[bytes] = []
        protocol = paho.MQTTv5 if endpoint.protocol is MqttProtocol.V5 else paho.MQTTv311
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="outbox-listener", protocol=protocol)
        self.client.on_message = lambda _c, _u, message: self.payloads.append(bytes(message.payload))
        self.client.connect(endpoint.host, endpoint.port)
        self.client.subscribe(topic, qos=1)
        self.client.loop_start()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def unpublished(database: Database) -> int:
    with database.sessions() as session:
        query = sa.select(sa.func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))
        return session.scalar(query) or 0


def test_committed_messages_are_published_in_order_and_a_rolled_back_one_never(
    broker: TestBroker, start_hub: StartHub
) -> None:
    hub = start_hub()
    assert hub.database is not None
    listener = Listener(broker.endpoint, "test/outbox/#")
    wait_for(listener.client.is_connected, what="listener connected")
    now = datetime.now(UTC)
    with hub.database.sessions.begin() as session:
        for n in range(5):
            enqueue(session, topic="test/outbox/a", payload=f"m{n}".encode(), now=now)
    session = hub.database.sessions()
    with session.begin():
        enqueue(session, topic="test/outbox/a", payload=b"never", now=now)
        session.rollback()
    session.close()
    wait_for(lambda: len(listener.payloads) >= 5, what="the five committed messages")
    wait_for(lambda: unpublished(hub.database) == 0 if hub.database else False, what="rows marked published")
    assert listener.payloads == [b"m0", b"m1", b"m2", b"m3", b"m4"]
    listener.close()


def test_messages_committed_while_no_hub_runs_are_published_when_it_starts(
    broker: TestBroker, database: ScratchDatabase, start_hub: StartHub
) -> None:
    offline = Database.open(database.url)
    with offline.sessions.begin() as session:
        enqueue(session, topic="test/outbox/display", payload=b"state", now=datetime.now(UTC), retain=True)
    offline.close()
    hub = start_hub()
    assert hub.database is not None
    wait_for(lambda: unpublished(hub.database) == 0 if hub.database else False, what="the waiting message published")
    late = Listener(broker.endpoint, "test/outbox/display")
    wait_for(lambda: late.payloads == [b"state"], what="the retained message for a late subscriber")
    late.close()
