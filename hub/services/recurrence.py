"""RFC 5545 recurrence rules, expanded in a zone's wall time so that a 09:00 meeting stays 09:00 across DST."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from hub.errors import Invalid

FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
"""A meeting repeats at most daily; hourly and finer rules are refused."""
PARTS = frozenset(
    {
        "FREQ",
        "INTERVAL",
        "COUNT",
        "UNTIL",
        "WKST",
        "BYDAY",
        "BYMONTHDAY",
        "BYYEARDAY",
        "BYWEEKNO",
        "BYMONTH",
        "BYSETPOS",
    }
)
"""Rule parts understood; BYHOUR/BYMINUTE/BYSECOND would make several meetings from one start time."""
_UNTIL_DATE = re.compile(r"^\d{8}$")
_UNTIL_LOCAL = re.compile(r"^\d{8}T\d{6}$")
_UNTIL_UTC = re.compile(r"^\d{8}T\d{6}Z$")


@dataclass(frozen=True)
class Rule:
    """A checked RRULE value, with UNTIL rewritten in UTC as dateutil wants for zone-aware starts."""

    text: str
    bounded: bool
    """It ends by itself (COUNT or UNTIL)."""


def parse_rule(text: str, *, zone: ZoneInfo) -> Rule:
    """Check an RRULE value (``FREQ=WEEKLY;BYDAY=MO``, ``RRULE:`` prefix allowed); a zoneless UNTIL is in ``zone``."""
    value = text.strip()
    if value.upper().startswith("RRULE:"):
        value = value[len("RRULE:") :]
    if not value:
        raise Invalid("the recurrence rule is empty; give one such as FREQ=WEEKLY;BYDAY=MO")
    parts: dict[str, str] = {}
    for piece in value.split(";"):
        name, equals, part = piece.partition("=")
        name = name.strip().upper()
        if not equals or not name or not part.strip():
            raise Invalid(f"the recurrence rule {text!r} has a part {piece!r} that is not NAME=VALUE")
        if name not in PARTS:
            raise Invalid(f"the recurrence rule part {name} is not supported (use FREQ, INTERVAL, COUNT, UNTIL, BY...)")
        if name in parts:
            raise Invalid(f"the recurrence rule gives {name} twice")
        parts[name] = part.strip().upper()
    frequency = parts.get("FREQ")
    if frequency is None:
        raise Invalid(f"the recurrence rule {text!r} has no FREQ")
    if frequency not in FREQUENCIES:
        raise Invalid(f"a meeting can repeat DAILY, WEEKLY, MONTHLY or YEARLY, not {frequency}")
    if "COUNT" in parts and "UNTIL" in parts:
        raise Invalid("a recurrence rule may give COUNT or UNTIL, not both")
    if "COUNT" in parts and (not parts["COUNT"].isdigit() or int(parts["COUNT"]) < 1):
        raise Invalid(f"the recurrence rule's COUNT must be a whole number above 0, not {parts['COUNT']!r}")
    if "UNTIL" in parts:
        parts["UNTIL"] = _until_in_utc(parts["UNTIL"], zone)
    normalised = ";".join(f"{name}={part}" for name, part in parts.items())
    try:
        rrulestr(f"RRULE:{normalised}", dtstart=datetime(2000, 1, 1, tzinfo=zone))
    except (ValueError, TypeError) as error:
        raise Invalid(f"the recurrence rule {text!r} is not valid: {error}") from None
    return Rule(text=normalised, bounded="COUNT" in parts or "UNTIL" in parts)


def _until_in_utc(until: str, zone: ZoneInfo) -> str:
    """UNTIL as UTC: a date means the end of that day, a floating time is wall time in ``zone``."""
    if _UNTIL_UTC.match(until):
        moment = datetime.strptime(until, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    elif _UNTIL_LOCAL.match(until):
        moment = datetime.strptime(until, "%Y%m%dT%H%M%S").replace(tzinfo=zone)
    elif _UNTIL_DATE.match(until):
        day = datetime.strptime(until, "%Y%m%d").date()
        moment = datetime.combine(day, time(23, 59, 59), tzinfo=zone)
    else:
        raise Invalid(f"the recurrence rule's UNTIL {until!r} is not a date (YYYYMMDD) or time (YYYYMMDDTHHMMSSZ)")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _rrule(rule: Rule, first_start: datetime, zone: ZoneInfo) -> rrule:
    built: rrule = rrulestr(f"RRULE:{rule.text}", dtstart=first_start.astimezone(zone))
    return built


def occurrences(
    rule: Rule, *, first_start: datetime, zone: ZoneInfo, before: datetime, limit: int, after: datetime | None = None
) -> list[datetime]:
    """The UTC starts the rule gives in [``after``, ``before``), at most ``limit`` (more is refused).

    Starts are generated in ``zone``'s wall time from ``first_start``, then converted to UTC.
    """
    found: list[datetime] = []
    for start in _rrule(rule, first_start, zone):
        if start >= before:
            break
        if after is not None and start < after:
            continue
        if len(found) == limit:
            raise Invalid(f"the recurrence rule gives more than {limit} occurrences; shorten it with COUNT or UNTIL")
        found.append(start.astimezone(UTC))
    return found


def is_occurrence(rule: Rule, *, first_start: datetime, zone: ZoneInfo, candidate: datetime) -> bool:
    """Whether the rule gives a meeting starting at ``candidate``."""
    near = _rrule(rule, first_start, zone).between(
        candidate - timedelta(seconds=1), candidate + timedelta(seconds=1), inc=True
    )
    return any(start == candidate for start in near)


def parse_exdates(values: Iterable[str]) -> set[datetime]:
    """Stored exception dates (UTC ISO 8601) as datetimes."""
    return {datetime.fromisoformat(value).astimezone(UTC) for value in values}


def exdate_text(start: datetime) -> str:
    """How an exception date is stored."""
    return start.astimezone(UTC).isoformat()


def local_day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A local day as a UTC [start, end); 23 or 25 hours long on the days clocks change."""
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end
