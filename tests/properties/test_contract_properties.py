"""Property-based tests: whatever bytes arrive, the device contract's decoders answer with a model or one
``InvalidMessage``, never another exception, and a valid message survives the round trip unchanged."""

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.codec import Availability, decode, decode_command, encode
from devices.errors import InvalidMessage, RejectReason
from devices.payloads import Envelope
from devices.topics import Channel, Topic
from tests.devices.samples import COMMANDS, EVENTS, SITE, STATE, TELEMETRY

SAMPLES: list[tuple[Channel, Envelope]] = (
    [(Channel.TELEMETRY, m) for m in TELEMETRY.values()]
    + [(Channel.EVENT, m) for m in EVENTS.values()]
    + [(Channel.STATE, STATE)]
)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)


def topic_for(channel: Channel, device_id: str = "room-1-sensor") -> Topic:
    return Topic(SITE, device_id, channel)


@FAST
@given(channel=st.sampled_from(list(Channel)), payload=st.binary(max_size=2048))
def test_any_bytes_decode_to_a_message_or_one_invalid_message(channel: Channel, payload: bytes) -> None:
    try:
        message = decode(topic_for(channel), payload)
    except InvalidMessage as refused:
        assert isinstance(refused.reason, RejectReason)
    else:
        assert isinstance(message, Envelope | Availability)


@FAST
@given(channel=st.sampled_from([Channel.TELEMETRY, Channel.EVENT, Channel.STATE]), document=json_values)
def test_any_json_document_is_refused_with_a_reason_unless_it_is_a_valid_payload(
    channel: Channel, document: Any
) -> None:
    try:
        decode(topic_for(channel), json.dumps(document).encode())
    except InvalidMessage as refused:
        assert refused.reason in {RejectReason.MALFORMED, RejectReason.INVALID_SCHEMA, RejectReason.UNSUPPORTED_VERSION}
        assert str(refused)


@FAST
@given(sample=st.sampled_from(SAMPLES), data=st.data(), value=json_values)
def test_a_valid_payload_with_one_field_changed_decodes_or_is_refused_never_crashes(
    sample: tuple[Channel, Envelope], data: st.DataObject, value: Any
) -> None:
    channel, message = sample
    document = json.loads(encode(message))
    key = data.draw(st.sampled_from(sorted(document)) | st.text(min_size=1, max_size=12), label="field")
    document[key] = value
    topic = topic_for(channel, message.device_id)
    try:
        decoded = decode(topic, json.dumps(document).encode())
    except InvalidMessage:
        return
    assert isinstance(decoded, Envelope)
    assert decoded.device_id == message.device_id, "a payload is only ever accepted for its own topic's device"


@FAST
@given(sample=st.sampled_from(SAMPLES))
def test_every_valid_payload_round_trips_unchanged(sample: tuple[Channel, Envelope]) -> None:
    channel, message = sample
    assert decode(topic_for(channel, message.device_id), encode(message)) == message


@FAST
@given(sample=st.sampled_from(SAMPLES), other=st.from_regex(r"[a-z][a-z0-9-]{2,30}", fullmatch=True))
def test_a_payload_published_under_another_devices_topic_is_refused(
    sample: tuple[Channel, Envelope], other: str
) -> None:
    channel, message = sample
    if other == message.device_id:
        return
    try:
        decode(topic_for(channel, other), encode(message))
    except InvalidMessage as refused:
        assert refused.reason is RejectReason.DEVICE_MISMATCH
    else:
        raise AssertionError("a device's payload was accepted under another device's topic")


@FAST
@given(payload=st.binary(max_size=2048) | json_values.map(lambda d: json.dumps(d).encode()))
def test_commands_decode_or_are_refused_with_one_invalid_message(payload: bytes) -> None:
    try:
        decode_command(payload)
    except InvalidMessage as refused:
        assert isinstance(refused.reason, RejectReason)


@FAST
@given(command=st.sampled_from(list(COMMANDS.values())))
def test_every_command_round_trips(command: Any) -> None:
    assert decode_command(encode(command)) == command


@FAST
@given(topic=st.text(max_size=120) | st.lists(st.text(max_size=20), max_size=7).map("/".join))
def test_any_topic_string_parses_or_is_refused_as_a_bad_topic(topic: str) -> None:
    try:
        parsed = Topic.parse(topic)
    except InvalidMessage as refused:
        assert refused.reason is RejectReason.BAD_TOPIC
    else:
        assert str(parsed) == topic
