"""The common firmware against a real broker: birth, will, sequence numbers, outbox replay."""

from itertools import pairwise

import pytest

from devices.kinds import DeviceKind
from devices.payloads import TELEMETRY_MODELS, DeviceState
from devices.topics import Channel
from firmware_sim.faults import Fault
from tests.brokers import MosquittoBroker, TestBroker
from tests.firmware_sim.conftest import StartFleet
from tests.firmware_sim.support import Observer, eventually, small_building


def test_birth_is_a_retained_state_and_online(broker: TestBroker, start_fleet: StartFleet) -> None:
    fleet = start_fleet(small_building(), interval_s=5)
    assert fleet.wait_online(10)
    late = Observer(broker.endpoint)  # subscribes after the birth, so only retained copies reach it
    devices = list(fleet.fleet)
    try:
        eventually(
            lambda: all(late.retained(d.id, c) for d in devices for c in (Channel.AVAILABILITY, Channel.STATE)),
            what="every retained state and online",
        )
        for device in devices:
            assert late.availability(device.id) == [True]
            (state,) = late.retained(device.id, Channel.STATE)
            assert isinstance(state, DeviceState)
            assert (state.kind, state.report_interval_s, state.seq) == (device.kind, 5, 0)
    finally:
        late.close()


def test_kill_resets_the_connection_and_the_broker_publishes_the_will(
    observer: Observer, start_fleet: StartFleet
) -> None:
    fleet = start_fleet(small_building(DeviceKind.OCCUPANCY))
    assert fleet.wait_online(10)
    eventually(lambda: observer.availability("occupancy-0") == [True], what="online")
    fleet.call(fleet.device("occupancy-0").kill)
    eventually(lambda: observer.availability("occupancy-0") == [True, False], what="the will")
    fleet.call(fleet.device("occupancy-0").revive)
    eventually(lambda: observer.availability("occupancy-0") == [True, False, True], what="online again")


def test_a_silent_kill_is_noticed_when_the_keepalive_runs_out(
    broker: TestBroker, observer: Observer, start_fleet: StartFleet
) -> None:
    if not isinstance(broker, MosquittoBroker):
        pytest.skip("the embedded broker (amqtt) does not enforce keep-alive, so it never sends this will")
    fleet = start_fleet(small_building(DeviceKind.SAFETY), keepalive=1)
    assert fleet.wait_online(10)
    fleet.call(lambda: fleet.device("safety-0").kill(silent=True))
    eventually(lambda: observer.availability("safety-0") == [True, False], what="the will after 1.5 x keepalive")


def test_telemetry_decodes_and_sequence_numbers_are_contiguous(observer: Observer, start_fleet: StartFleet) -> None:
    fleet = start_fleet(small_building(), interval_s=0.05, messages_per_device=8)
    fleet.join(30)
    devices = list(fleet.fleet)
    eventually(lambda: all(len(set(observer.seqs(d.id))) == d.next_seq for d in devices), what="every message")
    for device in devices:
        assert sorted(set(observer.seqs(device.id))) == list(range(device.next_seq))
        telemetry = observer.telemetry(device.id)
        assert len({t.seq for t in telemetry}) == 8
        assert all(isinstance(t, TELEMETRY_MODELS[device.kind]) for t in telemetry)
    assert not observer.errors


def test_readings_made_while_the_broker_is_down_are_replayed_with_their_sequence_numbers(
    broker: TestBroker, start_fleet: StartFleet
) -> None:
    fleet = start_fleet(small_building(DeviceKind.ENVIRONMENT, DeviceKind.ENERGY), interval_s=0.05)
    sensor = fleet.device("environment-0")
    before = Observer(broker.endpoint)
    eventually(lambda: len(before.telemetry(sensor.id)) >= 5, what="telemetry before the outage")
    broker.stop()
    before.close()
    eventually(lambda: len(sensor.outbox) >= 20, what="readings buffered during the outage")
    eventually(lambda: sensor.stats.connect_failures >= 2, what="reconnection attempts with the broker down")
    # Hold the device back (as a lost network would) until a new observer listens, since the
    # observer's session is a new one; only the final reconnect waits for this.
    fleet.inject(sensor.id, Fault.OFFLINE)
    waiting = fleet.call(lambda: [message.seq for message in sensor.outbox])
    assert waiting == list(range(waiting[0], waiting[-1] + 1))
    broker.start()
    after = Observer(broker.endpoint)
    try:
        fleet.clear(sensor.id, Fault.OFFLINE)
        eventually(lambda: set(waiting) <= set(after.seqs(sensor.id)), what="every reading of the outage")
        # The broker keeps its retained birth state (seq 0) across the restart: look from the outage on.
        seqs = sorted(seq for seq in set(after.seqs(sensor.id)) if seq >= waiting[0])
        assert seqs == list(range(waiting[0], seqs[-1] + 1)), "a sequence number is missing"
        # Replayed with the numbers they were made with: in seq order, their timestamps never go back.
        readings = sorted({t.seq: t for t in after.telemetry(sensor.id)}.values(), key=lambda t: t.seq)
        assert all(a.ts <= b.ts for a, b in pairwise(readings))
        assert fleet.stats().dropped == 0
    finally:
        after.close()


def test_devices_reconnect_by_themselves_after_a_broker_restart(
    broker: TestBroker, observer: Observer, start_fleet: StartFleet
) -> None:
    fleet = start_fleet(small_building(DeviceKind.OCCUPANCY, DeviceKind.SAFETY), interval_s=0.05)
    assert fleet.wait_online(10)
    broker.restart()
    eventually(lambda: fleet.stats().reconnects >= 2 and fleet.stats().connected == 2, what="both back")
    again = Observer(broker.endpoint)
    try:
        eventually(lambda: again.telemetry("occupancy-0") and again.telemetry("safety-1"), what="new telemetry")
    finally:
        again.close()
