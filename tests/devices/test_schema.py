"""The JSON Schema export firmware authors build against."""

import json
from pathlib import Path
from typing import Any

import pytest

from devices.base import AtriumModel
from devices.codec import encode
from devices.kinds import DeviceKind
from devices.payloads import SCHEMA_VERSION
from devices.schema import channel_schemas, write_schemas
from devices.topics import Channel
from tests.devices.samples import COMMANDS, EVENTS, STATE, TELEMETRY

SCHEMA_CHANNELS = {Channel.TELEMETRY, Channel.EVENT, Channel.STATE, Channel.COMMAND}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The schemas as written to disk, read back by channel name."""
    directory = tmp_path_factory.mktemp("export") / "schemas"
    paths = write_schemas(directory)
    assert all(path.parent == directory for path in paths)
    assert sorted(p.name for p in directory.iterdir()) == sorted(p.name for p in paths)
    return {path.name.removesuffix(".schema.json"): json.loads(path.read_text(encoding="utf-8")) for path in paths}


def member_for(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    """The object schema that ``document`` is checked against, following the discriminator."""
    if "discriminator" not in schema:
        return schema
    discriminator = schema["discriminator"]
    tag = document[discriminator["propertyName"]]
    reference: str = discriminator["mapping"][tag]
    assert {"$ref": reference} in schema["oneOf"]
    member: dict[str, Any] = schema["$defs"][reference.removeprefix("#/$defs/")]
    return member


def assert_fits(schema: dict[str, Any], message: AtriumModel) -> None:
    """The parts of JSON Schema validation a firmware author's validator would trip on."""
    document = json.loads(encode(message))
    member = member_for(schema, document)
    assert member["type"] == "object"
    assert member["additionalProperties"] is False
    assert set(member["required"]) <= set(document), set(member["required"]) - set(document)
    assert set(document) <= set(member["properties"]), set(document) - set(member["properties"])
    for name, value in document.items():
        constant = member["properties"][name].get("const")
        assert constant is None or constant == value, (name, constant, value)


def test_one_file_per_payload_channel(written: dict[str, dict[str, Any]]) -> None:
    assert set(written) == {channel.value for channel in SCHEMA_CHANNELS}


def test_write_schemas_can_run_again_into_the_same_directory(tmp_path: Path) -> None:
    first = write_schemas(tmp_path)
    contents = [p.read_text(encoding="utf-8") for p in first]

    second = write_schemas(tmp_path)

    assert second == first
    assert [p.read_text(encoding="utf-8") for p in second] == contents


@pytest.mark.parametrize("channel", sorted(SCHEMA_CHANNELS))
def test_each_schema_is_titled_and_names_its_topic(written: dict[str, dict[str, Any]], channel: Channel) -> None:
    schema = written[channel.value]

    assert isinstance(schema["title"], str)
    assert channel.value in schema["title"]
    assert schema["description"].endswith(f"/<device_id>/{channel.value}")


def test_files_hold_what_channel_schemas_returns(written: dict[str, dict[str, Any]]) -> None:
    assert written == channel_schemas()


def test_telemetry_schema_maps_every_kind(written: dict[str, dict[str, Any]]) -> None:
    schema = written["telemetry"]

    assert schema["discriminator"]["propertyName"] == "kind"
    assert set(schema["discriminator"]["mapping"]) == {kind.value for kind in DeviceKind}
    assert {entry["$ref"] for entry in schema["oneOf"]} == set(schema["discriminator"]["mapping"].values())


@pytest.mark.parametrize("kind", list(DeviceKind))
def test_valid_telemetry_of_every_kind_fits_the_schema(written: dict[str, dict[str, Any]], kind: DeviceKind) -> None:
    assert_fits(written["telemetry"], TELEMETRY[kind])


def test_every_telemetry_member_forbids_additional_properties(written: dict[str, dict[str, Any]]) -> None:
    schema = written["telemetry"]

    for reference in schema["discriminator"]["mapping"].values():
        member = schema["$defs"][reference.removeprefix("#/$defs/")]
        assert member["additionalProperties"] is False, reference


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_every_event_fits_the_schema(written: dict[str, dict[str, Any]], event: str) -> None:
    schema = written["event"]

    assert set(schema["discriminator"]["mapping"]) == set(EVENTS)
    assert_fits(schema, EVENTS[event])


def test_state_fits_the_schema(written: dict[str, dict[str, Any]]) -> None:
    assert_fits(written["state"], STATE)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_fits_the_schema(written: dict[str, dict[str, Any]], name: str) -> None:
    schema = written["command"]

    assert set(schema["discriminator"]["mapping"]) == set(COMMANDS)
    assert_fits(schema, COMMANDS[name])


def test_envelope_fields_are_required_in_device_payloads(written: dict[str, dict[str, Any]]) -> None:
    envelope = {"v", "device_id", "seq", "ts", "kind"}
    messages: list[tuple[str, AtriumModel]] = [
        *(("telemetry", m) for m in TELEMETRY.values()),
        *(("event", m) for m in EVENTS.values()),
        ("state", STATE),
    ]

    for channel, message in messages:
        member = member_for(written[channel], json.loads(encode(message)))
        assert envelope <= set(member["required"]), (channel, type(message).__name__)
        assert member["properties"]["v"]["const"] == SCHEMA_VERSION
