"""The hub over a real broker and a real database: bad input refused and counted, availability, restarts."""

import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices.codec import encode
from devices.kinds import DeviceKind
from devices.payloads import DeviceState, now_utc
from devices.topics import OFFLINE, ONLINE, Channel, device_topic
from devices.transport import MqttProtocol
from hub.mqtt.embedded_broker import free_port
from hub.runtime import Hub
from hub.settings import Settings
from hub.store.models import Device
from hub.store.registry import count_messages, ingest_totals, recent_dead_letters
from tests.brokers import TestBroker
from tests.helpers import Publisher, environment_payload, occupancy_payload, wait_for
from tests.hub.conftest import StartHub

SITE = "fleet"
OCC = "dev-00000"  # synthetic rooms: occupancy, environment, energy, safety, door display
ENV = "dev-00001"


def totals(hub: Hub) -> dict[str, Any]:
    assert hub.database is not None
    with hub.database.sessions() as session:
        return ingest_totals(session)


def device(hub: Hub, device_id: str) -> Device:
    assert hub.database is not None
    with hub.database.sessions() as session:
        found = session.get(Device, device_id)
        assert found is not None
        return found


def stored(hub: Hub, device_id: str | None = None) -> int:
    assert hub.database is not None
    with hub.database.sessions() as session:
        return count_messages(session, device_id)


def test_every_kind_of_bad_input_is_refused_and_counted_while_good_traffic_goes_on(
    broker: TestBroker, start_hub: StartHub
) -> None:
    hub = start_hub()
    publisher = Publisher(broker.endpoint)
    telemetry = device_topic(SITE, ENV, Channel.TELEMETRY)
    bad: dict[str, tuple[str, bytes]] = {
        "malformed": (telemetry, b'{"v": 1, "device_id": '),
        "invalid_schema": (telemetry, environment_payload(ENV, 900).replace(b'"co2_ppm":600.0', b'"co2_ppm":"lots"')),
        "unsupported_version": (telemetry, environment_payload(ENV, 901).replace(b'"v":1', b'"v":2')),
        "unknown_device": (device_topic(SITE, "intruder-1", Channel.TELEMETRY), environment_payload("intruder-1", 1)),
        "device_mismatch": (telemetry, environment_payload("dev-00006", 902)),
        "kind_mismatch": (telemetry, occupancy_payload(ENV, 903)),
        "oversize": (telemetry, b"{" + b" " * 20_000 + b"}"),
    }
    for seq in range(30):
        publisher.publish(telemetry, environment_payload(ENV, seq))
        if seq < len(bad):
            publisher.publish(*list(bad.values())[seq])
    publisher.close()

    wait_for(lambda: stored(hub, ENV) == 30, what="all 30 good readings stored")
    counted = wait_for(lambda: totals(hub)["rejected"] == len(bad) and totals(hub), what="every reject counted")
    assert counted["rejected_by_reason"] == {reason: 1 for reason in bad}
    assert counted["stored"] == 30
    assert hub.database is not None
    with hub.database.sessions() as session:
        letters = {letter.reason: letter for letter in recent_dead_letters(session)}
    assert set(letters) == set(bad)
    assert letters["malformed"].payload == bad["malformed"][1]
    assert "intruder-1" in letters["unknown_device"].detail
    assert hub.connection is not None and hub.connection.connected


def test_registry_learns_firmware_and_availability_from_birth_messages(broker: TestBroker, start_hub: StartHub) -> None:
    hub = start_hub()
    publisher = Publisher(broker.endpoint)
    state = DeviceState(
        v=1, device_id=OCC, seq=0, ts=now_utc(), kind=DeviceKind.OCCUPANCY, firmware="occ-2.4.1", report_interval_s=10
    )
    publisher.publish(device_topic(SITE, OCC, Channel.STATE), encode(state), retain=True)
    publisher.publish(device_topic(SITE, OCC, Channel.AVAILABILITY), ONLINE, retain=True)
    publisher.close()
    wait_for(lambda: device(hub, OCC).online, what="device online")
    found = device(hub, OCC)
    assert found.firmware == "occ-2.4.1"
    assert found.report_interval_s == 10
    assert found.last_seq == 0


@pytest.mark.slow
def test_a_device_that_vanishes_without_disconnecting_is_marked_offline_within_one_and_a_half_keepalives(
    broker: TestBroker, start_hub: StartHub
) -> None:
    hub = start_hub()
    keepalive = 4
    endpoint = broker.endpoint
    protocol = paho.MQTTv5 if endpoint.protocol is MqttProtocol.V5 else paho.MQTTv311
    firmware = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"atrium-{SITE}-{OCC}", protocol=protocol)
    availability = device_topic(SITE, OCC, Channel.AVAILABILITY)
    firmware.will_set(availability, OFFLINE, qos=1, retain=True)
    firmware.connect(endpoint.host, endpoint.port, keepalive=keepalive)
    firmware.loop_start()
    state = DeviceState(
        v=1,
        device_id=OCC,
        seq=0,
        ts=now_utc(),
        kind=DeviceKind.OCCUPANCY,
        firmware="1.0",
        report_interval_s=1,
        keepalive_s=keepalive,
    )
    firmware.publish(device_topic(SITE, OCC, Channel.STATE), encode(state), qos=1, retain=True).wait_for_publish(5)
    firmware.publish(availability, ONLINE, qos=1, retain=True).wait_for_publish(5)
    wait_for(lambda: device(hub, OCC).online, what="device online")

    firmware.loop_stop()  # the firmware hangs: no more pings, and no DISCONNECT
    vanished = time.monotonic()
    wait_for(lambda: device(hub, OCC).online is False, timeout=keepalive * 1.5 + 3, what="device offline")
    noticed_after = time.monotonic() - vanished
    socket = firmware.socket()
    if socket is not None:
        socket.close()
    # The hub's own silence check acts at 1.5 keepalives after the device's last word (brokers such as
    # Mosquitto 2.0 check keepalives only every few seconds); allow for the sweep period and a commit.
    assert noticed_after <= keepalive * 1.5 + 1


@pytest.mark.slow
@pytest.mark.faults
def test_messages_sent_while_the_hub_is_down_are_stored_when_it_returns(
    broker: TestBroker, start_hub: StartHub
) -> None:
    hub = start_hub()
    publisher = Publisher(broker.endpoint)
    telemetry = device_topic(SITE, ENV, Channel.TELEMETRY)
    for seq in range(50):
        publisher.publish(telemetry, environment_payload(ENV, seq))
    wait_for(lambda: stored(hub, ENV) == 50, what="first 50 stored")
    hub.stop()
    for seq in range(50, 300):
        publisher.publish(telemetry, environment_payload(ENV, seq))
    publisher.close()
    again = start_hub()
    wait_for(lambda: stored(again, ENV) == 300, what="the 250 queued while away stored too")
    assert device(again, ENV).last_seq == 299


def test_the_hub_ingests_over_the_embedded_broker_too(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'a.db'}",
        mqtt_url=None,
        embedded_mqtt_port=free_port(),
        building="synthetic:20",
    )
    hub = Hub(settings)
    hub.start()
    try:
        assert hub.broker is not None and hub.endpoint is not None
        assert hub.endpoint.protocol is MqttProtocol.V311
        publisher = Publisher(hub.endpoint)
        for seq in range(20):
            publisher.publish(device_topic(SITE, ENV, Channel.TELEMETRY), environment_payload(ENV, seq))
        publisher.publish(device_topic(SITE, ENV, Channel.TELEMETRY), b"not json")
        publisher.close()
        wait_for(lambda: stored(hub, ENV) == 20, what="20 readings stored")
        wait_for(lambda: totals(hub)["rejected_by_reason"] == {"malformed": 1}, what="the bad one counted")
    finally:
        hub.stop()


@pytest.mark.slow
@pytest.mark.faults
def test_the_hub_reconnects_after_a_broker_restart_and_keeps_ingesting(broker: TestBroker, start_hub: StartHub) -> None:
    hub = start_hub()
    assert hub.connection is not None
    publisher = Publisher(broker.endpoint)
    telemetry = device_topic(SITE, ENV, Channel.TELEMETRY)
    for seq in range(20):
        publisher.publish(telemetry, environment_payload(ENV, seq))
    publisher.close()
    wait_for(lambda: stored(hub, ENV) == 20, what="first 20 stored")
    broker.restart()
    wait_for(lambda: hub.connection is not None and hub.connection.connected, timeout=40, what="the hub back")
    publisher = Publisher(broker.endpoint, client_id="test-publisher-2")
    for seq in range(20, 40):
        publisher.publish(telemetry, environment_payload(ENV, seq))
    publisher.close()
    wait_for(lambda: stored(hub, ENV) == 40, what="the next 20 stored after the restart")
