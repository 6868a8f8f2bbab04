"""``make bench``: every measurement in one run, one table, and bench/results/<name>.json for each.

    .venv/bin/python bench/suite.py                  # the whole suite (about 9 minutes on 2 cores)
    .venv/bin/python bench/suite.py --quick          # a smoke run of every benchmark (1-2 minutes)
    .venv/bin/python bench/suite.py --only ingest --only qr_decode --databases sqlite

Each benchmark starts fresh parts of its own (broker, database, hub, fleet); a benchmark that
cannot run here (no mosquitto, no PostgreSQL, a feature not in the tree yet) says so in its row.
"""

import importlib
import json
import signal
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import RESULTS, Options, Report, Row, Unavailable, machine, postgres_problem  # noqa: E402

BENCHMARKS = {
    "ingest": "bench.ingest",
    "fault_ticket": "bench.fault_ticket",
    "booking_display": "bench.booking_display",
    "panel_api": "bench.panel_api",
    "qr_decode": "bench.qr_decode",
}
"""Name (as in --only and the JSON file) -> module with ``run(options, results) -> Report``."""

console = Console(width=160)


def run_one(name: str, options: Options, results: Path) -> Report:
    """One benchmark; what stops it becomes its row instead of stopping the suite."""
    module: Any = importlib.import_module(BENCHMARKS[name])
    started = time.monotonic()
    try:
        report: Report = module.run(options, results)
    except Unavailable as missing:
        report = Report(name, [Row(name, "", f"[yellow]not run: {missing}[/]")], {"not_run": str(missing)})
    except Exception as error:  # report it and carry on with the next benchmark
        failed = f"[red]failed: {type(error).__name__}: {error}[/]"
        report = Report(name, [Row(name, "", failed)], {"error": str(error)})
    report.data["took_s"] = round(time.monotonic() - started, 1)
    return report


def main(
    quick: Annotated[bool, typer.Option(help="Short windows and small fleets: a smoke run in 1-2 minutes")] = False,
    only: Annotated[list[str] | None, typer.Option(help=f"Run only these: {', '.join(BENCHMARKS)}")] = None,
    databases: Annotated[
        str | None, typer.Option(help="Comma-separated: sqlite, postgres (default: both; sqlite with --quick)")
    ] = None,
    results: Annotated[Path, typer.Option(help="Where the JSON files and the plot go")] = RESULTS,
) -> None:
    """Run the suite and print one table; each figure comes with the conditions it was taken under."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stopped: clean up brokers, hubs, databases
    chosen = only or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        raise typer.BadParameter(f"no benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    if databases is None:
        databases = "sqlite" if quick else "sqlite,postgres"
    kinds = tuple(kind.strip() for kind in databases.split(",") if kind.strip())
    notes = []
    if "postgres" in kinds and (problem := postgres_problem()):
        kinds = tuple(kind for kind in kinds if kind != "postgres")
        notes.append(f"PostgreSQL figures left out: {problem}")
    options = Options(quick=quick, databases=kinds)
    results.mkdir(parents=True, exist_ok=True)
    where = machine()
    started = time.monotonic()
    reports = []
    for name in chosen:
        console.print(f"[bold]{name}[/] ...")
        report = run_one(name, options, results)
        reports.append(report)
        own = report.data.pop("conditions", {})
        document = {"conditions": {**own, **where, "quick": quick, "databases": list(kinds)}, **report.data}
        (results / f"{name}.json").write_text(json.dumps(document, indent=2, default=str) + "\n")
    took = time.monotonic() - started

    table = Table(
        title=f"Atrium bench{' (--quick)' if quick else ''}: {where['date']}, {where['cpus']} CPUs "
        f"({where['machine']}, Python {where['python']}), shared machine, load before {where['load_average_1m_5m'][0]}",
        show_lines=True,
        caption=f"took {took:.0f}s; JSON and ingest.png in {results}" + "".join(f"\n{note}" for note in notes),
    )
    table.add_column("benchmark", style="bold", no_wrap=True)
    table.add_column("conditions", ratio=3)
    table.add_column("result", ratio=4)
    table.add_column("target", ratio=1)
    for report in reports:
        for row in report.rows:
            table.add_row(row.benchmark, row.conditions, row.result, row.target)
    console.print(table)


if __name__ == "__main__":
    typer.run(main)
