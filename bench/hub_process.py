"""The hub and its API in a process of their own, instrumented to say when each telemetry row was committed.

The suite starts this with ``python -m bench.hub_process --stats-out FILE`` and the hub's usual
``ATRIUM_*`` environment, so psutil can measure the hub's CPU and memory apart from everything
else. The instrumentation wraps the ingest's ``write_batch`` (to note the telemetry rows a batch
writes) and listens for the commit; the hub's code is not changed. On SIGTERM it stops like
``atrium hub`` does, then writes what it recorded as JSON.

Recorded per committed telemetry row: the commit's monotonic time (one clock for every process on
Linux, so the suite can cut its own window), the publish-to-commit latency (wall clock at commit
minus the ``ts`` the device stamped on its reading as it published it: the same machine, the same
clock) and the publish-to-receive part of it (the hub's ``received_at`` minus that ``ts``).
"""

import argparse
import json
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import event
from sqlalchemy.orm import Session

import hub.pipeline
from hub.api.app import create_app
from hub.runtime import Hub
from hub.services.ingest import BatchPlan
from hub.settings import Settings

_PENDING = "atrium_bench_rows"
_TICKETS = "atrium_bench_tickets"
TELEMETRY = "telemetry"


@dataclass
class Recorder:
    """Commit times and latencies of telemetry rows, in three parallel lists (compact as JSON)."""

    commit_at: list[float] = field(default_factory=list)
    commit_latency_s: list[float] = field(default_factory=list)
    receive_latency_s: list[float] = field(default_factory=list)
    tickets: list[tuple[str | None, str, float]] = field(default_factory=list)
    """(asset, fault type, wall-clock commit time) of each ticket opened."""
    batches: int = 0

    def install(self) -> None:
        """Wrap the pipeline's batch writer and listen for commits of any session in this process."""
        write_batch: Callable[..., Any] = vars(hub.pipeline)["write_batch"]

        def noting_write_batch(session: Session, plan: BatchPlan, **options: Any) -> Any:
            result = write_batch(session, plan, **options)
            session.info[_PENDING] = [(row.device_ts, row.received_at) for row in plan.rows if row.channel == TELEMETRY]
            return result

        vars(hub.pipeline)["write_batch"] = noting_write_batch
        event.listen(Session, "after_commit", self._committed)
        event.listen(Session, "after_commit", self._tickets_committed)
        event.listen(Session, "after_rollback", self._rolled_back)
        self._watch_tickets()

    def _watch_tickets(self) -> None:
        """Note each ticket a transaction opens (when the tickets feature is in the tree)."""
        try:
            from hub.store.ticket_models import Ticket
        except ImportError:
            return

        def flushed(session: Session, _context: object) -> None:
            for instance in session.new:
                if isinstance(instance, Ticket):
                    session.info.setdefault(_TICKETS, []).append((instance.asset_id, instance.fault_type))

        event.listen(Session, "after_flush", flushed)

    def _tickets_committed(self, session: Session) -> None:
        opened: list[tuple[str | None, str]] | None = session.info.pop(_TICKETS, None)
        if opened:
            wall = time.time()
            self.tickets.extend((asset_id, fault_type, wall) for asset_id, fault_type in opened)

    @staticmethod
    def _rolled_back(session: Session) -> None:
        session.info.pop(_PENDING, None)
        session.info.pop(_TICKETS, None)

    def _committed(self, session: Session) -> None:
        rows: list[tuple[datetime, datetime]] | None = session.info.pop(_PENDING, None)
        if rows is None:
            return
        monotonic, wall = time.monotonic(), time.time()
        self.batches += 1
        for device_ts, received_at in rows:
            published = device_ts.timestamp()
            self.commit_at.append(round(monotonic, 4))
            self.commit_latency_s.append(round(wall - published, 5))
            self.receive_latency_s.append(round(received_at.timestamp() - published, 5))

    def write(self, path: Path) -> None:
        path.write_text(
            json.dumps(
                {
                    "batches": self.batches,
                    "commit_at": self.commit_at,
                    "commit_latency_s": self.commit_latency_s,
                    "receive_latency_s": self.receive_latency_s,
                    "tickets": self.tickets,
                }
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stats-out", type=Path, required=True, help="Where to write the recorded figures")
    args = parser.parse_args()
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), format="hub %(name)s: %(message)s")
    recorder = Recorder()
    recorder.install()
    running = Hub(settings)
    config = uvicorn.Config(
        create_app(settings, hub=running, run_hub=True),
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
        lifespan="on",
    )
    # uvicorn re-raises the signal that stopped it once it is done; with handlers of our own in
    # place, that re-raise lands here instead of ending the process before the figures are written.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    uvicorn.Server(config).run()  # returns on SIGTERM/SIGINT, after the lifespan stopped the hub
    recorder.write(args.stats_out)


if __name__ == "__main__":
    main()
