"""Timed work of the hub (silent devices, outbox clean-up, and the rooms' rules as they come), one thread.

Each job runs in its own transaction at its own period; a failing job is logged and tried again at
its next turn, and never stops the others. With several hub workers, jobs run only on the leader
(hub.leader): a follower's scheduler waits, and on taking over runs every job at once.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from hub.leader import Leadership

log = logging.getLogger(__name__)

FOLLOWER_POLL_S = 0.25
"""How often a follower's scheduler looks whether it leads now."""

JobFunction = Callable[[Session, datetime], object]


@dataclass
class Job:
    """Work to do every ``every_s`` seconds."""

    name: str
    every_s: float
    run: JobFunction
    next_at: float = 0.0
    failures: int = 0


class Scheduler:
    """Runs jobs when they are due; ``run_now`` is for tests and for work a change makes urgent."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime] | None = None,
        leader: Leadership | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock or (lambda: datetime.now(UTC))
        self.leader = leader
        """None: this hub alone runs the jobs; else only while it leads."""
        self.runs = 0
        """Jobs run to completion by this scheduler (tests and operators see who did the work)."""
        self.jobs: list[Job] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, name: str, every_s: float, run: JobFunction) -> None:
        self.jobs.append(Job(name=name, every_s=every_s, run=run))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_now(self, job: Job) -> None:
        """Run one job in its own transaction, logging (not raising) its failure."""
        try:
            with self.sessions.begin() as session:
                if self.leader is not None and not self.leader.fence(session):
                    log.info("not leading any more: %r left to the new leader", job.name)
                    return
                job.run(session, self.clock())
            self.runs += 1
        except Exception:  # a job's bug must not stop the hub's other timed work
            job.failures += 1
            log.exception("scheduled job %r failed; it runs again in %.1fs", job.name, job.every_s)

    def _loop(self) -> None:
        leading = False
        while not self._stop.is_set():
            if self.leader is not None and not self.leader.is_leader():
                leading = False
                self._stop.wait(FOLLOWER_POLL_S)
                continue
            if not leading:
                leading = True
                for job in self.jobs:
                    job.next_at = 0.0  # a new leader catches up on everything at once
            now = time.monotonic()
            for job in self.jobs:
                if now >= job.next_at:
                    self.run_now(job)
                    job.next_at = time.monotonic() + job.every_s
            next_due = min((job.next_at for job in self.jobs), default=time.monotonic() + 1.0)
            self._stop.wait(max(0.05, next_due - time.monotonic()))
