"""Several hub workers over one PostgreSQL database and one broker: their names, and ``atrium hub --workers N``.

Workers share the ingest through an MQTT v5 shared subscription (``$share/<group>/...``): the broker
hands each device message to one of them. Each worker keeps a persistent session under a client id
of its own that must survive its restarts: Mosquitto keeps dealing messages round-robin to a member
whose session is disconnected but not expired, and those wait in that session's queue until the same
client id comes back. So worker ``i`` is always ``atrium-hub-<site>-w<i>``, and the supervisor
restarts a worker that dies under the same number.
"""

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import sqlalchemy as sa

from hub.errors import ConfigError
from hub.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_GROUP = "atrium-hub"
"""The shared-subscription group of ``--workers`` when ATRIUM_SHARED_GROUP is unset."""
RESTART_DELAY_S = (1.0, 30.0)
"""A worker that died is started again after 1 s, doubling up to 30 s while it keeps dying early."""
PASSED_ON = ("database_url", "mqtt_url", "building", "api_host", "api_port")
"""Settings the command line may have given: passed to the workers through their environment."""
STEADY_AFTER_S = 60.0
"""A worker that ran this long before dying is restarted after the shortest delay again."""


def worker_client_id(settings: Settings, site_id: str) -> str:
    """The hub's MQTT client id: stable per worker, so a restarted worker resumes its own session."""
    if settings.client_id:
        return settings.client_id
    if settings.worker is not None:
        return f"atrium-hub-{site_id}-w{settings.worker}"
    if settings.shared_group:
        raise ConfigError(
            "a hub in a shared group needs a client id of its own that stays the same across restarts:"
            " set ATRIUM_WORKER (a number) or ATRIUM_CLIENT_ID"
        )
    return f"atrium-hub-{site_id}"


def counter_worker(settings: Settings, client_id: str) -> str:
    """Whose ingest counter rows this hub adds to: its client id in a shared group, else the one shared row."""
    return client_id if settings.shared_group else ""


def check_workers(settings: Settings) -> None:
    """Refuse ``--workers N`` (N > 1) where it cannot work, with one sentence saying why."""
    backend = sa.make_url(settings.database_url).get_backend_name()
    if backend != "postgresql":
        raise ConfigError(
            "several hub workers need PostgreSQL: SQLite takes one writer at a time, so more workers"
            " would only wait on each other (give --database-url postgresql://...)"
        )
    if not settings.mqtt_url:
        raise ConfigError("several hub workers share one external broker: give --mqtt-url (MQTT v5, e.g. Mosquitto)")


@dataclass
class _Worker:
    index: int
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    delay_s: float = RESTART_DELAY_S[0]
    restart_at: float | None = None
    restarts: int = 0


@dataclass
class WorkerSupervisor:
    """Starts N ``atrium hub`` worker processes and starts again any that dies, until stopped.

    Worker 0 serves the HTTP API (when ``api``); the others only ingest. One API process is the
    simple choice: the API is light next to the ingest, and it needs no port sharing.
    """

    settings: Settings
    count: int
    api: bool = True
    group: str = DEFAULT_GROUP
    _workers: list[_Worker] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def environment(self, index: int) -> dict[str, str]:
        """Worker ``index``'s environment: the supervisor's settings, its number and the shared group."""
        env = dict(os.environ)  # the other settings come from this same environment
        for name in PASSED_ON:
            value = getattr(self.settings, name)
            if value is not None:
                env[f"ATRIUM_{name.upper()}"] = str(value)
        env.pop("ATRIUM_CLIENT_ID", None)
        env["ATRIUM_SHARED_GROUP"] = self.group
        env["ATRIUM_WORKER"] = str(index)
        env["ATRIUM_WORKERS"] = "1"
        return env

    def command(self, index: int) -> list[str]:
        serve = ["--api"] if self.api and index == 0 else ["--no-api"]
        return [sys.executable, "-m", "hub", "hub", *serve]

    def start(self) -> None:
        """Start every worker; the database is migrated and the building synced first, once, so workers never race."""
        from hub.runtime import Database, load_site
        from hub.store.building_sync import sync_building

        database = Database.open(self.settings.database_url)
        try:
            with database.sessions.begin() as session:
                sync_building(session, load_site(self.settings))
        finally:
            database.close()
        self._workers = [_Worker(index) for index in range(self.count)]
        for worker in self._workers:
            self._spawn(worker)

    def _spawn(self, worker: _Worker) -> None:
        worker.process = subprocess.Popen(self.command(worker.index), env=self.environment(worker.index))
        worker.started_at = time.monotonic()
        worker.restart_at = None
        log.info("worker %d started (pid %d)", worker.index, worker.process.pid)

    def watch(self, poll_s: float = 0.5) -> None:
        """Restart workers that exit, with backoff, until :meth:`stop` is called."""
        while not self._stop.wait(poll_s):
            now = time.monotonic()
            for worker in self._workers:
                self._look_after(worker, now)

    def _look_after(self, worker: _Worker, now: float) -> None:
        if worker.process is not None and worker.process.poll() is not None:
            code = worker.process.returncode
            if now - worker.started_at >= STEADY_AFTER_S:
                worker.delay_s = RESTART_DELAY_S[0]
            log.warning("worker %d exited with %s; starting it again in %.0fs", worker.index, code, worker.delay_s)
            worker.process = None
            worker.restart_at = now + worker.delay_s
            worker.delay_s = min(worker.delay_s * 2, RESTART_DELAY_S[1])
        if worker.process is None and worker.restart_at is not None and now >= worker.restart_at:
            worker.restarts += 1
            self._spawn(worker)

    def pids(self) -> dict[int, int]:
        """The running workers' process ids by worker number."""
        return {w.index: w.process.pid for w in self._workers if w.process is not None and w.process.poll() is None}

    def stop(self, timeout: float = 20.0) -> None:
        """Ask every worker to stop (SIGTERM: each commits and acknowledges what it holds), then wait."""
        self._stop.set()
        running = [w.process for w in self._workers if w.process is not None and w.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("worker pid %d did not stop in %.0fs; killing it", process.pid, timeout)
                process.kill()
                process.wait(5)
