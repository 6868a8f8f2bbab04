"""Preventive schedules: due points, leads, one ticket per cycle, and a schedules file refused with its line."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devices.site import SAMPLE_BUILDING, load_building
from hub.errors import ConfigError
from hub.services.preventive import Leads, due_point, lead, load_schedule_file, position
from hub.store.facilities_models import PreventiveSchedule, ScheduleKind

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def schedule(kind: ScheduleKind, every: float, **values: object) -> PreventiveSchedule:
    defaults: dict[str, object] = {"meter": 0.0, "last_done_meter": 0.0, "last_done_at": T0, "opened_for": None}
    return PreventiveSchedule(kind=kind.value, every=every, **{**defaults, **values})


def test_a_print_schedule_opens_its_lead_before_the_due_count_and_then_waits_a_cycle() -> None:
    printer = schedule(ScheduleKind.PRINTS, 5000, meter=4760.0, lead_pct=5.0)
    assert (due_point(printer), lead(printer, Leads()), position(printer, T0)) == (5000, 250, 4760)
    printer.opened_for = 5000  # its ticket opened: the next one is a whole cycle on, unless done earlier
    assert due_point(printer) == 10_000
    printer.last_done_meter = 5100  # done at 5,100 prints
    assert due_point(printer) == 10_100


def test_a_calendar_schedule_counts_days_from_when_it_was_last_done() -> None:
    filters = schedule(ScheduleKind.DAYS, 30, lead_days=None)
    opens = due_point(filters) - lead(filters, Leads(days=7))
    assert position(filters, T0 + timedelta(days=22, hours=23)) < opens <= position(filters, T0 + timedelta(days=23))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[schedule]]\nasset = "atlas-pwr"\ntask = "x"\n', "line 1: "),
        (
            '[[schedule]]\nasset = "reception-printer-1"\ntask = "a"\nevery_prints = 5000\n\n'
            '[[schedule]]\nasset = "atlas-pwr"\ntask = "b"\nevery_days = -3\n',
            "line 6: ",
        ),
        ('[[schedule]]\nasset = "nowhere-9"\ntask = "c"\nevery_days = 30\n', "is neither a device"),
        ('[[schedule]]\nasset = "atlas-env"\ntask = "d"\nevery_prints = 10\n', "not a device of kind badge_printer"),
        ('[[schedule]]\nasset = "atlas-pwr"\ntask = "e"\nevery_days = 3\nlead_pct = 5\n', "takes lead_days"),
        ("[schedules]\n", "schedules"),
    ],
)
def test_a_bad_schedules_file_is_refused_at_start_with_the_line_and_reason(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "preventive.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=expected) as refused:
        load_schedule_file(path, load_building(SAMPLE_BUILDING))
    assert str(path) in str(refused.value)


def test_a_good_schedules_file_reads_every_kind(tmp_path: Path) -> None:
    path = tmp_path / "preventive.toml"
    path.write_text(
        '[[schedule]]\nasset = "reception-printer-1"\ntask = "Clean the head"\nevery_prints = 5000\n\n'
        '[[schedule]]\nasset = "open-plan-1/hvac-unit"\ntask = "Replace the filter"\nevery_running_hours = 500\n'
        'meter_device = "open-plan-1-pwr-1"\n\n'
        '[[schedule]]\nasset = "cafe/coffee-machine"\ntask = "Descale"\nevery_days = 30\nlead_days = 2\n',
        encoding="utf-8",
    )
    specs = load_schedule_file(path, load_building(SAMPLE_BUILDING))
    assert [(s.kind, s.every) for s in specs] == [
        (ScheduleKind.PRINTS, 5000),
        (ScheduleKind.RUNNING_HOURS, 500),
        (ScheduleKind.DAYS, 30),
    ]
