"""The suite's arithmetic: what a window keeps, how percentiles come out, how a py-spy profile is summed."""

from bench.harness import HubFigures, ms, percentile_ms
from bench.profile_hub import summarise

COLLAPSED = """\
process 1:"hub";thread (11): ingest;_run (hub/pipeline.py:120);write_batch (hub/store/journal.py:40) 6
process 1:"hub";thread (11): ingest;_run (hub/pipeline.py:121);plan_batch (hub/services/ingest.py:9) 2
process 1:"hub";thread (12): paho;_loop (paho/mqtt/client.py:10) 2
not a sample line
"""


def test_a_window_keeps_only_the_rows_committed_inside_it() -> None:
    figures = HubFigures(
        commit_at=[1.0, 2.0, 3.0, 4.0], commit_latency_s=[0.1, 0.2, 0.3, 0.4], receive_latency_s=[0.01] * 4
    )
    kept = figures.window(2.0, 3.0)
    assert kept.commit_at == [2.0, 3.0]
    assert kept.commit_latency_s == [0.2, 0.3]


def test_percentiles_are_milliseconds_and_absent_without_samples() -> None:
    assert percentile_ms([0.010] * 99 + [1.0], 50) == 10.0
    assert percentile_ms([], 99) is None
    assert ms(None) == "n/a"
    assert ms(1234.4) == "1,234 ms"


def test_a_profile_is_summed_by_thread_own_time_and_atrium_frames() -> None:
    summary = summarise(COLLAPSED)
    assert summary["samples"] == 10
    assert summary["threads"][0] == {"frame": "thread (11): ingest", "samples": 8, "percent": 80.0}
    own = {entry["frame"]: entry["percent"] for entry in summary["self"]}
    assert own["write_batch (hub/store/journal.py)"] == 60.0
    ours = {entry["frame"]: entry["samples"] for entry in summary["inclusive_atrium"]}
    assert ours["_run (hub/pipeline.py)"] == 8  # two lines of one function are one frame
    assert "_loop (paho/mqtt/client.py)" not in ours
