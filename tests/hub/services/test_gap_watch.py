"""The gap sweep over many devices at once: counted after the grace, un-counted once a replay fills it."""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from hub.runtime import Database
from hub.services.gap_watch import GAPS, GapWatch
from hub.store.journal import read_counters
from hub.store.models import Device, DeviceMessage
from hub.store.seq_gaps import SeqGap, scan_gaps

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def store(database: Database, device_id: str, seqs: Iterable[int], received_at: datetime) -> None:
    """Messages as the ingest leaves them: the rows, and the device's highest number."""
    seqs = list(seqs)
    with database.sessions.begin() as session:
        device = session.get(Device, device_id) or Device(id=device_id, kind="environment")
        device.last_seq = max(seqs if device.last_seq is None else [device.last_seq, *seqs])
        session.add(device)
        session.flush()
        for seq in seqs:
            session.add(
                DeviceMessage(
                    device_id=device_id,
                    seq=seq,
                    channel="telemetry",
                    device_ts=received_at,
                    received_at=received_at,
                    data={},
                )
            )


def sweep(database: Database, watch: GapWatch, now: datetime) -> int:
    with database.sessions.begin() as session:
        found = watch.run(session, now)
    with database.sessions() as session:
        assert read_counters(session).get(GAPS, 0) == found
    return found


def test_the_sweep_counts_settled_holes_of_many_devices_and_forgets_filled_ones(site_database: Database) -> None:
    watch = GapWatch(grace_s=60, max_span=1000)
    store(site_database, "env-a", [0, 1, 2, 5, 6], T0)  # 3 and 4 missing
    store(site_database, "env-b", [10, 11, 12], T0)  # nothing missing
    store(site_database, "env-c", [0, 1, 5000], T0)  # a reset counter, not a gap
    assert sweep(site_database, watch, T0 + timedelta(seconds=30)) == 0  # still in its grace
    assert sweep(site_database, watch, T0 + timedelta(seconds=61)) == 2
    assert watch.missing == {"env-a": [SeqGap(3, 4)]}

    store(site_database, "env-b", [13, 15], T0 + timedelta(seconds=70))  # a new hole above the old top
    store(site_database, "env-c", [5001, 5003], T0 + timedelta(seconds=70))
    assert sweep(site_database, watch, T0 + timedelta(seconds=100)) == 2
    assert sweep(site_database, watch, T0 + timedelta(seconds=131)) == 4
    assert watch.missing == {"env-a": [SeqGap(3, 4)], "env-b": [SeqGap(14, 14)], "env-c": [SeqGap(5002, 5002)]}

    store(site_database, "env-a", [4, 3], T0 + timedelta(seconds=140))  # the replay
    store(site_database, "env-b", [14], T0 + timedelta(seconds=140))
    assert sweep(site_database, watch, T0 + timedelta(seconds=141)) == 1
    assert watch.missing == {"env-c": [SeqGap(5002, 5002)]}
    with site_database.sessions() as session:
        scan = scan_gaps(session, "env-c", since_seq=None, settled_before=T0 + timedelta(seconds=141), max_span=1000)
    assert (scan.settled, scan.unsettled, scan.floor) == ([SeqGap(5002, 5002)], False, 5001)

    assert sweep(site_database, GapWatch(grace_s=60, max_span=1000), T0 + timedelta(seconds=200)) == 1  # a new leader
