"""Fuzzing a running hub over a real broker: thousands of generated payloads (valid, mutated, garbage,
forged topics, oversize) never crash it, every message is counted, and good traffic still gets stored.

``FUZZ_MESSAGES`` sets the size (``make fuzz`` runs 100,000); CI runs a few thousand.
"""

import os
from collections import Counter

import pytest
import sqlalchemy as sa

from devices.codec import encode
from devices.topics import Channel, device_topic
from hub.runtime import Hub
from hub.store.models import DeviceMessage
from hub.store.registry import ingest_totals
from tests.brokers import TestBroker
from tests.devices.samples import STATE, TELEMETRY
from tests.fuzzing import FuzzTraffic
from tests.helpers import Publisher, wait_for
from tests.hub.conftest import StartHub

MESSAGES = int(os.environ.get("FUZZ_MESSAGES", "3000"))
SEED = int(os.environ.get("FUZZ_SEED", "20261125"))


def _totals(hub: Hub) -> dict[str, int]:
    assert hub.database is not None
    with hub.database.sessions() as session:
        totals = ingest_totals(session)
    return {name: value for name, value in totals.items() if isinstance(value, int)}


def _stored(hub: Hub) -> int:
    assert hub.database is not None
    with hub.database.sessions() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(DeviceMessage)) or 0


@pytest.mark.slow
@pytest.mark.faults
def test_generated_traffic_never_crashes_the_hub_and_every_message_is_counted(
    broker: TestBroker, start_hub: StartHub
) -> None:
    hub = start_hub(building="synthetic:40")
    devices = {device.id: device.kind for _, _, device in hub.building.devices()}
    traffic = FuzzTraffic(hub.site_id, devices, seed=SEED)
    verdicts: Counter[str] = Counter()
    publisher = Publisher(broker.endpoint, client_id="fuzzer", max_inflight=500)
    pending = []
    for case in traffic.cases(MESSAGES):
        verdicts[case.verdict] += 1
        pending.append(publisher.client.publish(case.topic, case.payload, qos=1))
        if len(pending) >= 2000:
            for info in pending:
                info.wait_for_publish(30)
            pending.clear()
    for info in pending:
        info.wait_for_publish(30)

    expected = MESSAGES - verdicts["unseen"]
    wait_for(
        lambda: _totals(hub)["received"] >= expected,
        timeout=60 + MESSAGES / 200,
        what=f"all {MESSAGES} fuzzed messages counted (so far {_totals(hub)}, offered {dict(verdicts)})",
    )
    totals = _totals(hub)
    assert totals["received"] == expected
    assert totals["stored"] + totals["duplicates"] + totals["rejected"] == expected
    assert verdicts["valid"] <= totals["stored"] <= verdicts["valid"] + verdicts["either"]
    assert verdicts["invalid"] <= totals["rejected"] <= verdicts["invalid"] + verdicts["either"]
    assert _stored(hub) == totals["stored"], "every message counted as stored is in the table, once"

    # The hub still works: a good reading after the storm is stored.
    device_id, kind = next(iter(devices.items()))
    reading = TELEMETRY[kind].model_copy(update={"device_id": device_id, "seq": 9_000_000})
    publisher.publish(device_topic(hub.site_id, device_id, Channel.TELEMETRY), encode(reading))
    publisher.close()
    wait_for(lambda: _stored(hub) == totals["stored"] + 1, what="a good reading stored after the fuzzing")
    assert hub.pipeline is not None and hub.pipeline.stats.database_errors == 0


def test_a_message_the_database_cannot_hold_is_dead_lettered_and_the_rest_of_its_batch_stored(
    broker: TestBroker, start_hub: StartHub
) -> None:
    """PostgreSQL cannot hold a NUL character in a text column: such a message must not wedge the ingest
    (retried for ever, never acknowledged); SQLite can, and simply stores it."""
    hub = start_hub(building="synthetic:20", batch_wait_ms=400)
    energy = next(d.id for _, _, d in hub.building.devices() if d.kind is STATE.kind)
    before, after = (TELEMETRY[STATE.kind].model_copy(update={"device_id": energy, "seq": seq}) for seq in (1, 3))
    poison = STATE.model_copy(update={"device_id": energy, "seq": 2, "firmware": "fw\x00 1.0"})
    publisher = Publisher(broker.endpoint)
    for message, channel in ((before, Channel.TELEMETRY), (poison, Channel.STATE), (after, Channel.TELEMETRY)):
        publisher.publish(device_topic(hub.site_id, energy, channel), encode(message))
    publisher.close()

    wait_for(lambda: _totals(hub)["received"] == 3, what="the three messages counted")
    totals = _totals(hub)
    assert hub.database is not None
    if hub.database.engine.dialect.name == "postgresql":
        assert (totals["stored"], totals["rejected"]) == (2, 1)
        with hub.database.sessions() as session:
            by_reason = ingest_totals(session)["rejected_by_reason"]
        assert by_reason == {"unstorable": 1}
    else:
        assert (totals["stored"], totals["rejected"]) == (3, 0)
    assert _stored(hub) == totals["stored"]
