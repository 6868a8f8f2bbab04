"""What the hub makes of device messages: accept or refuse each, and plan a batch's writes.

Pure logic, testable without a broker or a database: :func:`classify` judges one message and
:func:`plan_batch` turns a batch into the rows and registry updates the store writes at once.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from devices.codec import Availability, decode
from devices.errors import InvalidMessage, RejectReason
from devices.kinds import DeviceKind
from devices.payloads import DeviceState, Envelope
from devices.topics import Topic, is_hub_topic

RECEIVED = "received"
STORED = "stored"
DUPLICATES = "duplicates"
REJECTED_PREFIX = "rejected:"


@dataclass(frozen=True, slots=True)
class RawMessage:
    """A message as the broker delivered it."""

    topic: str
    payload: bytes
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Accepted:
    """A message that passed every check."""

    raw: RawMessage
    topic: Topic
    message: Envelope | Availability


@dataclass(frozen=True, slots=True)
class Rejected:
    """A refused message and why."""

    raw: RawMessage
    reason: RejectReason
    detail: str


@dataclass(frozen=True, slots=True)
class Registry:
    """What the hub knows of its site's devices: enough to judge a message and to know when one fell silent."""

    site_id: str
    kinds: Mapping[str, DeviceKind]
    liveness_s: dict[str, float] = field(default_factory=dict)
    """Seconds of silence after which a device counts as offline (from its state message)."""


def classify(raw: RawMessage, registry: Registry, *, max_bytes: int) -> Accepted | Rejected | None:
    """Accept a message only from a known device of this site, well-formed and of its own kind.

    Returns None for a hub's own announcements, which the device channels' filters also match.
    """
    if is_hub_topic(raw.topic):
        return None
    try:
        topic = Topic.parse(raw.topic)
        if topic.site != registry.site_id:
            raise InvalidMessage(RejectReason.BAD_TOPIC, f"site {topic.site!r} is not this hub's site")
        kind = registry.kinds.get(topic.device_id)
        if kind is None:
            raise InvalidMessage(RejectReason.UNKNOWN_DEVICE, f"device {topic.device_id!r} is not registered")
        message = decode(topic, raw.payload, max_bytes=max_bytes)
        if isinstance(message, Envelope) and message.kind != kind:
            raise InvalidMessage(
                RejectReason.KIND_MISMATCH,
                f"device {topic.device_id!r} is registered as {kind.value}, payload says {message.kind.value}",
            )
    except InvalidMessage as refused:
        return Rejected(raw, refused.reason, refused.detail)
    return Accepted(raw, topic, message)


@dataclass(frozen=True, slots=True)
class MessageRow:
    """One device message to store (unique per device and sequence number)."""

    device_id: str
    seq: int
    channel: str
    device_ts: datetime
    received_at: datetime
    data: dict[str, Any]
    message: Envelope


@dataclass(slots=True)
class DeviceUpdate:
    """What a batch teaches the registry about one device."""

    last_seen: datetime
    max_seq: int | None = None
    online: bool | None = None
    availability_changed_at: datetime | None = None
    state: DeviceState | None = None
    expires_at: datetime | None = None


@dataclass(slots=True)
class BatchPlan:
    """Everything one batch writes, in one transaction."""

    rows: list[MessageRow] = field(default_factory=list)
    devices: dict[str, DeviceUpdate] = field(default_factory=dict)
    rejects: list[Rejected] = field(default_factory=list)
    in_batch_duplicates: int = 0
    counters: Counter[str] = field(default_factory=Counter)


def plan_batch(results: Iterable[Accepted | Rejected | None], *, liveness_s: Mapping[str, float]) -> BatchPlan:
    """Gather a batch's rows, registry updates and counters; repeats within the batch count once.

    ``liveness_s`` says how long each device may stay silent; a device's ``expires_at`` is then
    its last word plus that (or plus what a state message in this very batch declares).
    """
    plan = BatchPlan()
    seen: set[tuple[str, int]] = set()
    for result in results:
        if result is None:
            continue
        plan.counters[RECEIVED] += 1
        if isinstance(result, Rejected):
            plan.rejects.append(result)
            plan.counters[REJECTED_PREFIX + result.reason.value] += 1
            continue
        device_id = result.topic.device_id
        received_at = result.raw.received_at
        update = plan.devices.get(device_id)
        if update is None:
            update = plan.devices[device_id] = DeviceUpdate(last_seen=received_at)
        update.last_seen = max(update.last_seen, received_at)
        message = result.message
        if isinstance(message, Availability):
            update.online = message.online
            update.availability_changed_at = received_at
            continue
        key = (device_id, message.seq)
        if key in seen:
            plan.in_batch_duplicates += 1
            continue
        seen.add(key)
        update.max_seq = message.seq if update.max_seq is None else max(update.max_seq, message.seq)
        if isinstance(message, DeviceState) and (update.state is None or update.state.seq < message.seq):
            update.state = message
        plan.rows.append(
            MessageRow(
                device_id=device_id,
                seq=message.seq,
                channel=result.topic.channel.value,
                device_ts=message.ts,
                received_at=received_at,
                data=message.model_dump(mode="json", exclude={"v", "device_id", "seq", "ts"}),
                message=message,
            )
        )
    for device_id, update in plan.devices.items():
        silence = update.state.liveness_s if update.state else liveness_s.get(device_id)
        if silence is not None:
            update.expires_at = update.last_seen + timedelta(seconds=silence)
    return plan
