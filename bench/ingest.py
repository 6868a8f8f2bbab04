"""Ingest: firmware-sim fleets through a private Mosquitto into the hub, beside the floor, per database.

For each database and fleet size, fresh parts: Mosquitto (deploy/mosquitto.conf), a scratch
database, the hub in its own process (bench/hub_process.py, building ``synthetic:N``), the floor
(``mosquitto_sub``, see harness.Floor) and ``python -m firmware_sim --devices N``. Once the floor
has heard every device, one more report interval passes, then the window opens:

- *stored msg/s*: telemetry rows the hub committed in the window, per second;
- *floor msg/s*: telemetry messages ``mosquitto_sub`` received in the window, per second;
- *publish to commit*: the hub's commit time minus the ``ts`` the device stamped on the reading as
  it published it (same machine, same clock), over the rows committed in the window; the floor's
  counterpart is publish to arrival at ``mosquitto_sub``;
- *hub CPU*: the hub process's CPU seconds in the window over its length (100 % = one core);
- *peak RSS*: the hub process's largest resident set, sampled every 0.25 s from start to stop.
"""

import time
from pathlib import Path
from typing import Any

from bench.harness import (
    FLEET_SITE,
    HEAR_ALL_TIMEOUT_S,
    FleetProcess,
    Floor,
    HubProcess,
    Options,
    Report,
    Row,
    Sampler,
    ms,
    percentile_ms,
    private_broker,
    scratch_database,
    verdict,
    wait_until,
    workdir,
)

NAME = "ingest"
INTERVAL_S = 2.0
"""Seconds between one device's readings: 5,000 devices offer 2,500 telemetry messages a second."""
FULL_WINDOWS_S = {500: 10.0, 2000: 15.0, 5000: 25.0}
QUICK_WINDOWS_S = {500: 5.0}
TARGET_RATIO = 0.8
TARGET_RSS_MB = 300


def run(options: Options, results: Path) -> Report:
    """Every database and fleet size; a plot beside the JSON."""
    windows = QUICK_WINDOWS_S if options.quick else FULL_WINDOWS_S
    report = Report(NAME, data={"interval_s": INTERVAL_S, "runs": []})
    for kind in options.databases:
        for devices, window_s in windows.items():
            print(f"ingest: {devices} devices into {kind}, {window_s:g}s window ...", flush=True)
            try:
                measured = measure(kind, devices, window_s)
            except Exception as error:  # one failed run must not lose the others' figures
                report.rows.append(Row(NAME, f"{kind}, {devices:,} devices", f"[red]failed: {error}[/]"))
                report.data["runs"].append({"database": kind, "devices": devices, "error": str(error)})
                continue
            report.data["runs"].append(measured)
            report.rows.append(_row(measured))
    ok_runs = [r for r in report.data["runs"] if "error" not in r]
    if ok_runs:
        plot(ok_runs, results / "ingest.png")
        report.data["plot"] = "ingest.png"
    return report


def measure(kind: str, devices: int, window_s: float) -> dict[str, Any]:
    """One fleet size into one database, with fresh parts."""
    with workdir() as folder, private_broker(folder) as broker, scratch_database(kind, folder) as url:
        hub = HubProcess(folder, database_url=url, mqtt_url=broker.endpoint.url, building=f"synthetic:{devices}")
        started = time.monotonic()
        hub.start()
        hub_ready_s = time.monotonic() - started
        broker_sampler = Sampler(broker.process.pid) if broker.process else None
        floor = Floor(broker.port, f"atrium/v1/{FLEET_SITE}/+/telemetry")
        fleet = FleetProcess(devices, broker.endpoint.url, interval_s=INTERVAL_S)
        try:
            started = time.monotonic()
            heard_all = wait_until(lambda: len(floor.devices) >= devices, HEAR_ALL_TIMEOUT_S)
            heard_all_after_s = time.monotonic() - started
            time.sleep(INTERVAL_S)
            samplers = {"hub": hub.sampler, "floor": floor.sampler, "sim": fleet.sampler, "broker": broker_sampler}
            cpu_before = {name: s.cpu_seconds() for name, s in samplers.items() if s is not None}
            window_start, floor_before = time.monotonic(), floor.messages
            time.sleep(window_s)
            window_end, floor_after = time.monotonic(), floor.messages
            cpu_after = {name: s.cpu_seconds() for name, s in samplers.items() if s is not None}
        finally:
            fleet.stop()
            floor.stop()
            if broker_sampler is not None:
                broker_sampler.stop()
            figures = hub.stop()
    assert hub.sampler is not None
    elapsed = window_end - window_start
    in_window = figures.window(window_start, window_end)
    stored_by_end = sum(1 for at in figures.commit_at if at <= window_end)
    floor_rate = (floor_after - floor_before) / elapsed
    hub_rate = len(in_window.commit_at) / elapsed
    floor_latencies = floor.latencies_between(window_start, window_end)
    return {
        "database": kind,
        "devices": devices,
        "interval_s": INTERVAL_S,
        "offered_msgs_per_s": round(devices / INTERVAL_S, 1),
        "window_s": round(elapsed, 1),
        "hub_ready_after_s": round(hub_ready_s, 1),
        "floor_heard_all": heard_all,
        "floor_heard_all_after_s": round(heard_all_after_s, 1),
        "floor_msgs_per_s": round(floor_rate, 1),
        "hub_stored_msgs_per_s": round(hub_rate, 1),
        "hub_to_floor": round(hub_rate / floor_rate, 3) if floor_rate else None,
        "hub_behind_floor_at_end": floor_after - stored_by_end,
        "publish_to_commit_p50_ms": percentile_ms(in_window.commit_latency_s, 50),
        "publish_to_commit_p99_ms": percentile_ms(in_window.commit_latency_s, 99),
        "publish_to_hub_receipt_p50_ms": percentile_ms(in_window.receive_latency_s, 50),
        "publish_to_hub_receipt_p99_ms": percentile_ms(in_window.receive_latency_s, 99),
        "floor_publish_to_arrival_p50_ms": percentile_ms(floor_latencies, 50),
        "floor_publish_to_arrival_p99_ms": percentile_ms(floor_latencies, 99),
        "cpu_percent_of_one_core": {
            name: round(100 * (cpu_after[name] - cpu_before[name]) / elapsed, 1) for name in cpu_before
        },
        "hub_peak_rss_mb": round(hub.sampler.peak_rss / 2**20, 1),
    }


def _row(run: dict[str, Any]) -> Row:
    cpu = run["cpu_percent_of_one_core"]
    conditions = (
        f"{run['database']}, {run['devices']:,} devices every {run['interval_s']:g}s "
        f"({run['offered_msgs_per_s']:,.0f} msg/s offered), {run['window_s']:g}s window; "
        f"sim {cpu.get('sim', 0):.0f}% / broker {cpu.get('broker', 0):.0f}% / floor {cpu.get('floor', 0):.0f}% CPU"
    )
    ratio = run["hub_to_floor"]
    result = (
        f"stored {run['hub_stored_msgs_per_s']:,.0f} msg/s vs floor {run['floor_msgs_per_s']:,.0f} = {ratio:.0%}"
        if ratio is not None
        else "floor heard nothing"
    )
    result += (
        f"\npublish→commit p50 {ms(run['publish_to_commit_p50_ms'])}, p99 {ms(run['publish_to_commit_p99_ms'])}"
        f" (floor p99 {ms(run['floor_publish_to_arrival_p99_ms'])})"
        f"\nhub CPU {cpu.get('hub', 0):.0f}% of a core, peak RSS {run['hub_peak_rss_mb']:.0f} MB"
    )
    targets = ""
    if run["devices"] >= 5000:
        targets = "\n".join(
            [
                verdict(ratio >= TARGET_RATIO if ratio is not None else None, "≥ 80% of floor"),
                verdict(run["hub_peak_rss_mb"] < TARGET_RSS_MB, "< 300 MB"),
            ]
        )
    return Row(NAME, conditions, result, targets)


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    """Stored msg/s and p99 latency against fleet size, hub (per database) beside the floor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (rates, latencies) = plt.subplots(1, 2, figsize=(11, 4.2))
    kinds = sorted({r["database"] for r in runs})
    for kind in kinds:
        mine = sorted((r for r in runs if r["database"] == kind), key=lambda r: r["devices"])
        sizes = [r["devices"] for r in mine]
        rates.plot(sizes, [r["hub_stored_msgs_per_s"] for r in mine], "o-", label=f"hub → {kind}")
        rates.plot(sizes, [r["floor_msgs_per_s"] for r in mine], "x--", label=f"floor (run beside {kind})")
        latencies.plot(sizes, [r["publish_to_commit_p99_ms"] for r in mine], "o-", label=f"hub → {kind}: commit")
        latencies.plot(
            sizes, [r["floor_publish_to_arrival_p99_ms"] for r in mine], "x--", label=f"floor (beside {kind}): arrival"
        )
    offered = sorted({(r["devices"], r["offered_msgs_per_s"]) for r in runs})
    rates.plot([d for d, _ in offered], [o for _, o in offered], ":", color="grey", label="offered")
    rates.set(xlabel="devices (one reading every 2 s)", ylabel="telemetry msg/s", title="Stored vs floor")
    latencies.set(xlabel="devices", ylabel="p99 ms from publish", title="p99 latency", yscale="log")
    for axes in (rates, latencies):
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
