"""A simulated fleet over a real broker into a real database: every message stored exactly once."""

import time
from functools import partial

import pytest
import sqlalchemy as sa

from devices.site import synthetic_building
from firmware_sim.fleet import Fleet, FleetThread
from hub.runtime import Hub
from hub.store.models import Device, DeviceMessage
from tests.brokers import TestBroker
from tests.helpers import wait_for
from tests.hub.conftest import StartHub

DEVICES = 200
PER_DEVICE = 50


def stored_seqs(hub: Hub, channel: str | None = "telemetry") -> dict[str, list[int]]:
    """Each device's stored sequence numbers, on one channel or (None) on all."""
    assert hub.database is not None
    query = sa.select(DeviceMessage.device_id, DeviceMessage.seq).order_by(DeviceMessage.device_id, DeviceMessage.seq)
    if channel is not None:
        query = query.where(DeviceMessage.channel == channel)
    seqs: dict[str, list[int]] = {}
    with hub.database.sessions() as session:
        for device_id, seq in session.execute(query):
            seqs.setdefault(device_id, []).append(seq)
    return seqs


def stored_telemetry(hub: Hub) -> int:
    return sum(len(s) for s in stored_seqs(hub).values())


@pytest.mark.slow
def test_two_hundred_devices_times_fifty_messages_are_each_stored_exactly_once(
    broker: TestBroker, start_hub: StartHub
) -> None:
    hub = start_hub(building=f"synthetic:{DEVICES}")
    building = synthetic_building(DEVICES)
    fleet = Fleet(building, broker.endpoint, interval_s=0.05, messages_per_device=PER_DEVICE)
    finished = FleetThread(fleet).start().join(timeout=240)
    assert finished.acknowledged >= DEVICES * PER_DEVICE

    expected = DEVICES * PER_DEVICE
    wait_for(lambda: stored_telemetry(hub) >= expected, timeout=120, what=f"{expected} readings stored")
    readings = stored_seqs(hub)
    assert set(readings) == {device.id for _, _, device in building.devices()}
    assert all(len(seqs) == PER_DEVICE for seqs in readings.values())
    # One counter per device across its channels: together they run from 0 with no gap and no repeat.
    for device_id, seqs in stored_seqs(hub, channel=None).items():
        assert seqs == list(range(len(seqs))), device_id


@pytest.mark.slow
def test_a_simulated_device_that_hangs_is_marked_offline_within_one_and_a_half_keepalives(
    broker: TestBroker, start_hub: StartHub
) -> None:
    keepalive = 2
    hub = start_hub(building="synthetic:5")
    fleet = FleetThread(Fleet(synthetic_building(5), broker.endpoint, interval_s=0.5, keepalive=keepalive)).start()
    try:
        assert fleet.wait_online(30)
        hanging = "dev-00000"
        wait_for(lambda: is_online(hub, hanging), what="the device online at the hub")
        fleet.call(partial(fleet.device(hanging).kill, silent=True))  # socket open, nothing more said
        hung_at = time.monotonic()
        wait_for(lambda: is_online(hub, hanging) is False, timeout=keepalive * 1.5 + 5, what="offline")
        assert time.monotonic() - hung_at <= keepalive * 1.5 + 1
        assert is_online(hub, "dev-00001"), "its neighbours keep talking and stay online"
    finally:
        fleet.stop()


def is_online(hub: Hub, device_id: str) -> bool | None:
    assert hub.database is not None
    with hub.database.sessions() as session:
        found = session.get(Device, device_id)
        return found.online if found else None
