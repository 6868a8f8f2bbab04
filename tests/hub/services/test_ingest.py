"""The ingest's judgement of single messages and batches, with no broker and no database."""

from datetime import UTC, datetime, timedelta

import pytest

from devices.errors import RejectReason
from devices.kinds import DeviceKind
from devices.topics import OFFLINE, ONLINE, Channel, device_topic, hub_availability_topic
from hub.services.ingest import (
    DUPLICATES,
    RECEIVED,
    Accepted,
    RawMessage,
    Registry,
    Rejected,
    classify,
    plan_batch,
)
from tests.helpers import environment_payload, occupancy_payload

REGISTRY = Registry(site_id="hq", kinds={"atlas-env": DeviceKind.ENVIRONMENT, "atlas-occ": DeviceKind.OCCUPANCY})
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def raw(topic: str, payload: bytes, at: datetime = NOW) -> RawMessage:
    return RawMessage(topic=topic, payload=payload, received_at=at)


def judge(topic: str, payload: bytes) -> Accepted | Rejected | None:
    return classify(raw(topic, payload), REGISTRY, max_bytes=1024)


def test_a_good_reading_from_a_registered_device_is_accepted() -> None:
    result = judge(device_topic("hq", "atlas-env", Channel.TELEMETRY), environment_payload("atlas-env", 7))
    assert isinstance(result, Accepted)
    assert result.topic.device_id == "atlas-env"


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        pytest.param(device_topic("hq", "ghost", Channel.TELEMETRY), environment_payload("ghost", 1), "unknown_device"),
        pytest.param(
            device_topic("other", "atlas-env", Channel.TELEMETRY), environment_payload("atlas-env", 1), "bad_topic"
        ),
        pytest.param(device_topic("hq", "atlas-env", Channel.TELEMETRY), b"{not json", "malformed"),
        pytest.param(device_topic("hq", "atlas-env", Channel.TELEMETRY), b"x" * 2000, "oversize"),
        pytest.param(
            device_topic("hq", "atlas-env", Channel.TELEMETRY),
            environment_payload("atlas-env", 1).replace(b'"v":1', b'"v":9'),
            "unsupported_version",
        ),
        pytest.param(
            device_topic("hq", "atlas-env", Channel.TELEMETRY),
            environment_payload("atlas-env", 1).replace(b'"co2_ppm"', b'"co2"'),
            "invalid_schema",
        ),
        pytest.param(
            device_topic("hq", "atlas-env", Channel.TELEMETRY), environment_payload("atlas-occ", 1), "device_mismatch"
        ),
        pytest.param(
            device_topic("hq", "atlas-env", Channel.TELEMETRY), occupancy_payload("atlas-env", 1), "kind_mismatch"
        ),
        pytest.param(device_topic("hq", "atlas-env", Channel.AVAILABILITY), b"maybe", "malformed"),
    ],
)
def test_each_kind_of_bad_message_is_refused_with_its_reason(topic: str, payload: bytes, reason: str) -> None:
    result = judge(topic, payload)
    assert isinstance(result, Rejected)
    assert result.reason == RejectReason(reason)
    assert result.detail


def test_the_hubs_own_availability_is_neither_accepted_nor_refused() -> None:
    assert judge(hub_availability_topic("hq"), ONLINE) is None


def test_a_batch_keeps_a_repeated_sequence_number_once_and_counts_the_repeat() -> None:
    topic = device_topic("hq", "atlas-env", Channel.TELEMETRY)
    results = [judge(topic, environment_payload("atlas-env", seq)) for seq in (1, 2, 2, 3)]
    plan = plan_batch(results, liveness_s={})
    assert [row.seq for row in plan.rows] == [1, 2, 3]
    assert plan.in_batch_duplicates == 1
    assert plan.counters[RECEIVED] == 4
    assert plan.devices["atlas-env"].max_seq == 3
    assert DUPLICATES not in plan.counters  # the store adds repeats it finds, once it has looked


def test_the_last_availability_in_a_batch_wins_and_rejects_are_counted_by_reason() -> None:
    later = NOW + timedelta(seconds=5)
    availability = device_topic("hq", "atlas-occ", Channel.AVAILABILITY)
    results = [
        classify(raw(availability, ONLINE), REGISTRY, max_bytes=1024),
        classify(raw(availability, OFFLINE, at=later), REGISTRY, max_bytes=1024),
        judge(device_topic("hq", "ghost", Channel.TELEMETRY), b"{}"),
    ]
    plan = plan_batch(results, liveness_s={})
    update = plan.devices["atlas-occ"]
    assert update.online is False
    assert update.availability_changed_at == later
    assert update.last_seen == later
    assert plan.counters["rejected:unknown_device"] == 1
    assert len(plan.rejects) == 1


def test_stored_data_leaves_out_the_envelope() -> None:
    plan = plan_batch(
        liveness_s={},
        results=[judge(device_topic("hq", "atlas-env", Channel.TELEMETRY), environment_payload("atlas-env", 4))],
    )
    assert plan.rows[0].data == {"kind": "environment", "temperature_c": 21.5, "humidity_pct": 40.0, "co2_ppm": 600.0}


def test_a_device_expires_one_and_a_half_of_its_declared_intervals_after_its_last_word() -> None:
    from devices.codec import encode
    from devices.payloads import DeviceState

    state = DeviceState(
        v=1,
        device_id="atlas-occ",
        seq=0,
        ts=NOW,
        kind=DeviceKind.OCCUPANCY,
        firmware="1.0",
        report_interval_s=10,
        keepalive_s=20,
    )
    later = NOW + timedelta(seconds=3)
    plan = plan_batch(
        [
            classify(raw(device_topic("hq", "atlas-occ", Channel.STATE), encode(state)), REGISTRY, max_bytes=1024),
            classify(
                raw(device_topic("hq", "atlas-env", Channel.TELEMETRY), environment_payload("atlas-env", 1), later),
                REGISTRY,
                max_bytes=1024,
            ),
        ],
        liveness_s={"atlas-env": 15.0},
    )
    assert plan.devices["atlas-occ"].expires_at == NOW + timedelta(seconds=30)  # 1.5 x the longer of the two
    assert plan.devices["atlas-env"].expires_at == later + timedelta(seconds=15)
