"""Response models of the API (``*Public``), separate from the ORM models."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class Health(BaseModel):
    status: str
    database: str
    mqtt: str
    site: str | None


class DevicePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    room_id: str | None
    floor_id: str | None
    model: str | None
    firmware: str | None
    online: bool | None
    first_seen: datetime | None
    last_seen: datetime | None
    last_seq: int | None


class Reading(BaseModel):
    seq: int
    channel: str
    device_ts: datetime
    received_at: datetime
    data: dict[str, Any]


class DeviceDetail(DevicePublic):
    report_interval_s: float | None
    availability_changed_at: datetime | None
    latest_telemetry: Reading | None
    latest_event: Reading | None


class IngestStats(BaseModel):
    received: int
    stored: int
    duplicates: int
    rejected: int
    rejected_by_reason: dict[str, int]
    gaps: int = 0
    dead_letters_kept: int
    queue_depth: int | None
    broker_connected: bool | None


class DeadLetter(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    received_at: datetime
    topic: str
    reason: str
    detail: str
    payload_size: int
    payload_preview: str


class ErrorBody(BaseModel):
    """A refusal: one sentence a person can read, and for some a machine-readable ``reason``."""

    detail: str
    reason: str | None = None


class FieldError(BaseModel):
    """One field FastAPI's validation refused."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int]
    msg: str
    type: str


class InvalidBody(BaseModel):
    """A 422: the hub's sentence (a rule broken), or FastAPI's list of refused fields (a malformed request)."""

    detail: str | list[FieldError]
    reason: str | None = None
