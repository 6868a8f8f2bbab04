"""The ingest pipeline: broker deliveries -> batches -> one commit each -> acknowledgements.

One thread drains the inbox into batches (up to ``batch_size`` or ``batch_wait_ms``), judges each
message, writes the batch in one transaction and only then acknowledges its messages to the broker.
If the database fails, the batch is retried with backoff and nothing is acknowledged meanwhile, so
the broker keeps (and later redelivers) what the hub could not store. A message the database refuses
for itself (a value it cannot hold, a bug) must not block the stream: the batch is then written one
message at a time and the poison message kept as a dead letter (reason ``unstorable``).
"""

import logging
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from devices.codec import Availability
from devices.errors import RejectReason
from hub.mqtt.connection import Delivery
from hub.services.ingest import (
    RECEIVED,
    REJECTED_PREFIX,
    Accepted,
    BatchPlan,
    Registry,
    Rejected,
    classify,
    plan_batch,
)
from hub.services.rate_limit import DeviceRateLimiter
from hub.services.reactions import Reactions
from hub.store.journal import BatchResult, write_batch

log = logging.getLogger(__name__)
LIMITED = RejectReason.RATE_LIMITED
UNSTORABLE = RejectReason.UNSTORABLE


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
        rate_limiter: DeviceRateLimiter | None = None,
        on_flooding: Callable[[Session, set[str], datetime], None] | None = None,
        after_commit: Callable[[list[BatchPlan]], None] | None = None,
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
        self.rate_limiter = rate_limiter
        self.on_flooding = on_flooding
        """Called in the batch's transaction with the devices that went over their rate in it."""
        self.after_commit = after_commit
        """Called with a batch's committed plans, before its broker acks (end-to-end confirmations)."""
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
            if not batch:
                continue
            try:
                self._commit_with_retry(batch)
            except Exception:  # the ingest thread must outlive any bug; unacknowledged, the batch comes back
                log.critical(
                    "a batch of %d could not be handled; the broker will redeliver it", len(batch), exc_info=True
                )

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
        results = [self._limit(classify(d.raw, registry, max_bytes=self.max_payload_bytes)) for d in batch]
        flooding = {r.raw.topic.split("/")[3] for r in results if isinstance(r, Rejected) and r.reason is LIMITED}
        plan = plan_batch(results, liveness_s=registry.liveness_s)
        try:
            result = self._write(plan, flooding)
            plans = [plan]
        except Exception as error:  # not the database being away: something in this batch it will never take
            log.error("a batch of %d failed for good (%s); writing it one message at a time", len(batch), error)
            result, plans = self._write_one_by_one(results, registry)
        if self.after_commit is not None:
            self.after_commit(plans)
        for delivery in batch:
            self.acknowledge(delivery)
        for done in plans:
            for device_id, update in done.devices.items():
                if update.state is not None:
                    registry.liveness_s[device_id] = update.state.liveness_s
        self._count(len(batch), result, [r for done in plans for r in done.rejects])

    def _limit(self, result: Accepted | Rejected | None) -> Accepted | Rejected | None:
        """Refuse a device's message beyond its rate (availability announcements always pass)."""
        if self.rate_limiter is None or not isinstance(result, Accepted) or isinstance(result.message, Availability):
            return result
        if self.rate_limiter.allow(result.topic.device_id, time.monotonic()):
            return result
        limiter = self.rate_limiter
        detail = f"more than {limiter.rate_per_s:g} messages a second (burst {limiter.burst})"
        return Rejected(result.raw, LIMITED, detail)

    def _write(self, plan: BatchPlan, flooding: set[str] | None = None) -> BatchResult:
        """Commit ``plan``, retrying with backoff while the database is unreachable or busy."""
        delay = 0.5
        while True:
            try:
                with self.sessions.begin() as session:
                    done = write_batch(
                        session, plan, dead_letter_limit=self.dead_letter_limit, reactions=self.reactions
                    )
                    if flooding and self.on_flooding is not None:
                        self.on_flooding(session, flooding, datetime.now(UTC))
                    return done
            except SQLAlchemyError as error:
                if not _transient(error):
                    raise
                self.stats.database_errors += 1
                log.error("cannot commit a batch (%s); retrying in %.1fs", _first_line(error), delay)
                time.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, 10.0)

    def _write_one_by_one(
        self, results: list[Accepted | Rejected | None], registry: Registry
    ) -> tuple[BatchResult, list[BatchPlan]]:
        stored = duplicates = rejected = 0
        plans: list[BatchPlan] = []
        for one in results:
            plan = plan_batch([one], liveness_s=registry.liveness_s)
            try:
                done = self._write(plan)
            except Exception as error:
                assert one is not None, "a hub's own announcement writes nothing"
                log.exception("message on %r could not be stored; kept as a dead letter", one.raw.topic)
                plan = plan_batch([Rejected(one.raw, UNSTORABLE, _first_line(error)[:400])], liveness_s={})
                try:
                    done = self._write(plan)
                except Exception:
                    log.exception("message on %r could not be kept as a dead letter either; counted", one.raw.topic)
                    plan = BatchPlan(counters=Counter({RECEIVED: 1, REJECTED_PREFIX + UNSTORABLE.value: 1}))
                    done = self._write(plan)
            plans.append(plan)
            stored, duplicates, rejected = stored + done.stored, duplicates + done.duplicates, rejected + done.rejected
        return BatchResult(stored=stored, duplicates=duplicates, rejected=rejected), plans

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


def _transient(error: SQLAlchemyError) -> bool:
    """Errors that go away by themselves (connection lost, database locked or restarting)."""
    if isinstance(error, OperationalError | InterfaceError | DisconnectionError | PoolTimeout):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
