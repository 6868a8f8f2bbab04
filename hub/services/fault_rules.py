"""Fault rules: declarative, per device kind, and their decisions (pure: no database, no clock).

A rules file (TOML) has ``[sla.<priority>]`` tables and one ``[kinds.<device kind>.<fault type>]`` table
per rule; a site's file is merged over the shipped defaults (``deploy/fault-rules.toml``), key by key,
and ``enabled = false`` turns a default rule off. Every rule has hysteresis: once fired it must clear
(its clear condition held for ``clear_for``) before it can fire again, so a value that flaps around a
threshold raises one fault, not a storm.
"""

import math
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BeforeValidator, Field, ValidationError, model_validator

from devices.base import AtriumModel
from devices.kinds import DeviceKind
from devices.payloads import TELEMETRY_MODELS, Level
from hub.errors import ConfigError
from hub.services.tickets import FaultTypePolicy, Sla, TicketPolicy
from hub.store.ticket_models import TicketPriority

DEFAULT_RULES_FILE = Path(__file__).resolve().parents[2] / "deploy" / "fault-rules.toml"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)\s*$")
_UNITS_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86_400.0}

UNITS = {"_c": "C", "_pct": "%", "_ppm": "ppm", "_w": "W", "_kwh": "kWh"}
"""A telemetry field's unit, from its name's suffix (the device contract's naming)."""
PLAUSIBLE = {"C": (-273.15, 1000.0), "%": (0.0, 100.0), "ppm": (0.0, 1_000_000.0), "W": (-1e7, 1e7), "kWh": (0.0, 1e12)}
"""Thresholds outside these bounds are typos, not rules."""


def parse_duration(value: object) -> timedelta:
    """``"90s"``, ``"15m"``, ``"2h"``, ``"1d"``: a number with its unit (a bare number is ambiguous)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"give a duration with its unit, as in '90s', '15m' or '2h' (not {value!r})")
    match = _DURATION.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not a duration: use a number and one of ms, s, m, h, d (as in '15m')")
    return timedelta(seconds=float(match[1]) * _UNITS_S[match[2]])


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def field_unit(name: str) -> str | None:
    """The unit of a telemetry field, or None for counts, flags and levels."""
    return next((unit for suffix, unit in UNITS.items() if name.endswith(suffix)), None)


class RuleBase(AtriumModel):
    """What every rule has: the ticket it opens and how it clears."""

    priority: TicketPriority = TicketPriority.MEDIUM
    auto_resolve: bool = True
    """Resolve the ticket when the fault clears (otherwise the ticket is only annotated)."""
    enabled: bool = True
    title: str | None = Field(default=None, max_length=120, description="Ticket title; default from the fault type")
    acknowledge_within: Duration | None = None
    resolve_within: Duration | None = None
    clear_for: Duration = timedelta(0)
    """How long the clear condition must hold before the fault clears (hysteresis in time)."""


class OfflineRule(RuleBase):
    """The device has been offline longer than ``after``."""

    rule: Literal["offline"]
    after: Duration


class StuckRule(RuleBase):
    """The same values ``readings`` times in a row, from fields that always move a little."""

    rule: Literal["stuck"]
    fields: list[str] = Field(min_length=1)
    readings: int = Field(ge=2, le=10_000)


class RangeRule(RuleBase):
    """A value outside what is physically possible: the sensor is broken, not the room."""

    rule: Literal["range"]
    limits: dict[str, tuple[float, float]] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        for name, (low, high) in self.limits.items():
            if not low < high:
                raise ValueError(f"limits of {name}: the minimum {low} must be below the maximum {high}")
        return self


class ThresholdRule(RuleBase):
    """A value above (or below) a threshold for a duration; clears past a second threshold (hysteresis)."""

    rule: Literal["threshold"]
    field: str
    unit: str | None = None
    above: float | None = None
    below: float | None = None
    for_: Duration = Field(default=timedelta(0), alias="for")
    clear_below: float | None = None
    clear_above: float | None = None

    @model_validator(mode="after")
    def _one_direction(self) -> Self:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of above or below")
        if self.above is not None:
            if self.clear_above is not None:
                raise ValueError("a rule that fires above a threshold clears below one (clear_below)")
            if self.clear_below is not None and self.clear_below > self.above:
                raise ValueError(f"clear_below {self.clear_below} must not be above the threshold {self.above}")
        if self.below is not None:
            if self.clear_below is not None:
                raise ValueError("a rule that fires below a threshold clears above one (clear_above)")
            if self.clear_above is not None and self.clear_above < self.below:
                raise ValueError(f"clear_above {self.clear_above} must not be below the threshold {self.below}")
        return self

    @property
    def threshold(self) -> float:
        value = self.above if self.above is not None else self.below
        assert value is not None
        return value


class FlagRule(RuleBase):
    """An alarm or state flag: fires at once when ``field`` equals ``equals`` (smoke, leak, jam, paper out)."""

    rule: Literal["flag"]
    field: str
    equals: bool | Level = True


Rule = Annotated[OfflineRule | StuckRule | RangeRule | ThresholdRule | FlagRule, Field(discriminator="rule")]
ReadingRule = StuckRule | RangeRule | ThresholdRule | FlagRule


class SlaSpec(AtriumModel):
    acknowledge_within: Duration
    resolve_within: Duration


class RulesFile(AtriumModel):
    """The whole rules file, checked against the device contract (kinds and telemetry fields)."""

    sla: dict[TicketPriority, SlaSpec] = Field(default_factory=dict)
    team: str = Field(default="facilities", min_length=1, max_length=64)
    kinds: dict[DeviceKind, dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")], Rule]] = Field(
        default_factory=dict
    )


def _check_fields(kind: DeviceKind, fault_type: str, rule: Rule) -> None:
    model = TELEMETRY_MODELS[kind]
    names: list[str] = []
    if isinstance(rule, StuckRule):
        names = rule.fields
    elif isinstance(rule, RangeRule):
        names = list(rule.limits)
    elif isinstance(rule, ThresholdRule | FlagRule):
        names = [rule.field]
    for name in names:
        if name not in model.model_fields or name in {"v", "device_id", "seq", "ts", "kind"}:
            known = ", ".join(n for n in model.model_fields if n not in {"v", "device_id", "seq", "ts", "kind"})
            raise ValueError(f"a {kind.value} device has no field {name!r} (it has {known})")
    if isinstance(rule, ThresholdRule):
        unit = field_unit(rule.field)
        if rule.unit is not None and rule.unit != unit:
            raise ValueError(f"{rule.field} is measured in {unit or 'a plain number'}, not {rule.unit!r}")
        low, high = PLAUSIBLE.get(unit or "", (0.0, 1e9))
        for label, value in (("threshold", rule.threshold), ("clear", rule.clear_below), ("clear", rule.clear_above)):
            if value is not None and not low <= value <= high:
                raise ValueError(f"{label} {value} {unit or ''} is outside {low}..{high}".replace("  ", " "))
    if isinstance(rule, FlagRule):
        annotation = str(model.model_fields[rule.field].annotation)
        expects_level = "Level" in annotation
        if expects_level != isinstance(rule.equals, Level):
            want = "one of " + ", ".join(level.value for level in Level) if expects_level else "true or false"
            raise ValueError(f"{rule.field} is compared with {want}, in equals")


@dataclass(frozen=True)
class FaultRules:
    """The rules in force, by device kind, and the ticket policy (priority, SLA) they imply."""

    by_kind: Mapping[DeviceKind, Mapping[str, Rule]]
    policy: TicketPolicy

    def for_kind(self, kind: DeviceKind | str) -> Iterator[tuple[str, Rule]]:
        """The kind's enabled rules."""
        try:
            rules = self.by_kind.get(DeviceKind(kind), {})
        except ValueError:
            return
        for fault_type, rule in rules.items():
            if rule.enabled:
                yield fault_type, rule

    def reading_rules(self, kind: DeviceKind | str) -> Iterator[tuple[str, ReadingRule]]:
        for fault_type, rule in self.for_kind(kind):
            if not isinstance(rule, OfflineRule):
                yield fault_type, rule

    def offline_rules(self) -> dict[str, tuple[str, OfflineRule]]:
        """Kind -> its offline rule, for the kinds that have one."""
        found: dict[str, tuple[str, OfflineRule]] = {}
        for kind in self.by_kind:
            for fault_type, rule in self.for_kind(kind):
                if isinstance(rule, OfflineRule):
                    found[kind.value] = (fault_type, rule)
        return found

    def find(self, kind: DeviceKind | str, fault_type: str) -> Rule | None:
        return dict(self.for_kind(kind)).get(fault_type)


def _policy(document: RulesFile) -> TicketPolicy:
    defaults = TicketPolicy()
    slas = dict(defaults.slas)
    for priority, spec in document.sla.items():
        slas[priority] = Sla(spec.acknowledge_within, spec.resolve_within)
    fault_types: dict[str, FaultTypePolicy] = {}
    for rules in document.kinds.values():
        for fault_type, rule in rules.items():
            sla = None
            if rule.acknowledge_within is not None or rule.resolve_within is not None:
                base = slas[rule.priority]
                sla = Sla(
                    rule.acknowledge_within or base.acknowledge_within, rule.resolve_within or base.resolve_within
                )
            known = fault_types.get(fault_type)
            if known is None or sla is not None:
                fault_types[fault_type] = FaultTypePolicy(priority=rule.priority, sla=sla)
    return TicketPolicy(slas=slas, fault_types=fault_types, team=document.team)


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            if "rule" in value and value.get("rule") != merged[key].get("rule"):
                merged[key] = dict(value)  # a different kind of rule replaces the default whole
            else:
                merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Line number of each table header and key in a TOML text (for errors that name the line)."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?$", line)
        if header:
            table = tuple(part.strip().strip("\"'") for part in header[1].split("."))
            for length in range(1, len(table) + 1):
                lines.setdefault(table[:length], number)
            continue
        key = re.match(r"^([A-Za-z0-9_.\"'\- ]+?)\s*=", line)
        if key:
            path = table + tuple(part.strip().strip("\"'") for part in key[1].split("."))
            lines.setdefault(path, number)
    return lines


def _locate(loc: Sequence[int | str], sources: Sequence[tuple[Path, dict[tuple[str, ...], int]]]) -> str:
    path = tuple(str(part) for part in loc)
    for length in range(len(path), 0, -1):
        for file, lines in sources:
            if path[:length] in lines:
                return f"{file}, line {lines[path[:length]]}"
    return str(sources[-1][0])


_RULE_TAGS = {"offline", "stuck", "range", "threshold", "flag"}


def _read(path: Path) -> tuple[dict[str, Any], dict[tuple[str, ...], int]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read fault rules file {path}: {error.strerror}") from None
    try:
        return tomllib.loads(text), key_lines(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None


def load_rules(path: Path | str | None = None, *, defaults: Path | str = DEFAULT_RULES_FILE) -> FaultRules:
    """The shipped rules with a site's file merged over them; ConfigError names the file, line and reason."""
    sources = [(Path(defaults), *_read(Path(defaults)))]
    if path is not None:
        sources.append((Path(path), *_read(Path(path))))
    document: dict[str, Any] = {}
    for _, data, _ in sources:
        document = _merge(document, data)
    located = [(file, lines) for file, _, lines in reversed(sources)]
    try:
        checked = RulesFile.model_validate(document)
    except ValidationError as error:
        item = error.errors(include_url=False)[0]
        loc = tuple(part for part in item["loc"] if str(part) not in _RULE_TAGS and part != "[key]")
        reason = str(item["msg"]).removeprefix("Value error, ")
        if item["loc"][-1:] == ("[key]",) and len(loc) == 2 and loc[0] == "kinds":
            reason = f"unknown device kind {loc[1]!r} ({reason})"
        raise ConfigError(f"{_locate(loc, located)}: {'.'.join(map(str, loc)) or 'file'}: {reason}") from None
    for kind, rules in checked.kinds.items():
        for fault_type, rule in rules.items():
            try:
                _check_fields(kind, fault_type, rule)
            except ValueError as error:
                loc = ("kinds", kind.value, fault_type)
                raise ConfigError(f"{_locate(loc, located)}: {'.'.join(loc)}: {error}") from None
    return FaultRules(by_kind=checked.kinds, policy=_policy(checked))


# Decisions: given a rule, what it remembers and what just happened, fire or clear.


class Change(StrEnum):
    NONE = "none"
    FIRED = "fired"
    CLEARED = "cleared"


@dataclass(frozen=True)
class RuleState:
    """What a rule remembers about one asset (persisted as a fault_states row)."""

    active: bool = False
    since: datetime | None = None
    pending_since: datetime | None = None
    cleared_since: datetime | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


def _step(
    state: RuleState, *, firing: bool, clearing: bool, at: datetime, fire_for: timedelta, clear_for: timedelta
) -> tuple[RuleState, Change]:
    """The hysteresis shared by every rule: fire after ``fire_for`` of firing, clear after ``clear_for`` of clearing."""
    if not state.active:
        if not firing:
            return replace(state, pending_since=None), Change.NONE
        pending = state.pending_since or at
        if at - pending >= fire_for:
            return replace(state, active=True, since=at, pending_since=None, cleared_since=None), Change.FIRED
        return replace(state, pending_since=pending), Change.NONE
    if not clearing:
        return replace(state, cleared_since=None), Change.NONE
    cleared = state.cleared_since or at
    if at - cleared >= clear_for:
        return replace(state, active=False, since=None, cleared_since=None, pending_since=None), Change.CLEARED
    return replace(state, cleared_since=cleared), Change.NONE


def _number(reading: Mapping[str, Any], name: str) -> float | None:
    value = reading.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def on_reading(
    rule: ReadingRule, state: RuleState, reading: Mapping[str, Any], at: datetime
) -> tuple[RuleState, Change]:
    """Decide on one telemetry reading (its fields by name) taken at ``at``."""
    if isinstance(rule, StuckRule):
        values = [reading.get(name) for name in rule.fields]
        if any(value is None for value in values):
            return state, Change.NONE
        repeats = int(state.data.get("repeats", 0)) + 1 if list(state.data.get("last", [])) == values else 1
        state = replace(state, data={"last": values, "repeats": repeats})
        return _step(
            state,
            firing=repeats >= rule.readings,
            clearing=repeats == 1,
            at=at,
            fire_for=timedelta(0),
            clear_for=rule.clear_for,
        )
    if isinstance(rule, RangeRule):
        outside = False
        for name, (low, high) in rule.limits.items():
            value = _number(reading, name)
            if value is None and name in reading and reading[name] is not None:
                outside = True  # a non-finite number is out of any range
            elif value is not None and not low <= value <= high:
                outside = True
        return _step(
            state, firing=outside, clearing=not outside, at=at, fire_for=timedelta(0), clear_for=rule.clear_for
        )
    if isinstance(rule, ThresholdRule):
        value = _number(reading, rule.field)
        if value is None:
            return state, Change.NONE
        if rule.above is not None:
            firing = value > rule.above
            clearing = value < (rule.clear_below if rule.clear_below is not None else rule.above)
        else:
            assert rule.below is not None
            firing = value < rule.below
            clearing = value > (rule.clear_above if rule.clear_above is not None else rule.below)
        return _step(state, firing=firing, clearing=clearing, at=at, fire_for=rule.for_, clear_for=rule.clear_for)
    value = reading.get(rule.field)
    if value is None:
        return state, Change.NONE
    equal = value == rule.equals or (isinstance(rule.equals, Level) and value == rule.equals.value)
    return _step(state, firing=equal, clearing=not equal, at=at, fire_for=timedelta(0), clear_for=rule.clear_for)


def on_tick(rule: Rule, state: RuleState, now: datetime) -> tuple[RuleState, Change]:
    """Decide as time passes with no new reading: a pending duration may be reached, or a clear period end."""
    if isinstance(rule, OfflineRule):
        return state, Change.NONE
    fire_for = rule.for_ if isinstance(rule, ThresholdRule) else timedelta(0)
    if not state.active and state.pending_since is not None:
        return _step(state, firing=True, clearing=False, at=now, fire_for=fire_for, clear_for=rule.clear_for)
    if state.active and state.cleared_since is not None:
        return _step(state, firing=False, clearing=True, at=now, fire_for=fire_for, clear_for=rule.clear_for)
    return state, Change.NONE


def on_availability(
    rule: OfflineRule, state: RuleState, *, online: bool | None, offline_since: datetime | None, now: datetime
) -> tuple[RuleState, Change]:
    """Decide whether a device has been offline too long, or is back."""
    offline = online is False
    long_enough = offline and (offline_since is None or now - offline_since >= rule.after)
    return _step(
        state, firing=long_enough, clearing=online is True, at=now, fire_for=timedelta(0), clear_for=rule.clear_for
    )


def default_title(kind: str, fault_type: str, rule: Rule, device_id: str) -> str:
    """The ticket title for a fault on a device."""
    what = rule.title or fault_type.replace("_", " ")
    return f"{what}: {device_id} ({kind.replace('_', ' ')})"
