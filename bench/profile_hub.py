"""Where the hub spends its CPU under a fleet's load: py-spy on the hub process, summed by function and thread.

Starts the same parts as the ingest benchmark (fresh Mosquitto and database, the hub in its own
process, ``firmware_sim --devices N``), waits until every device has been heard, then samples the
hub with ``py-spy record --nonblocking`` (idle threads left out, so a sample is CPU spent).
Writes bench/results/hub_profile.txt (collapsed stacks: open it in https://speedscope.app or
feed it to flamegraph.pl) and hub_profile.json (the tables printed here).

    .venv/bin/python bench/profile_hub.py [--database sqlite] [--devices 5000] [--seconds 20]
"""

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import RESULTS, Unavailable, loaded_site, machine  # noqa: E402

console = Console(width=160)
TOP = 25
_LINE = re.compile(r":\d+\)$")
_OURS = re.compile(r"\((hub|devices)/")
"""Atrium's own frames (py-spy names them by their path from the working directory)."""


def py_spy() -> str:
    """The py-spy next to this Python (pip install py-spy into the venv)."""
    binary = Path(sys.executable).with_name("py-spy")
    if not binary.exists():
        raise Unavailable("py-spy is not installed in this venv: .venv/bin/pip install py-spy")
    return str(binary)


def summarise(collapsed: str) -> dict[str, Any]:
    """Self and inclusive samples per function, and samples per thread, from py-spy's raw output."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = next((f for f in frames if f.startswith("thread ")), "?")
        functions = [_LINE.sub(")", f) for f in frames if not f.startswith(("thread ", "process "))]
        if not functions:
            continue
        total += count
        threads[thread] += count
        own[functions[-1]] += count
        for function in set(functions):
            inclusive[function] += count
            if _OURS.search(function):
                ours[function] += count

    def shares(counter: Counter[str], top: int) -> list[dict[str, Any]]:
        return [{"frame": f, "samples": n, "percent": round(100 * n / total, 1)} for f, n in counter.most_common(top)]

    return {
        "samples": total,
        "threads": shares(threads, 12),
        "self": shares(own, TOP),
        "inclusive": shares(inclusive, TOP * 2),
        "inclusive_atrium": shares(ours, TOP * 2),
    }


def main(
    database: Annotated[str, typer.Option(help="sqlite or postgres")] = "sqlite",
    devices: Annotated[int, typer.Option(help="Simulated devices reporting every 2 s")] = 5000,
    seconds: Annotated[int, typer.Option(help="How long to sample")] = 20,
    rate: Annotated[int, typer.Option(help="Samples a second")] = 50,
    results: Annotated[Path, typer.Option(help="Where hub_profile.txt/.json go")] = RESULTS,
) -> None:
    """Profile the hub under N devices' telemetry."""
    binary = py_spy()
    results.mkdir(parents=True, exist_ok=True)
    raw = results / "hub_profile.txt"
    console.print(f"starting the hub over {database} with {devices:,} devices reporting every 2s ...")
    with loaded_site(database, building_devices=max(devices, 5), fleet_devices=devices, interval_s=2.0) as site:
        console.print(f"sampling the hub (pid {site.hub.pid}) for {seconds}s at {rate}/s ...")
        command = [binary, "record", "--pid", str(site.hub.pid), "--duration", str(seconds), "--rate", str(rate)]
        command += ["--format", "raw", "--threads", "--nonblocking", "--output", str(raw)]
        subprocess.run(
            command,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    summary = summarise(raw.read_text())
    document = {
        "conditions": {**machine(), "database": database, "devices": devices, "interval_s": 2.0, "seconds": seconds},
        **summary,
    }
    (results / "hub_profile.json").write_text(json.dumps(document, indent=2) + "\n")
    for title, key in (
        ("CPU by thread", "threads"),
        ("self time", "self"),
        ("inclusive time, Atrium's frames", "inclusive_atrium"),
    ):
        table = Table(title=f"hub under {devices:,} devices ({database}): {title}, {summary['samples']} samples")
        table.add_column("%", justify="right")
        table.add_column("frame")
        for entry in summary[key][:TOP]:
            table.add_row(f"{entry['percent']:.1f}", entry["frame"])
        console.print(table)
    console.print(f"wrote {raw} and {results / 'hub_profile.json'}")


if __name__ == "__main__":
    typer.run(main)
