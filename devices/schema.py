"""JSON Schema export of the device contract, for firmware authors."""

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from devices.payloads import Command, DeviceState, Event, Telemetry
from devices.topics import ROOT, Channel

_CHANNEL_TYPES: dict[Channel, Any] = {
    Channel.TELEMETRY: Telemetry,
    Channel.EVENT: Event,
    Channel.STATE: DeviceState,
    Channel.COMMAND: Command,
}


def channel_schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema per channel, titled with the topic it is published on."""
    schemas: dict[str, dict[str, Any]] = {}
    for channel, payload_type in _CHANNEL_TYPES.items():
        schema = TypeAdapter(payload_type).json_schema()
        schema["title"] = f"Atrium {channel.value} payload"
        schema["description"] = f"Published on {ROOT}/<site>/<device_id>/{channel.value}"
        schemas[channel.value] = schema
    return schemas


def write_schemas(directory: Path) -> list[Path]:
    """Write ``<channel>.schema.json`` files into ``directory``; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in channel_schemas().items():
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
