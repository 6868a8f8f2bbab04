"""Energy meters' cumulative kWh counters, rolled up into hourly buckets per meter and room.

How readings become kWh per hour:

- two consecutive readings of a meter (in the device's time order, then sequence number) give the energy
  used between them: the difference, or the new value itself when the counter went down (a reset or a
  replaced meter counts again from zero);
- that energy is spread linearly over the time between the two readings, so the consumption across a gap
  (a meter that was silent for three hours) is shared among the hours of the gap in proportion to the
  time each of them covers, not heaped on the hour of the next reading;
- a meter's first reading is only where its counting starts.

Several hub workers stay right because the work is split in two. A reaction records each new energy
reading (the ingest stores a (device, seq) once, so it runs once per reading; the insert is also keyed
by (device, seq)) and marks it pending: an insert only, so workers ingesting side by side never wait for
each other. The rollup job then takes each meter that has pending readings under a row lock (FOR UPDATE
SKIP LOCKED: a meter another worker is rolling up is skipped, not waited for), recomputes from the
readings themselves every hour the pending ones touch, replaces those buckets and marks the readings
rolled up, in one transaction. Recomputing rather than adding makes a repeated run harmless and lets a
late, out-of-order reading slot in between two earlier ones; a flag per reading rather than an id cursor
because ids from concurrent workers commit out of order, and a cursor would step over a row committed late.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import groupby, pairwise
from typing import Any, cast
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from devices.kinds import DeviceKind
from devices.payloads import EnergyTelemetry
from devices.topics import Channel
from hub.errors import ConfigError, Invalid
from hub.scheduler import JobFunction
from hub.services.bookings import site_zone
from hub.services.reactions import NewMessage, Reactions
from hub.services.recurrence import local_day_bounds
from hub.settings import Settings
from hub.store.db import dialect_insert
from hub.store.energy_models import EnergyHour, EnergyMeter, EnergyReading
from hub.store.models import Device, DeviceMessage, Floor, Room, Site, UTCDateTime
from hub.store.room_live_models import RoomLive

HOUR = timedelta(hours=1)
ROLLUP_EVERY_S = 5.0
"""How often the hub rolls up pending readings (the dashboard's energy lags by at most this)."""
METERS_PER_RUN = 500
MAX_HOURLY_DAYS = 31
MAX_DAILY_DAYS = 366
PRESENCE_HOLDS = timedelta(minutes=15)
"""How long an occupancy reading counts for before the hour it is read in (matches the utilisation report)."""


# --- recording and rolling up ---


_READINGS = cast(sa.Table, EnergyReading.__table__)
_METERS = cast(sa.Table, EnergyMeter.__table__)


def record_readings(session: Session, news: Sequence[NewMessage], _now: datetime) -> None:
    """Reaction: keep a batch's new energy readings, pending until the rollup job takes them (two statements)."""
    readings = []
    for new in news:
        reading = new.message
        assert isinstance(reading, EnergyTelemetry)
        readings.append(
            {"device_id": new.device_id, "seq": reading.seq, "read_at": reading.ts, "energy_kwh": reading.energy_kwh}
        )
    readings.sort(key=lambda row: (row["device_id"], row["seq"]))  # one lock order for all workers
    insert = dialect_insert(session)
    connection = session.connection()
    connection.execute(insert(_READINGS).on_conflict_do_nothing(), readings)
    meters = [{"device_id": device_id} for device_id in sorted({new.device_id for new in news})]
    connection.execute(insert(_METERS).on_conflict_do_nothing(), meters)


def record_reading(session: Session, new: NewMessage, now: datetime) -> None:
    """Reaction to one energy reading (see record_readings)."""
    record_readings(session, [new], now)


def used_between(before_kwh: float, after_kwh: float) -> float:
    """Energy used between two counter values; a counter that went down was reset and counts from zero."""
    return after_kwh - before_kwh if after_kwh >= before_kwh else after_kwh


def hour_of(instant: datetime) -> datetime:
    """The UTC hour an instant falls in."""
    return instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def spread(start: datetime, end: datetime, kwh: float) -> Iterator[tuple[datetime, float]]:
    """``kwh`` used from ``start`` to ``end``, shared linearly among the UTC hours the span covers."""
    if end <= start:
        yield hour_of(end), kwh
        return
    total = (end - start).total_seconds()
    hour = hour_of(start)
    while hour < end:
        covered = (min(end, hour + HOUR) - max(start, hour)).total_seconds()
        yield hour, kwh * covered / total
        hour += HOUR


def hourly_usage(readings: Sequence[tuple[datetime, float]]) -> dict[datetime, float]:
    """kWh per UTC hour from one meter's readings (instant, counter), already in order."""
    hours: dict[datetime, float] = defaultdict(float)
    for (start, before), (end, after) in pairwise(readings):
        for hour, kwh in spread(start, end, used_between(before, after)):
            hours[hour] += kwh
    return dict(hours)


def roll_up(session: Session, now: datetime, *, meters: int = METERS_PER_RUN) -> int:
    """Job: roll up pending readings of up to ``meters`` meters; returns how many readings it rolled up.

    A few statements whatever the number of meters: lock the meters, read every reading their windows
    need in one query (the database works out each window), then replace their buckets and flags.
    """
    pending_meters = (
        sa.select(EnergyReading.device_id).where(EnergyReading.rolled_up.is_(False)).distinct().limit(meters)
    )
    locked = session.scalars(
        sa.select(EnergyMeter.device_id)
        .where(EnergyMeter.device_id.in_(pending_meters))
        .with_for_update(skip_locked=True)  # a meter another worker is rolling up is skipped, not waited for
    ).all()
    if not locked:
        return 0
    windows = [_Window.of(device_id, rows) for device_id, rows in _window_readings(session, locked)]
    connection = session.connection()
    if windows:
        connection.execute(_DELETE_HOURS, [window.bounds() for window in windows])
        hours = [row for window in windows for row in window.hours()]
        if hours:
            connection.execute(sa.insert(_HOURS), hours)
        pending = [{"b_device_id": w.device_id, "b_seq": seq} for w in windows for seq in w.pending]
        if pending:
            connection.execute(_MARK_ROLLED_UP, pending)
    connection.execute(sa.update(_METERS).where(_METERS.c.device_id.in_(locked)).values(rolled_up_at=now))
    return sum(len(window.pending) for window in windows)


_HOURS = cast(sa.Table, EnergyHour.__table__)
_DELETE_HOURS = sa.delete(_HOURS).where(
    _HOURS.c.device_id == sa.bindparam("b_device_id"),
    _HOURS.c.hour_start >= sa.bindparam("b_start", type_=_HOURS.c.hour_start.type),
    _HOURS.c.hour_start < sa.bindparam("b_end", type_=_HOURS.c.hour_start.type),
)
_MARK_ROLLED_UP = (
    sa.update(_READINGS)
    .where(_READINGS.c.device_id == sa.bindparam("b_device_id"), _READINGS.c.seq == sa.bindparam("b_seq"))
    .values(rolled_up=True)
)


@dataclass
class _Window:
    """The hours one meter's pending readings touch, and every reading needed to recompute them.

    From the hour of the reading before the first pending one to the hour of the reading after the last
    (a late reading changes the pair on each side of it), plus the readings just outside, whose pairs
    straddle the window's edges.
    """

    device_id: str
    room_id: str | None
    start: datetime
    end: datetime
    readings: list[tuple[datetime, float]]
    pending: list[int]

    @classmethod
    def of(cls, device_id: str, rows: Sequence[sa.Row[tuple[Any, ...]]]) -> "_Window":
        """From the rows of one meter in (instant, seq) order, some of them before and after the window."""
        start, end, room_id = rows[0].window_start, rows[0].window_end, rows[0].room_id
        earlier = [row for row in rows if row.read_at < start]
        later = [row for row in rows if row.read_at >= end]
        inside = [row for row in rows if start <= row.read_at < end]
        kept = [*earlier[-1:], *inside, *later[:1]]
        return cls(
            device_id,
            room_id,
            start,
            end,
            [(row.read_at, row.energy_kwh) for row in kept],
            [row.seq for row in inside if not row.rolled_up],
        )

    def bounds(self) -> dict[str, object]:
        return {"b_device_id": self.device_id, "b_start": self.start, "b_end": self.end}

    def hours(self) -> list[dict[str, object]]:
        usage = hourly_usage(self.readings)
        return [
            {"device_id": self.device_id, "hour_start": hour, "room_id": self.room_id, "kwh": kwh}
            for hour, kwh in sorted(usage.items())
            if self.start <= hour < self.end
        ]


def _window_readings(
    session: Session, device_ids: Sequence[str]
) -> Iterator[tuple[str, list[sa.Row[tuple[Any, ...]]]]]:
    """Each meter's window (see _Window) and the readings from the last one before it to the first one after."""
    readings = _READINGS.c
    other = _READINGS.alias("other")

    def latest_before(device_id: sa.ColumnElement[str], instant: sa.ColumnElement[datetime]) -> sa.ScalarSelect[Any]:
        found = sa.select(sa.func.max(other.c.read_at)).where(other.c.device_id == device_id, other.c.read_at < instant)
        return found.scalar_subquery()

    def earliest_from(device_id: sa.ColumnElement[str], instant: sa.ColumnElement[datetime]) -> sa.ScalarSelect[Any]:
        found = sa.select(sa.func.min(other.c.read_at)).where(
            other.c.device_id == device_id, other.c.read_at >= instant
        )
        return found.scalar_subquery()

    dialect = session.get_bind().dialect.name
    pending = (
        sa.select(
            readings.device_id,
            sa.func.min(readings.read_at).label("first_at"),
            sa.func.max(readings.read_at).label("last_at"),
        )
        .where(readings.rolled_up.is_(False), readings.device_id.in_(device_ids))
        .group_by(readings.device_id)
        .cte("pending")
    )
    after_last = sa.select(sa.func.min(other.c.read_at)).where(
        other.c.device_id == pending.c.device_id, other.c.read_at > pending.c.last_at
    )
    window = sa.select(
        pending.c.device_id,
        _hour_start(
            dialect, sa.func.coalesce(latest_before(pending.c.device_id, pending.c.first_at), pending.c.first_at)
        ),
        _hour_start(dialect, sa.func.coalesce(after_last.scalar_subquery(), pending.c.last_at), later=True),
    ).cte("windows")
    device_id, window_start, window_end = window.c
    span = sa.select(
        device_id,
        window_start.label("window_start"),
        window_end.label("window_end"),
        sa.func.coalesce(latest_before(device_id, window_start), window_start).label("low"),
        sa.func.coalesce(earliest_from(device_id, window_end), window_end).label("high"),
    ).cte("span")
    query = (
        sa.select(
            readings.device_id,
            readings.seq,
            readings.read_at,
            readings.energy_kwh,
            readings.rolled_up,
            span.c.window_start,
            span.c.window_end,
            Device.room_id,
        )
        .join(
            span,
            sa.and_(
                readings.device_id == span.c.device_id,
                readings.read_at >= span.c.low,
                readings.read_at <= span.c.high,
            ),
        )
        .outerjoin(Device, Device.id == readings.device_id)
        .order_by(readings.device_id, readings.read_at, readings.seq)
    )
    rows = session.connection().execute(query).all()  # Core rows: no ORM loading per row
    for device_id_, group in groupby(rows, key=lambda row: row.device_id):
        yield device_id_, list(group)


def _hour_start(dialect: str, instant: sa.ColumnElement[Any], *, later: bool = False) -> sa.ColumnElement[datetime]:
    """The start of the UTC hour of ``instant`` (or of the hour after it), in SQL; the same instant as hour_of."""
    if dialect == "sqlite":  # timestamps are text there, in SQLAlchemy's format; the result must match it
        modifiers = ["+1 hour"] if later else []
        return sa.func.strftime("%Y-%m-%d %H:00:00.000000", instant, *modifiers, type_=UTCDateTime)
    hour = sa.func.timezone("UTC", sa.func.date_trunc("hour", sa.func.timezone("UTC", instant)), type_=UTCDateTime)
    return hour + sa.literal(HOUR, sa.Interval) if later else hour


# --- reports ---


class Group(StrEnum):
    """What the kWh are summed over."""

    ROOM = "room"
    FLOOR = "floor"
    SITE = "site"


class Period(StrEnum):
    """The length of each bucket of a report."""

    HOUR = "hour"
    DAY = "day"


@dataclass(frozen=True)
class Bucket:
    """kWh used from ``start`` (site time) for an hour or a day."""

    start: datetime
    kwh: float


@dataclass(frozen=True)
class Series:
    """One room's, floor's or the site's buckets."""

    id: str | None
    name: str
    buckets: list[Bucket]

    @property
    def total_kwh(self) -> float:
        return sum(bucket.kwh for bucket in self.buckets)


@dataclass(frozen=True)
class EnergyReport:
    """kWh by room, floor or site, per hour or per local day, from ``first_day`` to ``last_day`` included."""

    group: Group
    period: Period
    timezone: str
    first_day: date
    last_day: date
    series: list[Series] = field(default_factory=list)

    @property
    def total_kwh(self) -> float:
        return sum(s.total_kwh for s in self.series)


@dataclass(frozen=True)
class _Row:
    hour: datetime
    kwh: float
    room_id: str | None
    room_name: str | None
    floor_id: str | None


def _range(session: Session, first_day: date, last_day: date, max_days: int) -> tuple[ZoneInfo, datetime, datetime]:
    if last_day < first_day:
        raise Invalid(f"the report must end on or after its first day ({first_day:%d %b %Y})")
    if (last_day - first_day).days >= max_days:
        raise Invalid(f"this report covers at most {max_days} days")
    zone = site_zone(session)
    return zone, local_day_bounds(first_day, zone)[0], local_day_bounds(last_day, zone)[1]


def _rows(session: Session, start: datetime, end: datetime) -> list[_Row]:
    query = (
        sa.select(EnergyHour.hour_start, EnergyHour.kwh, EnergyHour.room_id, Room.name, Room.floor_id)
        .outerjoin(Room, EnergyHour.room_id == Room.id)
        .where(EnergyHour.hour_start >= start, EnergyHour.hour_start < end)
    )
    return [_Row(*row) for row in session.execute(query).all()]


def energy_report(session: Session, *, group: Group, period: Period, first_day: date, last_day: date) -> EnergyReport:
    """kWh per room, floor or the whole site, per hour or per site-local day.

    A day is the site's local day; an hour bucket belongs to the day its start falls in, which is exact
    for every zone whose offset from UTC is a whole number of hours.
    """
    zone, start, end = _range(
        session, first_day, last_day, MAX_HOURLY_DAYS if period is Period.HOUR else MAX_DAILY_DAYS
    )
    rows = _rows(session, start, end)
    names = _series_names(session, group, rows)
    if period is Period.HOUR:
        starts = [hour.astimezone(zone) for hour in _hours(start, end)]
    else:
        starts = [
            datetime.combine(first_day + timedelta(days=n), time(0), tzinfo=zone)
            for n in _day_numbers(first_day, last_day)
        ]
    totals: dict[tuple[str | None, datetime], float] = defaultdict(float)
    for row in rows:
        key = _group_key(group, row, names)
        local = row.hour.astimezone(zone)
        bucket = local if period is Period.HOUR else datetime.combine(local.date(), time(0), tzinfo=zone)
        totals[key, bucket] += row.kwh
    report = EnergyReport(group=group, period=period, timezone=zone.key, first_day=first_day, last_day=last_day)
    for series_id, name in names.items():
        report.series.append(
            Series(series_id, name, [Bucket(when, round(totals.get((series_id, when), 0.0), 6)) for when in starts])
        )
    return report


def _hours(start: datetime, end: datetime) -> Iterator[datetime]:
    hour = start
    while hour < end:
        yield hour
        hour += HOUR


def _day_numbers(first_day: date, last_day: date) -> range:
    return range((last_day - first_day).days + 1)


def _group_key(group: Group, row: _Row, names: dict[str | None, str]) -> str | None:
    if group is Group.ROOM:
        return row.room_id
    if group is Group.FLOOR:
        return row.floor_id
    return next(iter(names))


def _series_names(session: Session, group: Group, rows: Iterable[_Row]) -> dict[str | None, str]:
    """Every floor (so a chart shows them all), rooms that have a meter, or the site; then any unassigned."""
    names: dict[str | None, str] = {}
    if group is Group.SITE:
        site = session.scalars(sa.select(Site).order_by(Site.id).limit(1)).first()
        return {site.id if site else None: site.name if site else "site"}
    if group is Group.FLOOR:
        for floor in session.scalars(sa.select(Floor).order_by(Floor.level, Floor.id)):
            names[floor.id] = floor.name
    else:
        metered = (
            sa.select(Room)
            .join(Floor, Room.floor_id == Floor.id)
            .where(Room.id.in_(sa.select(Device.room_id).where(Device.kind == DeviceKind.ENERGY.value)))
            .order_by(Floor.level, Room.name)
        )
        for room in session.scalars(metered).unique():
            names[room.id] = room.name
        for row in rows:
            if row.room_id is not None and row.room_id not in names:
                names[row.room_id] = row.room_name or row.room_id
    if any(_group_key(group, row, names) is None for row in rows):
        names[None] = "no room"
    return names


# --- energy used in empty rooms after hours ---


@dataclass(frozen=True)
class OfficeHours:
    """Weekday office hours in site time; hours that start outside them (and weekends) are after hours."""

    opens: time
    closes: time

    @classmethod
    def parse(cls, text: str) -> "OfficeHours":
        """``"07:00-19:00"``, or Invalid saying what is wrong."""
        try:
            opens, closes = (time.fromisoformat(part.strip()) for part in text.split("-"))
        except ValueError:
            raise Invalid(f"office hours {text!r} are not HH:MM-HH:MM, as in 07:00-19:00") from None
        if closes <= opens:
            raise Invalid(f"office hours {text!r} close before they open")
        return cls(opens, closes)

    def after_hours(self, local_start: datetime) -> bool:
        return local_start.weekday() >= 5 or not self.opens <= local_start.time() < self.closes

    def __str__(self) -> str:
        return f"{self.opens:%H:%M}-{self.closes:%H:%M}"


class Evidence(StrEnum):
    """How the hub knows a room was empty."""

    SENSOR = "sensor"
    """Occupancy readings during the hour all saw nobody."""
    ROOM_LIVE = "room_live"
    """No readings in the hour, but the room has been empty since before it (its live state)."""


@dataclass(frozen=True)
class AfterHoursUse:
    """A room that used energy through an hour outside office hours while nobody was there."""

    room_id: str
    room_name: str
    floor_id: str | None
    hour_start: datetime
    kwh: float
    evidence: Evidence


def after_hours_use(
    session: Session,
    *,
    first_day: date,
    last_day: date,
    office_hours: OfficeHours,
    min_kwh: float,
    presence_holds: timedelta = PRESENCE_HOLDS,
) -> list[AfterHoursUse]:
    """Hours outside office hours in which an empty room used at least ``min_kwh`` (all its meters together).

    A room is empty through an hour when its occupancy sensors reported during the hour (or shortly
    before it) and never saw anyone, or, when they said nothing, when its live state has it empty since
    before the hour. A room without either is not flagged: the hub cannot tell it was empty.
    """
    zone, start, end = _range(session, first_day, last_day, MAX_DAILY_DAYS)
    per_room: dict[tuple[str, datetime], float] = defaultdict(float)
    rooms: dict[str, _Row] = {}
    for row in _rows(session, start, end):
        if row.room_id is None or not office_hours.after_hours(row.hour.astimezone(zone)):
            continue
        per_room[row.room_id, row.hour] += row.kwh
        rooms[row.room_id] = row
    candidates = {key: kwh for key, kwh in per_room.items() if kwh >= min_kwh and kwh > 0}
    if not candidates:
        return []
    sightings = _occupancy(session, {room for room, _ in candidates}, start - presence_holds, end)
    empty_since = dict(
        session.execute(
            sa.select(RoomLive.room_id, RoomLive.empty_since).where(RoomLive.room_id.in_(list(rooms)))
        ).all()
    )
    flagged = []
    for (room_id, hour), kwh in sorted(candidates.items(), key=lambda item: (item[0][1], item[0][0])):
        evidence = _empty_through(sightings.get(room_id, []), hour, presence_holds, empty_since.get(room_id))
        if evidence is not None:
            row = rooms[room_id]
            flagged.append(
                AfterHoursUse(room_id, row.room_name or room_id, row.floor_id, hour, round(kwh, 6), evidence)
            )
    return flagged


def _occupancy(
    session: Session, room_ids: set[str], start: datetime, end: datetime
) -> dict[str, list[tuple[datetime, bool]]]:
    """Each room's occupancy readings in the range: (when, somebody there), in time order."""
    query = (
        sa.select(Device.room_id, DeviceMessage.device_ts, DeviceMessage.data)
        .join(Device, DeviceMessage.device_id == Device.id)
        .where(
            Device.kind == DeviceKind.OCCUPANCY.value,
            Device.room_id.in_(room_ids),
            DeviceMessage.channel == Channel.TELEMETRY.value,
            DeviceMessage.device_ts >= start,
            DeviceMessage.device_ts < end,
        )
        .order_by(DeviceMessage.device_ts)
    )
    found: dict[str, list[tuple[datetime, bool]]] = defaultdict(list)
    for room_id, ts, data in session.execute(query).all():
        if room_id is not None:
            found[room_id].append((ts, bool(data.get("presence")) or int(data.get("people") or 0) > 0))
    return found


def _empty_through(
    sightings: Sequence[tuple[datetime, bool]], hour: datetime, holds: timedelta, empty_since: datetime | None
) -> Evidence | None:
    relevant = [seen for ts, seen in sightings if hour <= ts < hour + HOUR]
    earlier = [seen for ts, seen in sightings if hour - holds <= ts < hour]
    if earlier:
        relevant.append(earlier[-1])
    if relevant:
        return None if any(relevant) else Evidence.SENSOR
    if empty_since is not None and empty_since <= hour:
        return Evidence.ROOM_LIVE
    return None


def floors_today(session: Session, now: datetime) -> EnergyReport:
    """kWh per floor so far today (site time), for the dashboard's chart."""
    today = now.astimezone(site_zone(session)).date()
    return energy_report(session, group=Group.FLOOR, period=Period.DAY, first_day=today, last_day=today)


def install(reactions: Reactions, jobs: list[tuple[str, float, JobFunction]], settings: Settings) -> None:
    """Wire energy into a hub: the reading reaction and the rollup job; bad office hours stop the start."""
    try:
        OfficeHours.parse(settings.energy_office_hours)
    except Invalid as error:
        raise ConfigError(f"ATRIUM_ENERGY_OFFICE_HOURS: {error}") from None
    reactions.on_batch(EnergyTelemetry, "record energy reading", record_readings)
    jobs.append(("roll up energy readings", ROLLUP_EVERY_S, roll_up))
