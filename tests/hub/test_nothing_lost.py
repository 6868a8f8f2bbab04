"""Nothing lost: a fleet bursting while the broker, the hub or the database fails stores every message once.

Each test runs one fault kind of tests/faults.py at CI size (ATRIUM_FAULTS_FULL=1: the issue's full
size, as ``make bench-faults`` runs them). Devices keep each message until the hub confirms it
committed it, so a fleet that finishes has had every message stored; the database is then checked
message by message.
"""

from pathlib import Path

import pytest

from tests.faults import FaultKind, FaultResult, run_fault, size_from_environment

pytestmark = [pytest.mark.slow, pytest.mark.faults]


def assert_nothing_lost(result: FaultResult) -> None:
    assert result.injected > 0
    assert result.lost == 0, result
    assert result.duplicated == 0, result
    assert result.stored == result.sent, result
    assert result.confirmed >= result.sent, "every message was confirmed end to end"
    assert result.catch_up_s is not None, result
    assert result.gaps_open == 0, "a hole seen during the faults was filled by a replay and un-counted"


@pytest.mark.parametrize("kind", [FaultKind.BROKER_RESTART, FaultKind.BROKER_KILL])
def test_the_broker_restarted_or_killed_again_and_again_mid_burst_loses_nothing_and_opens_one_ticket(
    kind: FaultKind, tmp_path: Path
) -> None:
    result = run_fault(kind, size_from_environment(), tmp_path)
    assert_nothing_lost(result)
    assert result.tickets == 1, "one smoke alarm, repeated and redelivered, opens one ticket"


def test_the_hub_killed_and_restarted_mid_burst_loses_nothing_and_announces_itself_offline(tmp_path: Path) -> None:
    result = run_fault(FaultKind.HUB_KILL, size_from_environment(), tmp_path)
    assert_nothing_lost(result)


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_database_unreachable_mid_burst_holds_the_acks_back_and_the_hub_catches_up(
    database: str, tmp_path: Path
) -> None:
    result = run_fault(FaultKind.DATABASE_OUTAGE, size_from_environment(), tmp_path, database=database)
    assert_nothing_lost(result)


def test_a_device_offline_for_ten_minutes_replays_its_buffer_in_order_and_it_is_stored_once(tmp_path: Path) -> None:
    result = run_fault(FaultKind.DEVICE_OFFLINE, size_from_environment(), tmp_path)
    assert_nothing_lost(result)
    assert result.replayed_in_order
    # Ten simulated minutes offline; its replayed readings span them, less a reading or two at either end.
    assert result.offline_span_s is not None and result.offline_span_s >= 0.5 * 600
