"""Preventive maintenance: schedules per asset by calendar or usage meter that open tickets ahead of time.

A schedule is due ``every`` days, prints or running hours after the work was last done. Its meter
is kept from the meter device's own telemetry: a badge printer's ``prints_total`` counter (a counter
that goes back to a lower value is a reset or a new printer: counting carries on from there), or an
energy meter's power, where the time between two readings counts as running while the first one was
above ``running_above_w``. A ticket (source ``preventive``) opens once the meter or the calendar is
within the lead (days, or a share of the interval) of the due point, and only once per due point;
resolving that ticket, or ``done`` through the API or CLI, records the work and starts the next cycle.

Schedules come from the ``[[schedule]]`` tables of ``ATRIUM_PREVENTIVE_FILE`` (checked at start, with
the line of a bad entry, and synced once their assets are registered) or from the API.
"""

import logging
import tomllib
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Self

import sqlalchemy as sa
from pydantic import Field, ValidationError, model_validator
from sqlalchemy.orm import Session

from devices.base import AtriumModel
from devices.codec import describe_validation_error
from devices.kinds import DeviceKind
from devices.payloads import BadgePrinterTelemetry, EnergyTelemetry
from devices.site import Building
from hub.errors import ConfigError, Conflict, Invalid, NotFound
from hub.services.reactions import NewMessage
from hub.services.tickets import get_asset, open_ticket
from hub.settings import Settings
from hub.store.audit import record
from hub.store.facilities_models import PreventiveSchedule, ScheduleKind
from hub.store.models import Device
from hub.store.ticket_models import DONE_STATUSES, Ticket, TicketPriority, TicketSource

log = logging.getLogger(__name__)

READING_GAP_CAP = timedelta(minutes=15)
"""The most running time one energy reading counts for when the next one is late."""
RUNNING_ABOVE_W = 100.0
"""Default power above which metered equipment counts as running."""
DAY_S = 86_400.0
METER_KINDS = {ScheduleKind.PRINTS: DeviceKind.BADGE_PRINTER, ScheduleKind.RUNNING_HOURS: DeviceKind.ENERGY}
UNITS = {ScheduleKind.DAYS: "days", ScheduleKind.PRINTS: "prints", ScheduleKind.RUNNING_HOURS: "running hours"}


@dataclass(frozen=True, slots=True)
class Leads:
    """How early tickets open when a schedule does not say."""

    days: float = 7.0
    pct: float = 5.0

    @classmethod
    def from_settings(cls, settings: Settings) -> "Leads":
        return cls(days=settings.preventive_lead_days, pct=settings.preventive_lead_pct)


class ScheduleSpec(AtriumModel):
    """One schedule as the file's ``[[schedule]]`` table or the API gives it: exactly one ``every_*``."""

    asset: str = Field(min_length=1, max_length=160, description="The asset's id (a device id, or room/equipment)")
    task: str = Field(min_length=1, max_length=200, description="What to do, as the ticket's title says it")
    every_days: float | None = Field(default=None, gt=0, le=3650)
    every_prints: int | None = Field(default=None, gt=0, le=10_000_000)
    every_running_hours: float | None = Field(default=None, gt=0, le=1_000_000)
    lead_days: float | None = Field(default=None, ge=0, le=365, description="Calendar: open this many days early")
    lead_pct: float | None = Field(default=None, ge=0, lt=100, description="Meter: open this share (%) early")
    meter_device: str | None = Field(
        default=None, max_length=64, description="The device whose telemetry is the meter (default: the asset's own)"
    )
    running_above_w: float | None = Field(default=None, gt=0, description="Running hours: power that means running")

    @model_validator(mode="after")
    def _one_interval(self) -> Self:
        given = [name for name in ("every_days", "every_prints", "every_running_hours") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError("give exactly one of every_days, every_prints, every_running_hours")
        if self.every_days is not None and (self.lead_pct is not None or self.meter_device is not None):
            raise ValueError("a calendar schedule takes lead_days, not lead_pct or meter_device")
        if self.every_days is None and self.lead_days is not None:
            raise ValueError("a meter schedule takes lead_pct, not lead_days")
        if self.every_running_hours is None and self.running_above_w is not None:
            raise ValueError("running_above_w is for every_running_hours schedules")
        return self

    @property
    def kind(self) -> ScheduleKind:
        if self.every_days is not None:
            return ScheduleKind.DAYS
        return ScheduleKind.PRINTS if self.every_prints is not None else ScheduleKind.RUNNING_HOURS

    @property
    def every(self) -> float:
        return float(self.every_days or self.every_prints or self.every_running_hours or 0)


class ScheduleFile(AtriumModel):
    """The schedules file: ``[[schedule]]`` tables and nothing else."""

    schedule: list[ScheduleSpec] = Field(default_factory=list)


def load_schedule_file(path: Path, building: Building | None = None) -> list[ScheduleSpec]:
    """Read and check the schedules file; a bad entry is a ConfigError naming the file, line and reason."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read preventive schedules file {path}: {error.strerror}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    lines = [number for number, line in enumerate(text.splitlines(), 1) if line.strip().startswith("[[schedule]]")]
    try:
        parsed = ScheduleFile.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]["loc"]
        where = (
            f"line {lines[first[1]]}: "
            if len(first) > 1 and isinstance(first[1], int) and first[1] < len(lines)
            else ""
        )
        raise ConfigError(f"{path}: {where}{describe_validation_error(error)}") from None
    for index, spec in enumerate(parsed.schedule):
        reason = _not_in_building(spec, building) if building is not None else None
        if reason is not None:
            line = f"line {lines[index]}: " if index < len(lines) else ""
            raise ConfigError(f"{path}: {line}schedule {spec.task!r}: {reason}")
    return parsed.schedule


def _not_in_building(spec: ScheduleSpec, building: Building) -> str | None:
    devices = {device.id: device.kind for _, _, device in building.devices()}
    rooms = {room.id for _, room in building.rooms()}
    if spec.asset not in devices and spec.asset.partition("/")[0] not in rooms:
        return f"asset {spec.asset!r} is neither a device nor a room's equipment in the building file"
    meter = spec.meter_device or (spec.asset if spec.asset in devices else None)
    wanted = METER_KINDS.get(spec.kind)
    if wanted is not None and meter is not None and devices.get(meter) is not wanted:
        return f"meter device {meter!r} is not a device of kind {wanted.value} in the building file"
    return None


def _default_meter(session: Session, spec: ScheduleSpec, asset_room: str | None) -> str | None:
    if spec.kind is ScheduleKind.DAYS:
        return None
    if spec.meter_device is not None:
        device = session.get(Device, spec.meter_device)
        if device is None or device.kind != METER_KINDS[spec.kind].value:
            raise Invalid(f"meter device {spec.meter_device!r} is not a known {METER_KINDS[spec.kind].value} device")
        return device.id
    own = session.get(Device, spec.asset)
    if own is not None and own.kind == METER_KINDS[spec.kind].value:
        return own.id
    if spec.kind is ScheduleKind.RUNNING_HOURS and asset_room is not None:
        meter = session.scalar(
            sa.select(Device.id)
            .where(Device.room_id == asset_room, Device.kind == DeviceKind.ENERGY.value, Device.in_building)
            .order_by(Device.id)
        )
        if meter is not None:
            return meter
    raise Invalid(f"schedule {spec.task!r} on {spec.asset!r} needs a meter_device ({METER_KINDS[spec.kind].value})")


def create_schedule(session: Session, *, spec: ScheduleSpec, source: str, now: datetime) -> PreventiveSchedule:
    """Add a schedule for an asset; its first cycle counts from now (calendar) or from the meter's zero."""
    asset = get_asset(session, spec.asset)
    existing = session.scalar(
        sa.select(PreventiveSchedule).where(
            PreventiveSchedule.asset_id == spec.asset, PreventiveSchedule.task == spec.task
        )
    )
    if existing is not None:
        raise Conflict(f"asset {spec.asset!r} already has a schedule {spec.task!r} (schedule {existing.id})")
    schedule = PreventiveSchedule(
        asset_id=asset.id,
        task=spec.task,
        kind=spec.kind.value,
        every=spec.every,
        lead_days=spec.lead_days,
        lead_pct=spec.lead_pct,
        meter_device_id=_default_meter(session, spec, asset.room_id),
        running_above_w=(spec.running_above_w or RUNNING_ABOVE_W) if spec.kind is ScheduleKind.RUNNING_HOURS else None,
        meter=0.0,
        meter_running=False,
        last_done_at=now,
        last_done_meter=0.0,
        source=source,
        active=True,
        created_at=now,
    )
    session.add(schedule)
    session.flush()
    record(
        session,
        actor=source,
        action="preventive.create",
        object_type="preventive_schedule",
        object_id=schedule.id,
        now=now,
        detail={"asset": asset.id, "task": spec.task, "kind": spec.kind.value, "every": spec.every},
    )
    return schedule


def _days(at: datetime) -> float:
    return at.timestamp() / DAY_S


def position(schedule: PreventiveSchedule, now: datetime) -> float:
    """Where the schedule's clock or meter stands: days since the epoch, prints, or running hours."""
    return _days(now) if schedule.kind == ScheduleKind.DAYS else schedule.meter


def due_point(schedule: PreventiveSchedule) -> float:
    """The next due point: ``every`` after the work was last done, or after the point last ticketed."""
    base = _days(schedule.last_done_at) if schedule.kind == ScheduleKind.DAYS else schedule.last_done_meter
    due = base + schedule.every
    if schedule.opened_for is not None and schedule.opened_for >= due:
        due = schedule.opened_for + schedule.every  # not done yet: the following cycle is next
    return due


def lead(schedule: PreventiveSchedule, leads: Leads) -> float:
    """How far before the due point the ticket opens, in the schedule's unit."""
    if schedule.kind == ScheduleKind.DAYS:
        return schedule.lead_days if schedule.lead_days is not None else leads.days
    return schedule.every * (schedule.lead_pct if schedule.lead_pct is not None else leads.pct) / 100


def _describe_due(schedule: PreventiveSchedule, due: float) -> str:
    if schedule.kind == ScheduleKind.DAYS:
        return f"due on {datetime.fromtimestamp(due * DAY_S, UTC).date().isoformat()}"
    unit = UNITS[ScheduleKind(schedule.kind)]
    return f"due at {due:,.0f} {unit} (the meter reads {schedule.meter:,.0f})"


def check_schedule(session: Session, schedule: PreventiveSchedule, *, now: datetime, leads: Leads) -> Ticket | None:
    """Open the schedule's ticket if its due point is within the lead and none was opened for it yet."""
    if not schedule.active:
        return None
    due = due_point(schedule)
    if position(schedule, now) < due - lead(schedule, leads):
        return None
    asset = get_asset(session, schedule.asset_id)
    ticket = open_ticket(
        session,
        title=f"Preventive: {schedule.task} ({asset.name})",
        source=TicketSource.PREVENTIVE,
        now=now,
        asset_id=schedule.asset_id,
        fault_type=f"preventive:{schedule.id}",
        priority=TicketPriority.LOW,
        description=f"{schedule.task}: {_describe_due(schedule, due)}; every {schedule.every:g} "
        f"{UNITS[ScheduleKind(schedule.kind)]}.",
    )
    schedule.opened_for = due
    schedule.last_ticket_id = ticket.id
    log.info("preventive schedule %d (%s) opened ticket %d", schedule.id, schedule.task, ticket.id)
    return ticket


def mark_done(
    session: Session, *, schedule_id: int, by: str, now: datetime, meter: float | None = None
) -> PreventiveSchedule:
    """The work was done: the next cycle counts from now (and from the meter as it reads now)."""
    schedule = get_schedule(session, schedule_id)
    schedule.last_done_at = now
    schedule.last_done_meter = schedule.meter if meter is None else meter
    record(
        session,
        actor=by,
        action="preventive.done",
        object_type="preventive_schedule",
        object_id=schedule.id,
        now=now,
        detail={"meter": schedule.last_done_meter},
    )
    return schedule


def get_schedule(session: Session, schedule_id: int) -> PreventiveSchedule:
    schedule = session.get(PreventiveSchedule, schedule_id)
    if schedule is None:
        raise NotFound(f"no preventive schedule {schedule_id}")
    return schedule


def list_schedules(session: Session, *, asset_id: str | None = None) -> Sequence[PreventiveSchedule]:
    query = sa.select(PreventiveSchedule).order_by(PreventiveSchedule.asset_id, PreventiveSchedule.id)
    if asset_id is not None:
        query = query.where(PreventiveSchedule.asset_id == asset_id)
    return session.scalars(query).all()


def _metered(session: Session, device_ids: Collection[str], kind: ScheduleKind) -> dict[str, list[PreventiveSchedule]]:
    """The active schedules of ``kind`` these devices meter, by device: one query for a batch."""
    found: dict[str, list[PreventiveSchedule]] = defaultdict(list)
    schedules = session.scalars(
        sa.select(PreventiveSchedule)
        .where(
            PreventiveSchedule.meter_device_id.in_(sorted(device_ids)),
            PreventiveSchedule.kind == kind.value,
            PreventiveSchedule.active,
        )
        .order_by(PreventiveSchedule.id)
    )
    for schedule in schedules:
        assert schedule.meter_device_id is not None
        found[schedule.meter_device_id].append(schedule)
    return found


def count_prints(session: Session, news: Sequence[NewMessage], now: datetime, *, leads: Leads) -> None:
    """The reaction to badge printers' status: each ``prints_total`` moves its printer's schedules' meters."""
    metered = _metered(session, {new.device_id for new in news}, ScheduleKind.PRINTS)
    for new in news:
        reading = new.message
        assert isinstance(reading, BadgePrinterTelemetry)
        for schedule in metered.get(new.device_id, ()):
            if schedule.meter_at is not None and reading.ts < schedule.meter_at:
                continue  # an old report replayed from the printer's buffer
            raw = float(reading.prints_total)
            previous = schedule.meter_raw
            schedule.meter += raw if previous is None or raw < previous else raw - previous
            schedule.meter_raw = raw
            schedule.meter_at = reading.ts
            check_schedule(session, schedule, now=now, leads=leads)


def count_running_hours(session: Session, news: Sequence[NewMessage], now: datetime, *, leads: Leads) -> None:
    """The reaction to energy readings: time since a meter's previous reading counts if that one was running."""
    metered = _metered(session, {new.device_id for new in news}, ScheduleKind.RUNNING_HOURS)
    for new in news:
        reading = new.message
        assert isinstance(reading, EnergyTelemetry)
        for schedule in metered.get(new.device_id, ()):
            if schedule.meter_at is not None and reading.ts <= schedule.meter_at:
                continue
            if schedule.meter_at is not None and schedule.meter_running:
                schedule.meter += min(reading.ts - schedule.meter_at, READING_GAP_CAP) / timedelta(hours=1)
            schedule.meter_running = reading.power_w > (schedule.running_above_w or RUNNING_ABOVE_W)
            schedule.meter_at = reading.ts
            check_schedule(session, schedule, now=now, leads=leads)


class PreventiveJob:
    """The timed job: sync the file's schedules (once their assets exist), note resolved tickets, check due."""

    def __init__(self, specs: Sequence[ScheduleSpec], leads: Leads) -> None:
        self.pending = list(specs)
        self.leads = leads

    def __call__(self, session: Session, now: datetime) -> int:
        self._sync(session, now)
        opened = 0
        for schedule in session.scalars(sa.select(PreventiveSchedule).where(PreventiveSchedule.active)).all():
            self._done_by_ticket(session, schedule)
            if check_schedule(session, schedule, now=now, leads=self.leads) is not None:
                opened += 1
        return opened

    def _sync(self, session: Session, now: datetime) -> None:
        waiting = []
        for spec in self.pending:
            exists = session.scalar(
                sa.select(PreventiveSchedule.id).where(
                    PreventiveSchedule.asset_id == spec.asset, PreventiveSchedule.task == spec.task
                )
            )
            if exists is not None:
                continue
            try:
                with session.begin_nested():
                    create_schedule(session, spec=spec, source="file", now=now)
            except (NotFound, Invalid) as problem:
                log.warning("preventive schedule %r waits: %s", spec.task, problem)
                waiting.append(spec)
        self.pending = waiting

    @staticmethod
    def _done_by_ticket(session: Session, schedule: PreventiveSchedule) -> None:
        if schedule.last_ticket_id is None:
            return
        ticket = session.get(Ticket, schedule.last_ticket_id)
        if ticket is None or ticket.status not in DONE_STATUSES:
            return
        resolved = ticket.resolved_at or ticket.closed_at
        if resolved is not None and resolved > schedule.last_done_at:
            schedule.last_done_at = resolved
            schedule.last_done_meter = schedule.meter
