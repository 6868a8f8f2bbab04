"""Encode and decode device messages: bytes on the wire <-> payload models.

Decoding never raises anything but :class:`InvalidMessage`, whose reason is counted by the hub.
"""

import json
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import TypeAdapter, ValidationError

from devices.base import AtriumModel
from devices.errors import InvalidMessage, RejectReason
from devices.kinds import DeviceKind
from devices.payloads import SCHEMA_VERSION, Command, DeviceState, Envelope, Event, Telemetry
from devices.topics import OFFLINE, ONLINE, Channel, Topic

MAX_PAYLOAD_BYTES = 16 * 1024
"""Largest device payload accepted; firmware has no reason to send more."""

_ADAPTERS: dict[Channel, TypeAdapter[Any]] = {
    Channel.TELEMETRY: TypeAdapter(Telemetry),
    Channel.EVENT: TypeAdapter(Event),
    Channel.STATE: TypeAdapter(DeviceState),
}
_COMMAND_ADAPTER: TypeAdapter[Command] = TypeAdapter(Command)


@dataclass(frozen=True, slots=True)
class Availability:
    """A device's ``online``/``offline`` announcement (birth message or LWT)."""

    device_id: str
    online: bool


DeviceMessage = Envelope | Availability


def encode(model: AtriumModel) -> bytes:
    """The wire form of a payload or command: compact JSON, absent optionals left out."""
    return model.model_dump_json(exclude_none=True).encode()


def decode(topic: Topic, payload: bytes, *, max_bytes: int = MAX_PAYLOAD_BYTES) -> DeviceMessage:
    """Decode what a device published on ``topic``, or raise :class:`InvalidMessage`."""
    if len(payload) > max_bytes:
        raise InvalidMessage(RejectReason.OVERSIZE, f"{len(payload)} bytes is more than {max_bytes}")
    if topic.channel is Channel.AVAILABILITY:
        return _decode_availability(topic, payload)
    adapter = _ADAPTERS.get(topic.channel)
    if adapter is None:
        raise InvalidMessage(RejectReason.BAD_TOPIC, f"devices do not publish on {topic.channel.value!r}")
    try:
        message: Envelope = adapter.validate_json(payload)
    except ValidationError as error:
        raise _explain(payload, error) from None
    if message.device_id != topic.device_id:
        raise InvalidMessage(
            RejectReason.DEVICE_MISMATCH,
            f"payload says device {message.device_id!r} but was published under {topic.device_id!r}",
        )
    return message


def decode_command(payload: bytes) -> Command:
    """Decode a command the hub sent, for firmware; raises :class:`InvalidMessage`."""
    try:
        return _COMMAND_ADAPTER.validate_json(payload)
    except ValidationError as error:
        raise _explain(payload, error, version_required=False) from None


def _decode_availability(topic: Topic, payload: bytes) -> Availability:
    if payload == ONLINE:
        return Availability(topic.device_id, online=True)
    if payload == OFFLINE:
        return Availability(topic.device_id, online=False)
    raise InvalidMessage(RejectReason.MALFORMED, "availability must be exactly 'online' or 'offline'")


def _explain(payload: bytes, error: ValidationError, *, version_required: bool = True) -> InvalidMessage:
    """Turn pydantic's error into the most useful single reason."""
    try:
        document = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as bad_json:
        return InvalidMessage(RejectReason.MALFORMED, f"not JSON: {bad_json}")
    if not isinstance(document, dict):
        return InvalidMessage(RejectReason.MALFORMED, f"expected a JSON object, got {type(document).__name__}")
    version = document.get("v")
    if version != SCHEMA_VERSION and ("v" in document or version_required):
        return InvalidMessage(
            RejectReason.UNSUPPORTED_VERSION,
            f"schema version {version!r} is not supported (want {SCHEMA_VERSION})",
        )
    return InvalidMessage(RejectReason.INVALID_SCHEMA, describe_validation_error(error))


def describe_validation_error(error: ValidationError, *, limit: int = 3) -> str:
    """A short sentence naming the offending fields, without the model's internal tags."""
    parts = []
    for item in error.errors(include_url=False)[:limit]:
        loc = item["loc"]
        if len(loc) > 1 and _is_union_tag(loc[0]):
            loc = loc[1:]
        location = ".".join(str(p) for p in loc) or "payload"
        parts.append(f"{location}: {item['msg']}")
    more = error.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def _is_union_tag(part: object) -> bool:
    # Discriminated unions prefix locations with the tag value (e.g. 'environment'); only that
    # leading part is a tag, a field further in may share its name (an extra key 'energy').
    return isinstance(part, str) and part in _UNION_TAGS


def _tags(union: Any, field: str) -> set[str]:
    members = get_args(get_args(union)[0])
    return {str(get_args(member.model_fields[field].annotation)[0]) for member in members}


_UNION_TAGS = frozenset({kind.value for kind in DeviceKind} | _tags(Event, "event") | _tags(Command, "cmd"))
