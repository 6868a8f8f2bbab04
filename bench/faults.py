"""Nothing lost under faults, at the issue's full size: ``make bench-faults``.

A burst of 10,000 messages from 500 simulated devices while the broker is restarted 20 times, then
SIGKILLed 20 times, the hub SIGKILLed and restarted, the database unreachable for 30 s (SQLite held
locked; PostgreSQL cut off behind a TCP proxy) and devices offline for 10 simulated minutes. Prints
one table (fault, messages sent, stored, lost, duplicated, repeats the hub dropped, messages the
devices sent again, time to catch up) and writes bench/results/faults.json. The scenarios are
tests/faults.py, the same the test suite runs small. ``--only WORD`` runs the faults whose name
contains WORD (restarted, SIGKILLed, hub, database, offline; repeatable), one after the other.
"""

import json
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.faults import CI_SIZE, FULL_SIZE, FaultKind, FaultResult, run_fault  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "faults.json"
console = Console() if sys.stdout.isatty() else Console(width=180)

RUNS: list[tuple[FaultKind, str]] = [
    (FaultKind.BROKER_RESTART, "sqlite"),
    (FaultKind.BROKER_KILL, "sqlite"),
    (FaultKind.HUB_KILL, "sqlite"),
    (FaultKind.DATABASE_OUTAGE, "sqlite"),
    (FaultKind.DATABASE_OUTAGE, "postgres"),
    (FaultKind.DEVICE_OFFLINE, "sqlite"),
]


def main(
    quick: Annotated[bool, typer.Option(help="The CI sizes (100 devices, 3 restarts), in about two minutes")] = False,
    only: Annotated[list[str] | None, typer.Option(help="Only faults whose name contains this")] = None,
) -> None:
    """Run every fault scenario and print what was sent, stored, lost and duplicated."""
    size = CI_SIZE if quick else FULL_SIZE
    results: list[FaultResult] = []
    failed: list[str] = []
    for kind, database in RUNS:
        if only and not any(word in kind.value for word in only):
            continue
        label = f"{kind.value} ({database})"
        console.print(f"[bold]{label}[/bold]: {size.devices} devices x {size.per_device} messages ...")
        started = time.monotonic()
        try:
            with tempfile.TemporaryDirectory(prefix="atrium-faults-") as workdir:
                result = run_fault(kind, size, Path(workdir), database=database)
        except BaseException as error:  # pytest.skip (no PostgreSQL) is a BaseException
            if isinstance(error, KeyboardInterrupt):
                raise
            console.print(f"  [yellow]skipped[/yellow]: {str(error).splitlines()[0] if str(error) else error!r}")
            continue
        console.print(f"  done in {time.monotonic() - started:.0f} s")
        results.append(result)
        if result.lost or result.duplicated or result.stored != result.sent:
            failed.append(label)
    console.print(_table(results))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": {"python": platform.python_version(), "platform": platform.platform()},
                "size": {
                    "devices": size.devices,
                    "messages": size.messages,
                    "repeats": size.repeats,
                    "outage_s": size.outage_s,
                    "offline_devices": size.offline_devices,
                },
                "runs": [result.as_dict() for result in results],
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"wrote {RESULTS.relative_to(ROOT)}")
    if failed:
        console.print(f"[red]messages lost or duplicated under: {', '.join(failed)}[/red]")
        raise typer.Exit(1)


def _table(results: list[FaultResult]) -> Table:
    table = Table(title="Nothing lost under faults")
    columns = ("fault injected", "database", "times", "sent", "stored", "lost", "duplicated", "repeats", "resent")
    for column in (*columns, "catch-up"):
        table.add_column(column, justify="left" if column in ("fault injected", "database") else "right")
    table.add_column("notes")
    for result in results:
        notes = [f"{result.resent_unconfirmed:,} resent for want of a confirmation"]
        if result.tickets is not None:
            notes.append(f"{result.tickets} smoke ticket(s)")
        if result.offline_span_s is not None:
            notes.append(f"replay spans {result.offline_span_s / 60:.1f} min, in order: {result.replayed_in_order}")
        notes += result.notes
        lost_style = "red" if result.lost else "green"
        table.add_row(
            result.fault,
            result.database,
            str(result.injected),
            f"{result.sent:,}",
            f"{result.stored:,}",
            f"[{lost_style}]{result.lost}[/{lost_style}]",
            str(result.duplicated),
            f"{result.repeats_dropped:,}",
            f"{result.resent:,}",
            f"{result.catch_up_s:.1f} s" if result.catch_up_s is not None else "[red]never[/red]",
            "; ".join(notes),
        )
    return table


if __name__ == "__main__":
    typer.run(main)
