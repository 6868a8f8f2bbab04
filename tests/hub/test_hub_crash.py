"""A hub process killed with SIGKILL mid-stream and restarted loses no message the broker accepted."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from devices.topics import ONLINE, Channel, device_topic, hub_availability_topic
from hub.store.db import create_engine
from hub.store.models import DeviceMessage
from tests.brokers import TestBroker
from tests.databases import ScratchDatabase
from tests.faults import HubProcess
from tests.helpers import Publisher, environment_payload, wait_for, wait_for_retained

DEVICES = [f"dev-{n:05d}" for n in range(1, 50, 5)]  # the environment sensor of each synthetic room
PER_DEVICE = 200


@pytest.fixture
def hub_process(broker: TestBroker, database: ScratchDatabase, tmp_path: Path) -> Iterator[HubProcess]:
    process = HubProcess(
        database_url=database.url, broker_url=broker.endpoint.url, devices=50, log=tmp_path / "hub.log"
    )
    yield process
    process.stop()


def stored_seqs(url: str) -> dict[str, list[int]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(DeviceMessage.device_id, DeviceMessage.seq).order_by(
                    DeviceMessage.device_id, DeviceMessage.seq
                )
            ).all()
    except sa.exc.OperationalError:
        return {}  # not migrated yet
    except sa.exc.ProgrammingError:
        return {}
    finally:
        engine.dispose()
    seqs: dict[str, list[int]] = {}
    for device_id, seq in rows:
        seqs.setdefault(device_id, []).append(seq)
    return seqs


def total(url: str) -> int:
    return sum(len(s) for s in stored_seqs(url).values())


@pytest.mark.slow
@pytest.mark.faults
def test_a_hub_killed_mid_stream_and_restarted_loses_nothing_and_stores_nothing_twice(
    broker: TestBroker, database: ScratchDatabase, hub_process: HubProcess
) -> None:
    hub_process.start()
    wait_for_retained(broker.endpoint, hub_availability_topic("fleet"), ONLINE)
    publisher = Publisher(broker.endpoint)
    done = threading.Event()

    def stream() -> None:
        for seq in range(PER_DEVICE):
            for device_id in DEVICES:
                publisher.publish(
                    device_topic("fleet", device_id, Channel.TELEMETRY), environment_payload(device_id, seq)
                )
            time.sleep(0.02)  # a steady stream, so that the kill lands in the middle of it
        done.set()

    sender = threading.Thread(target=stream, daemon=True)
    sender.start()
    wait_for(lambda: total(database.url) >= 300, timeout=60, what="the hub storing the first messages")
    hub_process.kill()
    killed_at = total(database.url)
    hub_process.start()
    assert done.wait(120), "the stream did not finish"
    publisher.close()
    expected = len(DEVICES) * PER_DEVICE
    wait_for(lambda: total(database.url) == expected, timeout=120, what=f"all {expected} messages stored")
    seqs = stored_seqs(database.url)
    assert killed_at < expected, "the hub was killed after the stream ended; the test proved nothing"
    assert seqs == {device_id: list(range(PER_DEVICE)) for device_id in DEVICES}
