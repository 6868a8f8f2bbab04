"""The ingest pipeline: broker deliveries -> batches -> one commit each -> acknowledgements.

One thread drains the inbox into batches (up to ``batch_size`` or ``batch_wait_ms``), judges each
message, writes the batch in one transaction and only then acknowledges its messages to the broker.
If the database fails, the batch is retried with backoff and nothing is acknowledged meanwhile, so
the broker keeps (and later redelivers) what the hub could not store.
"""

import logging
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from hub.mqtt.connection import Delivery
from hub.services.ingest import Registry, Rejected, classify, plan_batch
from hub.services.reactions import Reactions
from hub.store.journal import BatchResult, write_batch

log = logging.getLogger(__name__)


@dataclass
class PipelineStats:
    """In-process figures since start (the database keeps the lasting totals)."""

    batches: int = 0
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    database_errors: int = 0
    last_commit_monotonic: float | None = None
    rejected_by_reason: Counter[str] = field(default_factory=Counter)


class RejectLog:
    """Logs refused messages without flooding: at most ``burst`` lines per reason per ``window_s``."""

    def __init__(self, burst: int = 5, window_s: float = 10.0) -> None:
        self.burst = burst
        self.window_s = window_s
        self._windows: dict[str, tuple[float, int]] = {}

    def log(self, rejected: Rejected) -> None:
        now = time.monotonic()
        start, count = self._windows.get(rejected.reason, (now, 0))
        if now - start > self.window_s:
            if count > self.burst:
                log.warning("%d more %s rejects were not logged", count - self.burst, rejected.reason.value)
            start, count = now, 0
        count += 1
        self._windows[rejected.reason] = (start, count)
        if count <= self.burst:
            log.warning("rejected %s on %r: %s", rejected.reason.value, rejected.raw.topic, rejected.detail)


class IngestPipeline:
    """Runs the batch loop on its own thread."""

    def __init__(
        self,
        *,
        inbox: "queue.Queue[Delivery]",
        sessions: sessionmaker[Session],
        registry: Callable[[], Registry],
        acknowledge: Callable[[Delivery], None],
        batch_size: int = 500,
        batch_wait_s: float = 0.05,
        max_payload_bytes: int,
        dead_letter_limit: int,
        reactions: Reactions | None = None,
    ) -> None:
        self.inbox = inbox
        self.sessions = sessions
        self.registry = registry
        self.acknowledge = acknowledge
        self.batch_size = batch_size
        self.batch_wait_s = batch_wait_s
        self.max_payload_bytes = max_payload_bytes
        self.dead_letter_limit = dead_letter_limit
        self.reactions = reactions
        self.stats = PipelineStats()
        self._reject_log = RejectLog()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ingest", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand and what is already queued, then stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not (self._stop.is_set() and self.inbox.empty()):
            batch = self._next_batch()
            if batch:
                self._commit_with_retry(batch)

    def _next_batch(self) -> list[Delivery]:
        try:
            first = self.inbox.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.batch_wait_s
        while len(batch) < self.batch_size:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self.inbox.get(timeout=remaining) if remaining > 0 else self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _commit_with_retry(self, batch: list[Delivery]) -> None:
        registry = self.registry()
        results = [classify(d.raw, registry, max_bytes=self.max_payload_bytes) for d in batch]
        plan = plan_batch(results, liveness_s=registry.liveness_s)
        delay = 0.5
        while True:
            try:
                with self.sessions.begin() as session:
                    result = write_batch(
                        session, plan, dead_letter_limit=self.dead_letter_limit, reactions=self.reactions
                    )
                break
            except SQLAlchemyError as error:
                self.stats.database_errors += 1
                log.error("cannot commit %d messages (%s); retrying in %.1fs", len(batch), _first_line(error), delay)
                time.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, 10.0)
        for delivery in batch:
            self.acknowledge(delivery)
        for device_id, update in plan.devices.items():
            if update.state is not None:
                registry.liveness_s[device_id] = update.state.liveness_s
        self._count(len(batch), result, plan.rejects)

    def _count(self, received: int, result: BatchResult, rejects: list[Rejected]) -> None:
        stats = self.stats
        stats.batches += 1
        stats.received += received
        stats.stored += result.stored
        stats.duplicates += result.duplicates
        stats.rejected += result.rejected
        stats.last_commit_monotonic = time.monotonic()
        for rejected in rejects:
            stats.rejected_by_reason[rejected.reason.value] += 1
            self._reject_log.log(rejected)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
