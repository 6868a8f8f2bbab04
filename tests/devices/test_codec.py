"""Encoding and decoding device messages, and the reason given for each refusal."""

import json
import math
import random
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from devices.base import AtriumModel
from devices.codec import MAX_PAYLOAD_BYTES, Availability, decode, decode_command, encode
from devices.errors import InvalidMessage, RejectReason
from devices.kinds import DeviceKind
from devices.payloads import (
    SCHEMA_VERSION,
    TELEMETRY_MODELS,
    Command,
    Configure,
    DoorDisplayTelemetry,
    Envelope,
    EnvironmentTelemetry,
    Event,
)
from devices.topics import OFFLINE, ONLINE, Channel, Topic
from tests.devices.samples import COMMANDS, EVENTS, SITE, STATE, TELEMETRY, TS

TAGS = {kind.value for kind in DeviceKind} | set(EVENTS) | set(COMMANDS)
"""Discriminator values that must never show up as a path part in an error's detail."""


def topic_for(message: Envelope, channel: Channel) -> Topic:
    return Topic(SITE, message.device_id, channel)


def as_dict(message: AtriumModel) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(encode(message))
    return document


def refusal(channel: Channel, document: Any, *, device_id: str = "room-1-environment") -> InvalidMessage:
    """The error decoding ``document`` (JSON-encoded unless bytes) raises on ``channel``."""
    payload = document if isinstance(document, bytes) else json.dumps(document).encode()
    with pytest.raises(InvalidMessage) as caught:
        decode(Topic(SITE, device_id, channel), payload)
    return caught.value


def union_tags(union: Any, field: str) -> set[str]:
    """The discriminator values of a payload union, read from its members."""
    members = get_args(get_args(union)[0])
    return {str(get_args(member.model_fields[field].annotation)[0]) for member in members}


def assert_no_tag_in_path(detail: str) -> None:
    for tag in TAGS:
        assert f"{tag}." not in detail, detail
        assert not detail.startswith(f"{tag}:"), detail


def test_samples_cover_every_kind_and_event() -> None:
    assert set(TELEMETRY) == set(DeviceKind) == set(TELEMETRY_MODELS)
    for kind, message in TELEMETRY.items():
        assert type(message) is TELEMETRY_MODELS[kind]
    assert set(EVENTS) == union_tags(Event, "event")
    assert set(COMMANDS) == union_tags(Command, "cmd")


@pytest.mark.parametrize("kind", list(DeviceKind))
def test_telemetry_of_every_kind_round_trips(kind: DeviceKind) -> None:
    message = TELEMETRY[kind]

    decoded = decode(topic_for(message, Channel.TELEMETRY), encode(message))

    assert decoded == message
    assert type(decoded) is type(message)


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_every_event_round_trips(event: str) -> None:
    message = EVENTS[event]

    decoded = decode(topic_for(message, Channel.EVENT), encode(message))

    assert decoded == message
    assert type(decoded) is type(message)


def test_state_round_trips() -> None:
    decoded = decode(topic_for(STATE, Channel.STATE), encode(STATE))

    assert decoded == STATE


def test_encoding_is_compact_json_with_the_envelope_and_no_absent_optionals() -> None:
    message = TELEMETRY[DeviceKind.DOOR_DISPLAY]
    assert isinstance(message, DoorDisplayTelemetry)
    assert message.battery_pct is None

    wire = encode(message)
    document = json.loads(wire)

    assert b": " not in wire
    assert b", " not in wire
    assert document["v"] == SCHEMA_VERSION
    assert document["device_id"] == message.device_id
    assert document["seq"] == message.seq
    assert document["kind"] == "door_display"
    assert "battery_pct" not in document


def test_timestamps_keep_their_instant_through_the_wire() -> None:
    message = TELEMETRY[DeviceKind.ENERGY]

    decoded = decode(topic_for(message, Channel.TELEMETRY), encode(message))

    assert isinstance(decoded, Envelope)
    assert decoded.ts == TS
    assert decoded.ts.utcoffset() is not None


@pytest.mark.parametrize(("payload", "online"), [(ONLINE, True), (OFFLINE, False)])
def test_availability_online_and_offline(payload: bytes, online: bool) -> None:
    decoded = decode(Topic(SITE, "lobby-door", Channel.AVAILABILITY), payload)

    assert decoded == Availability("lobby-door", online=online)


@pytest.mark.parametrize("payload", [b"", b"Online", b"online\n", b" offline", b'"online"', b"1", b"true", b"\xff"])
def test_availability_refuses_anything_else(payload: bytes) -> None:
    error = refusal(Channel.AVAILABILITY, payload, device_id="lobby-door")

    assert error.reason is RejectReason.MALFORMED
    assert "'online'" in error.detail
    assert "'offline'" in error.detail


def test_payload_at_the_limit_is_accepted_and_one_byte_over_is_oversize() -> None:
    message = TELEMETRY[DeviceKind.SAFETY]
    wire = encode(message)
    topic = topic_for(message, Channel.TELEMETRY)

    assert decode(topic, wire, max_bytes=len(wire)) == message
    with pytest.raises(InvalidMessage) as caught:
        decode(topic, wire, max_bytes=len(wire) - 1)

    assert caught.value.reason is RejectReason.OVERSIZE
    assert str(len(wire)) in caught.value.detail
    assert str(len(wire) - 1) in caught.value.detail


@pytest.mark.parametrize("channel", [Channel.TELEMETRY, Channel.AVAILABILITY, Channel.COMMAND])
def test_oversize_is_checked_before_anything_else(channel: Channel) -> None:
    error = refusal(channel, b"x" * (MAX_PAYLOAD_BYTES + 1))

    assert error.reason is RejectReason.OVERSIZE
    assert str(MAX_PAYLOAD_BYTES) in error.detail


def test_devices_cannot_publish_commands() -> None:
    command = COMMANDS["configure"]

    error = refusal(Channel.COMMAND, encode(command))

    assert error.reason is RejectReason.BAD_TOPIC
    assert "command" in error.detail


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b'{"v": 1,',
        b"{'v': 1}",
        b"\xff\xfe\x00",
        # A valid payload apart from one byte that is not UTF-8.
        encode(TELEMETRY[DeviceKind.DOOR_DISPLAY]).replace(b"Free", b"Fr\xe9e"),
    ],
)
def test_bytes_that_are_not_json_are_malformed(payload: bytes) -> None:
    error = refusal(Channel.TELEMETRY, payload)

    assert error.reason is RejectReason.MALFORMED
    assert error.detail.startswith("not JSON: ")


@pytest.mark.parametrize(
    ("document", "type_name"),
    [([as_dict(TELEMETRY[DeviceKind.ENVIRONMENT])], "list"), ("telemetry", "str"), (42, "int"), (None, "NoneType")],
)
def test_json_that_is_not_an_object_is_malformed(document: Any, type_name: str) -> None:
    error = refusal(Channel.TELEMETRY, document)

    assert error.reason is RejectReason.MALFORMED
    assert error.detail == f"expected a JSON object, got {type_name}"


@pytest.mark.parametrize("channel", [Channel.TELEMETRY, Channel.EVENT, Channel.STATE])
@pytest.mark.parametrize("version", [2, 0, "1", None, 1.5])
def test_other_schema_versions_are_unsupported(channel: Channel, version: Any) -> None:
    message = {Channel.TELEMETRY: TELEMETRY[DeviceKind.ENERGY], Channel.EVENT: EVENTS["button_pressed"]}.get(
        channel, STATE
    )
    document = as_dict(message) | {"v": version}

    error = refusal(channel, document, device_id=message.device_id)

    assert error.reason is RejectReason.UNSUPPORTED_VERSION
    assert f"schema version {version!r} is not supported" in error.detail
    assert f"want {SCHEMA_VERSION}" in error.detail


def test_a_payload_without_a_version_is_unsupported() -> None:
    message = TELEMETRY[DeviceKind.ENERGY]
    document = as_dict(message)
    del document["v"]

    error = refusal(Channel.TELEMETRY, document, device_id=message.device_id)

    assert error.reason is RejectReason.UNSUPPORTED_VERSION
    assert "None" in error.detail


def kind_specific_required_fields() -> list[tuple[DeviceKind, str]]:
    return [
        (kind, name)
        for kind, model in TELEMETRY_MODELS.items()
        for name, field in model.model_fields.items()
        if field.is_required() and name not in Envelope.model_fields
    ]


@pytest.mark.parametrize(("kind", "field"), kind_specific_required_fields())
def test_a_missing_field_is_named_without_the_kind_tag(kind: DeviceKind, field: str) -> None:
    message = TELEMETRY[kind]
    document = as_dict(message)
    del document[field]

    error = refusal(Channel.TELEMETRY, document, device_id=message.device_id)

    assert error.reason is RejectReason.INVALID_SCHEMA
    assert error.detail == f"{field}: Field required"


def test_an_envelope_field_missing_is_named() -> None:
    message = TELEMETRY[DeviceKind.OCCUPANCY]
    document = as_dict(message)
    del document["seq"]

    error = refusal(Channel.TELEMETRY, document, device_id=message.device_id)

    assert error.reason is RejectReason.INVALID_SCHEMA
    assert error.detail.startswith("seq: ")
    assert_no_tag_in_path(error.detail)


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        (DeviceKind.OCCUPANCY, "people", "many"),
        (DeviceKind.OCCUPANCY, "people", -1),
        (DeviceKind.OCCUPANCY, "presence", "maybe"),
        (DeviceKind.ENVIRONMENT, "co2_ppm", "high"),
        (DeviceKind.ENERGY, "energy_kwh", -0.5),
        (DeviceKind.SAFETY, "battery_pct", 101),
        (DeviceKind.BADGE_PRINTER, "paper", "empty"),
        (DeviceKind.DOOR_DISPLAY, "showing", "x" * 201),
        (DeviceKind.ENERGY, "seq", -1),
        (DeviceKind.ENERGY, "ts", "2024-05-06T09:30:00"),
        (DeviceKind.ENERGY, "ts", "yesterday"),
    ],
)
def test_a_wrong_value_is_named_without_the_kind_tag(kind: DeviceKind, field: str, value: Any) -> None:
    message = TELEMETRY[kind]
    document = as_dict(message) | {field: value}

    error = refusal(Channel.TELEMETRY, document, device_id=message.device_id)

    assert error.reason is RejectReason.INVALID_SCHEMA
    assert error.detail.startswith(f"{field}: ")
    assert_no_tag_in_path(error.detail)


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        (DeviceKind.ENVIRONMENT, "colour"),
        (DeviceKind.ENVIRONMENT, "co2"),
        # An unknown key that happens to share its name with a kind tag must still be named.
        (DeviceKind.ENERGY, "energy"),
        (DeviceKind.BADGE_PRINTER, "print"),
    ],
)
def test_an_unknown_field_is_refused_and_named(kind: DeviceKind, extra: str) -> None:
    message = TELEMETRY[kind]
    document = as_dict(message) | {extra: 1}

    error = refusal(Channel.TELEMETRY, document, device_id=message.device_id)

    assert error.reason is RejectReason.INVALID_SCHEMA
    assert error.detail == f"{extra}: Extra inputs are not permitted"


def test_an_unknown_field_in_state_is_named() -> None:
    document = as_dict(STATE) | {"energy": 3}

    error = refusal(Channel.STATE, document, device_id=STATE.device_id)

    assert error.reason is RejectReason.INVALID_SCHEMA
    assert error.detail == "energy: Extra inputs are not permitted"


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_numbers_are_refused(number: bytes) -> None:
    message = TELEMETRY[DeviceKind.ENVIRONMENT]
    payload = encode(message).replace(b'"temperature_c":21.5', b'"temperature_c":' + number)
    assert payload != encode(message)

    error = refusal(Channel.TELEMETRY, payload, device_id=message.device_id)

    assert error.reason is RejectReason.INVALID_SCHEMA
    assert error.detail.startswith("temperature_c: ")
    assert "finite" in error.detail


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_models_refuse_non_finite_numbers_before_they_are_sent(value: float) -> None:
    with pytest.raises(ValidationError):
        EnvironmentTelemetry(
            v=1,
            device_id="env-1",
            seq=1,
            ts=TS,
            kind=DeviceKind.ENVIRONMENT,
            temperature_c=value,
            humidity_pct=40,
            co2_ppm=400,
        )


def test_an_unknown_kind_is_invalid_and_names_the_value() -> None:
    message = TELEMETRY[DeviceKind.ENERGY]
    document = as_dict(message) | {"kind": "toaster"}

    error = refusal(Channel.TELEMETRY, document, device_id=message.device_id)

    assert error.reason is RejectReason.INVALID_SCHEMA
    assert "'toaster'" in error.detail
    assert "'kind'" in error.detail


def test_an_event_from_the_wrong_kind_is_invalid() -> None:
    message = EVENTS["button_pressed"]
    document = as_dict(message) | {"kind": "badge_printer"}

    error = refusal(Channel.EVENT, document, device_id=message.device_id)

    assert error.reason is RejectReason.INVALID_SCHEMA
    assert error.detail.startswith("kind: ")


@pytest.mark.parametrize(("field", "value"), [("button", "self_destruct"), ("minutes", 1), ("minutes", 241)])
def test_event_errors_name_the_field_without_the_event_tag(field: str, value: Any) -> None:
    message = EVENTS["button_pressed"]
    document = as_dict(message) | {field: value}

    error = refusal(Channel.EVENT, document, device_id=message.device_id)

    assert error.reason is RejectReason.INVALID_SCHEMA
    assert error.detail.startswith(f"{field}: ")
    assert_no_tag_in_path(error.detail)


def test_many_errors_are_summarised() -> None:
    message = TELEMETRY[DeviceKind.SAFETY]
    document = {"v": 1, "device_id": message.device_id, "kind": "safety"}

    error = refusal(Channel.TELEMETRY, document, device_id=message.device_id)

    assert error.reason is RejectReason.INVALID_SCHEMA
    assert error.detail.count(": Field required") == 3
    assert error.detail.endswith("and 3 more")


def test_payload_from_another_device_is_a_mismatch() -> None:
    message = TELEMETRY[DeviceKind.OCCUPANCY]

    error = refusal(Channel.TELEMETRY, encode(message), device_id="someone-else")

    assert error.reason is RejectReason.DEVICE_MISMATCH
    assert repr(message.device_id) in error.detail
    assert "'someone-else'" in error.detail


def test_decoding_raises_only_invalid_message_on_mangled_payloads() -> None:
    rng = random.Random(20240506)
    originals = [encode(m) for m in (*TELEMETRY.values(), *EVENTS.values(), STATE)]
    outcomes: set[str] = set()
    for _ in range(2000):
        wire = bytearray(rng.choice(originals))
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(len(wire))
            operation = rng.choice(("flip", "delete", "insert"))
            if operation == "flip":
                wire[position] = rng.randrange(256)
            elif operation == "delete":
                del wire[position]
            else:
                wire.insert(position, rng.choice(b'{}[]",:0123456789.eE-+ntf\\\xff'))
        payload = bytes(wire)
        for channel in (Channel.TELEMETRY, Channel.EVENT, Channel.STATE):
            try:
                decoded = decode(Topic(SITE, "room-1-occupancy", channel), payload)
            except InvalidMessage as error:
                outcomes.add(error.reason.value)
                assert error.detail
            else:
                assert isinstance(decoded, Envelope)
    assert {"malformed", "invalid_schema"} <= outcomes


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_round_trips(name: str) -> None:
    command = COMMANDS[name]

    decoded = decode_command(encode(command))

    assert decoded == command
    assert type(decoded) is type(command)
    assert json.loads(encode(command))["cmd"] == name


@pytest.mark.parametrize(
    ("document", "reason", "detail"),
    [
        ({"v": 1, "id": "c", "ts": "2024-05-06T09:30:00Z", "cmd": "reboot"}, RejectReason.INVALID_SCHEMA, "'reboot'"),
        (
            {"v": 1, "id": "c", "ts": "2024-05-06T09:30:00Z", "cmd": "configure", "report_interval_s": 0},
            RejectReason.INVALID_SCHEMA,
            "report_interval_s: ",
        ),
        (
            {
                "v": 1,
                "id": "c",
                "ts": "2024-05-06T09:30:00Z",
                "cmd": "show",
                "title": "t",
                "status": "s",
                "lines": ["l"] * 11,
            },
            RejectReason.INVALID_SCHEMA,
            "lines: ",
        ),
        (
            {"v": 1, "id": "c", "ts": "2024-05-06T09:30:00Z", "cmd": "print", "job_id": "j"},
            RejectReason.INVALID_SCHEMA,
            "zpl: Field required",
        ),
        (
            {"v": 2, "id": "c", "ts": "2024-05-06T09:30:00Z", "cmd": "configure", "report_interval_s": 5},
            RejectReason.UNSUPPORTED_VERSION,
            "schema version 2",
        ),
        # A command may leave out "v" (it defaults), so a bad one without it is a schema error.
        (
            {"id": "c", "ts": "2024-05-06T09:30:00Z", "cmd": "configure", "report_interval_s": -5},
            RejectReason.INVALID_SCHEMA,
            "report_interval_s: ",
        ),
        ([{"cmd": "show"}], RejectReason.MALFORMED, "expected a JSON object"),
        (b"reboot now", RejectReason.MALFORMED, "not JSON"),
    ],
)
def test_a_bad_command_is_refused_with_its_reason(document: Any, reason: RejectReason, detail: str) -> None:
    payload = document if isinstance(document, bytes) else json.dumps(document).encode()

    with pytest.raises(InvalidMessage) as caught:
        decode_command(payload)

    assert caught.value.reason is reason
    assert detail in caught.value.detail
    assert_no_tag_in_path(caught.value.detail)


def test_a_command_without_a_version_defaults_to_the_current_one() -> None:
    document = as_dict(COMMANDS["configure"])
    del document["v"]

    decoded = decode_command(json.dumps(document).encode())

    assert isinstance(decoded, Configure)
    assert decoded.v == SCHEMA_VERSION
