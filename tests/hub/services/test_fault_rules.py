"""Fault rule decisions (pure): when a rule fires, when it clears, and that flapping fires once."""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devices.kinds import DeviceKind
from hub.errors import ConfigError
from hub.services.fault_rules import (
    Change,
    FaultRules,
    FlagRule,
    OfflineRule,
    RangeRule,
    RuleState,
    StuckRule,
    ThresholdRule,
    load_rules,
    on_availability,
    on_reading,
    on_tick,
    parse_duration,
)
from hub.store.ticket_models import TicketPriority

T0 = datetime(2026, 10, 19, 9, 0, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def co2_rule() -> ThresholdRule:
    rules = load_rules()
    rule = rules.find(DeviceKind.ENVIRONMENT, "co2_high")
    assert isinstance(rule, ThresholdRule)
    return rule


def feed(
    rule: ThresholdRule | FlagRule | StuckRule | RangeRule, readings: Sequence[tuple[float, Mapping[str, object]]]
) -> list[Change]:
    state, changes = RuleState(), []
    for at, reading in readings:
        state, change = on_reading(rule, state, reading, minutes(at))
        changes.append(change)
    return changes


def test_co2_fires_only_after_fifteen_minutes_above_1500() -> None:
    changes = feed(co2_rule(), [(0, {"co2_ppm": 1600}), (10, {"co2_ppm": 1700}), (14.9, {"co2_ppm": 1600})])
    assert Change.FIRED not in changes
    changes = feed(co2_rule(), [(0, {"co2_ppm": 1600}), (10, {"co2_ppm": 1700}), (15, {"co2_ppm": 1600})])
    assert changes == [Change.NONE, Change.NONE, Change.FIRED]


def test_a_dip_below_the_threshold_restarts_the_duration() -> None:
    changes = feed(
        co2_rule(), [(0, {"co2_ppm": 1600}), (10, {"co2_ppm": 1450}), (15, {"co2_ppm": 1600}), (29, {"co2_ppm": 1600})]
    )
    assert Change.FIRED not in changes


def test_a_flapping_value_fires_once_and_clears_only_below_1400_for_five_minutes() -> None:
    readings: list[tuple[float, dict[str, object]]] = [(0, {"co2_ppm": 1600}), (15, {"co2_ppm": 1600})]
    for n in range(20):  # crosses 1500 back and forth for an hour, and briefly below 1400
        value = (1450, 1550, 1390, 1600)[n % 4]
        readings.append((16 + 3 * n, {"co2_ppm": value}))
    changes = feed(co2_rule(), readings)
    assert changes.count(Change.FIRED) == 1
    assert Change.CLEARED not in changes
    tail: list[tuple[float, dict[str, object]]] = [
        (80, {"co2_ppm": 1300}),
        (84, {"co2_ppm": 1300}),
        (85, {"co2_ppm": 1350}),
    ]
    changes = feed(co2_rule(), readings + tail)
    assert changes.count(Change.FIRED) == 1
    assert changes[-1] is Change.CLEARED


def test_a_pending_duration_fires_on_the_clock_without_a_new_reading() -> None:
    rule = co2_rule()
    state, _ = on_reading(rule, RuleState(), {"co2_ppm": 1600}, minutes(0))
    state, change = on_tick(rule, state, minutes(14))
    assert change is Change.NONE
    state, change = on_tick(rule, state, minutes(15))
    assert change is Change.FIRED and state.active
    state, _ = on_reading(rule, state, {"co2_ppm": 1000}, minutes(16))
    state, change = on_tick(rule, state, minutes(21))
    assert change is Change.CLEARED and not state.active


def test_alarms_fire_at_once_and_must_clear_before_firing_again() -> None:
    smoke = load_rules().find(DeviceKind.SAFETY, "smoke")
    assert isinstance(smoke, FlagRule) and smoke.priority is TicketPriority.CRITICAL
    changes = feed(smoke, [(0, {"smoke": False}), (1, {"smoke": True}), (2, {"smoke": True}), (3, {"smoke": False})])
    assert changes == [Change.NONE, Change.FIRED, Change.NONE, Change.CLEARED]


def test_printer_levels_and_jams() -> None:
    rules = load_rules()
    paper = rules.find(DeviceKind.BADGE_PRINTER, "paper_out")
    assert isinstance(paper, FlagRule)
    assert feed(paper, [(0, {"paper": "low"}), (1, {"paper": "out"}), (2, {"paper": "ok"})]) == [
        Change.NONE,
        Change.FIRED,
        Change.CLEARED,
    ]


def test_stuck_values_fire_after_n_identical_readings_and_clear_when_they_move() -> None:
    rule = StuckRule(rule="stuck", fields=["temperature_c", "co2_ppm"], readings=3)
    same = {"temperature_c": 21.5, "co2_ppm": 600}
    changes = feed(rule, [(0, same), (1, same), (2, same), (3, same), (4, {**same, "co2_ppm": 601})])
    assert changes == [Change.NONE, Change.NONE, Change.FIRED, Change.NONE, Change.CLEARED]


def test_out_of_range_and_battery_low() -> None:
    rules = load_rules()
    out = rules.find(DeviceKind.ENVIRONMENT, "out_of_range")
    assert isinstance(out, RangeRule)
    assert (
        feed(out, [(0, {"temperature_c": 21, "humidity_pct": 40, "co2_ppm": 500}), (1, {"temperature_c": 150})])[-1]
        is Change.FIRED
    )
    battery = rules.find(DeviceKind.SAFETY, "battery_low")
    assert isinstance(battery, ThresholdRule)
    changes = feed(battery, [(0, {"battery_pct": 5}), (1, {"battery_pct": 20}), (2, {"battery_pct": 100})])
    assert changes == [Change.FIRED, Change.NONE, Change.CLEARED]  # 20 % is not yet clear (hysteresis at 30)


def test_offline_longer_than_the_rule_allows() -> None:
    rule = OfflineRule(rule="offline", after=timedelta(minutes=10))
    state, change = on_availability(rule, RuleState(), online=False, offline_since=minutes(0), now=minutes(9))
    assert change is Change.NONE
    state, change = on_availability(rule, state, online=False, offline_since=minutes(0), now=minutes(10))
    assert change is Change.FIRED
    state, change = on_availability(rule, state, online=True, offline_since=None, now=minutes(11))
    assert change is Change.CLEARED


def test_durations_need_units() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("1.5h") == timedelta(minutes=90)
    for bad in ("15", "15 parsecs", 15):
        with pytest.raises(ValueError, match="duration"):
            parse_duration(bad)


def test_a_site_file_is_merged_over_the_defaults(tmp_path: Path) -> None:
    site = tmp_path / "rules.toml"
    site.write_text(
        "[kinds.environment.co2_high]\nabove = 1200\nclear_below = 1100\n\n"
        "[kinds.door_display.battery_low]\nenabled = false\n"
    )
    rules: FaultRules = load_rules(site)
    co2 = rules.find(DeviceKind.ENVIRONMENT, "co2_high")
    assert isinstance(co2, ThresholdRule) and (co2.above, co2.for_) == (1200, timedelta(minutes=15))
    assert rules.find(DeviceKind.DOOR_DISPLAY, "battery_low") is None


BAD_FILES = [
    ('[kinds.toaster.burnt]\nrule = "flag"\nfield = "smoke"\n', "line 1", "toaster"),
    ('\n[kinds.environment.co2_high]\nfor = "15 parsecs"\n', "line 3", "not a duration"),
    ('[kinds.environment.co2_high]\nunit = "ppb"\n', "line 1", "not 'ppb'"),
    ("[kinds.environment.co2_high]\nclear_below = 1600\n", "line 1", "must not be above the threshold"),
    ("[kinds.safety.battery_low]\n\nbelow = -5\n", "line 1", "outside 0.0..100.0"),
    ('[kinds.environment.co2_high]\ncolour = "red"\n', "line 2", "Extra inputs are not permitted"),
    ('[kinds.environment.hot]\nrule = "threshold"\nfield = "warmth_c"\nabove = 30\n', "line 1", "no field 'warmth_c'"),
    ('[kinds.badge_printer.jam]\nequals = "maybe"\n', "line 2", "equals"),
]


@pytest.mark.parametrize(("text", "line", "reason"), BAD_FILES, ids=[r for _, _, r in BAD_FILES])
def test_a_bad_rules_file_is_refused_with_its_line_and_reason(
    tmp_path: Path, text: str, line: str, reason: str
) -> None:
    site = tmp_path / "site-rules.toml"
    site.write_text(text)
    with pytest.raises(ConfigError) as refused:
        load_rules(site)
    message = str(refused.value)
    assert f"site-rules.toml, {line}" in message, message
    assert reason in message, message
