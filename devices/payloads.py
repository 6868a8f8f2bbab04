"""Payload models for every device kind and channel.

Every device message carries the envelope: schema version ``v``, ``device_id``, a per-device
sequence number ``seq`` (one counter across all the device's channels) and the device's timestamp
``ts``. The ``kind`` field makes each payload self-describing, so one JSON Schema covers a channel.
"""

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, Field, NonNegativeFloat, NonNegativeInt, StringConstraints, model_validator

from devices.base import AtriumModel
from devices.kinds import DeviceKind
from devices.topics import DEVICE_ID_PATTERN

SCHEMA_VERSION: Final = 1

DeviceId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
Percent = Annotated[float, Field(ge=0, le=100)]
ShortText = Annotated[str, StringConstraints(max_length=200)]
MAX_SEQ = 2**63 - 1
"""Sequence numbers fit a signed 64-bit column (SQLite INTEGER, PostgreSQL BIGINT)."""


class Envelope(AtriumModel):
    """Fields every device message carries."""

    v: Literal[1] = Field(description="Schema version of the payload")
    device_id: DeviceId
    seq: int = Field(ge=0, le=MAX_SEQ, description="Per-device sequence number, one counter for all channels")
    ts: AwareDatetime = Field(description="When the device produced the message (ISO 8601 with zone)")
    kind: DeviceKind = Field(description="The sending device's kind")


# Telemetry: periodic readings. Values are typed but not range-checked beyond their nature:
# a physically impossible reading is a sensor fault to report, not a message to refuse.


class OccupancyTelemetry(Envelope):
    """A room-occupancy sensor's reading."""

    kind: Literal[DeviceKind.OCCUPANCY]
    presence: bool
    people: NonNegativeInt = Field(le=10_000)


class EnvironmentTelemetry(Envelope):
    """An environment sensor's reading."""

    kind: Literal[DeviceKind.ENVIRONMENT]
    temperature_c: float
    humidity_pct: float
    co2_ppm: float


class EnergyTelemetry(Envelope):
    """An energy meter's reading; ``energy_kwh`` is cumulative and may reset to zero."""

    kind: Literal[DeviceKind.ENERGY]
    energy_kwh: NonNegativeFloat
    power_w: float


class SafetyTelemetry(Envelope):
    """A safety sensor's reading: alarms are flags, so a raised alarm repeats until it clears."""

    kind: Literal[DeviceKind.SAFETY]
    smoke: bool
    co_ppm: NonNegativeFloat
    leak: bool
    battery_pct: Percent


class DoorDisplayTelemetry(Envelope):
    """A door display's heartbeat: what it shows and its battery, if it has one."""

    kind: Literal[DeviceKind.DOOR_DISPLAY]
    showing: ShortText = Field(description="The status line currently on screen")
    battery_pct: Percent | None = None


class Level(StrEnum):
    """A consumable's level in a badge printer."""

    OK = "ok"
    LOW = "low"
    OUT = "out"


class BadgePrinterTelemetry(Envelope):
    """A badge printer's status report."""

    kind: Literal[DeviceKind.BADGE_PRINTER]
    paper: Level
    ribbon: Level
    jammed: bool
    prints_total: NonNegativeInt


Telemetry = Annotated[
    OccupancyTelemetry
    | EnvironmentTelemetry
    | EnergyTelemetry
    | SafetyTelemetry
    | DoorDisplayTelemetry
    | BadgePrinterTelemetry,
    Field(discriminator="kind"),
]


# Events: things that happen once.


class DisplayButton(StrEnum):
    """Buttons on a door display."""

    CHECK_IN = "check_in"
    BOOK_NOW = "book_now"
    EXTEND = "extend"
    END_MEETING = "end_meeting"
    REPORT_PROBLEM = "report_problem"


class ButtonPressed(Envelope):
    """Someone pressed a button on a door display."""

    kind: Literal[DeviceKind.DOOR_DISPLAY]
    event: Literal["button_pressed"]
    button: DisplayButton
    minutes: int | None = Field(default=None, ge=5, le=240, description="For book_now and extend")
    note: ShortText | None = Field(default=None, description="For report_problem")


class PrintJobStatus(StrEnum):
    """How a print job ended."""

    PRINTED = "printed"
    FAILED = "failed"


class PrintJobFinished(Envelope):
    """A badge printer finished (or gave up on) a print job."""

    kind: Literal[DeviceKind.BADGE_PRINTER]
    event: Literal["print_job_finished"]
    job_id: ShortText
    status: PrintJobStatus
    error: ShortText | None = None


Event = Annotated[ButtonPressed | PrintJobFinished, Field(discriminator="event")]


# State: retained, published at birth and whenever it changes.


class DeviceState(Envelope):
    """What a device says about itself: its kind, firmware, reporting interval and MQTT keepalive.

    The hub expects to hear from a device at least every ``max(report_interval_s, keepalive_s)``
    and marks it offline after one and a half of those without a word, whether or not the broker
    has published its LWT yet (brokers check keepalives only every few seconds).
    """

    firmware: ShortText
    report_interval_s: float = Field(gt=0, le=86_400)
    keepalive_s: int | None = Field(default=None, ge=0, le=65_535, description="The device's MQTT keepalive")

    @property
    def liveness_s(self) -> float:
        """How long the hub waits without a word before it marks the device offline."""
        return 1.5 * max(self.report_interval_s, self.keepalive_s or 0)


# Commands: hub -> device, on the command topic.


class CommandBase(AtriumModel):
    """Fields every command carries."""

    v: Literal[1] = SCHEMA_VERSION
    id: ShortText = Field(description="Command id, echoed in any resulting event")
    ts: AwareDatetime


class ShowOnDisplay(CommandBase):
    """Tell a door display what to show."""

    cmd: Literal["show"] = "show"
    title: ShortText
    status: ShortText
    lines: list[ShortText] = Field(default_factory=list, max_length=10)


class PrintBadge(CommandBase):
    """Ask a badge printer to print a badge."""

    cmd: Literal["print"] = "print"
    job_id: ShortText
    zpl: Annotated[str, StringConstraints(max_length=64_000)]


class Configure(CommandBase):
    """Change how often a device reports."""

    cmd: Literal["configure"] = "configure"
    report_interval_s: float = Field(gt=0, le=86_400)


class RoomState(StrEnum):
    """What a meeting room is doing, as its door display and panel show it."""

    FREE = "free"
    BOOKED = "booked"
    """A meeting has started (or is about to) and nobody has checked in yet."""
    IN_USE = "in_use"
    CLEANING_NEEDED = "cleaning_needed"
    OUT_OF_ORDER = "out_of_order"


class MeetingSummary(AtriumModel):
    """A meeting as a door display shows it; a private meeting's title is already hidden."""

    title: ShortText
    organiser: ShortText
    start: AwareDatetime
    end: AwareDatetime
    checked_in: bool = False


class ShowRoomState(CommandBase):
    """The state of the room beside a door display, sent retained so a display that wakes up has it.

    The display renders it in the site's ``timezone`` and enables only the ``buttons`` listed.
    """

    cmd: Literal["room_state"] = "room_state"
    room_name: ShortText
    state: RoomState
    current: MeetingSummary | None = None
    upcoming: list[MeetingSummary] = Field(default_factory=list, max_length=5)
    free_until: AwareDatetime | None = Field(default=None, description="Absent when free all day, or not free")
    timezone: ShortText = "UTC"
    buttons: list[DisplayButton] = Field(default_factory=list)
    needs_cleaning: bool = Field(default=False, description="The room is due for cleaning, even while in use")


Seq = Annotated[int, Field(ge=0, le=MAX_SEQ)]
SeqRange = Annotated[tuple[Seq, Seq], Field(description="First and last sequence number, both included")]
MAX_COMMITTED_RANGES = 10_000
"""A batch holds at most 10,000 messages, so at most that many ranges of one device."""


class Committed(CommandBase):
    """The hub's end-to-end acknowledgement: these sequence numbers of the device are committed.

    The broker's PUBACK only says the broker has a message; a broker killed before its autosave
    forgets it. A device keeps each message in its outbox until a ``committed`` covers it, and
    sends again what stays unconfirmed. Ranges, not a high-water mark, because a replay may
    arrive out of order; repeats the hub already held are confirmed again.
    """

    cmd: Literal["committed"] = "committed"
    ranges: list[SeqRange] = Field(min_length=1, max_length=MAX_COMMITTED_RANGES)

    @model_validator(mode="after")
    def _ordered(self) -> "Committed":
        if any(first > last for first, last in self.ranges):
            raise ValueError("each range is [first, last] with first <= last")
        return self

    @property
    def up_to(self) -> int:
        """The highest sequence number confirmed."""
        return max(last for _, last in self.ranges)

    def covers(self, seq: int) -> bool:
        """Whether ``seq`` is one of the confirmed sequence numbers."""
        return any(first <= seq <= last for first, last in self.ranges)


def seq_ranges(seqs: Iterable[int]) -> list[tuple[int, int]]:
    """Sequence numbers as sorted, merged [first, last] ranges (the form ``Committed`` carries)."""
    ranges: list[tuple[int, int]] = []
    for seq in sorted(set(seqs)):
        if ranges and seq == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], seq)
        else:
            ranges.append((seq, seq))
    return ranges


Command = Annotated[ShowOnDisplay | ShowRoomState | PrintBadge | Configure | Committed, Field(discriminator="cmd")]

TELEMETRY_MODELS: dict[DeviceKind, type[Envelope]] = {
    DeviceKind.OCCUPANCY: OccupancyTelemetry,
    DeviceKind.ENVIRONMENT: EnvironmentTelemetry,
    DeviceKind.ENERGY: EnergyTelemetry,
    DeviceKind.SAFETY: SafetyTelemetry,
    DeviceKind.DOOR_DISPLAY: DoorDisplayTelemetry,
    DeviceKind.BADGE_PRINTER: BadgePrinterTelemetry,
}


def now_utc() -> datetime:
    """The current time, zone-aware, as payloads want it."""
    return datetime.now(UTC)
