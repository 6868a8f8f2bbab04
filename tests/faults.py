"""Fault injection under a burst: a simulated fleet sends while the broker, the hub or the database fails.

Shared by tests/hub/test_nothing_lost.py (small sizes, in CI) and bench/faults.py (the issue's full
sizes). Every part is real: a private mosquitto from the shipped configuration, the hub in its own
process (so it can be SIGKILLed), a SQLite file or a PostgreSQL database, and a firmware-sim fleet
whose devices keep each message until the hub confirms it committed it. A run ends when every
device has every message confirmed (or a deadline passes) and reports what the database holds.
"""

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path

import sqlalchemy as sa

from devices.site import synthetic_building
from devices.topics import OFFLINE, ONLINE, hub_availability_topic
from firmware_sim.faults import Fault
from firmware_sim.fleet import Fleet, FleetThread
from hub.mqtt.embedded_broker import free_port
from hub.store.db import create_engine
from tests.brokers import MosquittoBroker, mosquitto_binary
from tests.databases import create_test_database
from tests.helpers import wait_for_retained

SITE = "fleet"
"""The site id of ``synthetic_building``."""
SMOKE_DEVICE = "dev-00003"
"""The safety sensor of the first synthetic room, given a smoke alarm during broker faults."""
OFFLINE_SIMULATED_S = 600.0
"""How long (simulated) a device stays offline in the device-offline fault: 10 minutes."""


class FaultKind(StrEnum):
    """What goes wrong during the burst."""

    BROKER_RESTART = "broker restarted"
    BROKER_KILL = "broker SIGKILLed"
    HUB_KILL = "hub SIGKILLed"
    DATABASE_OUTAGE = "database unreachable"
    DEVICE_OFFLINE = "device offline"


@dataclass(frozen=True)
class FaultSize:
    """How big a run is: the fleet, the burst, how often and how long things fail."""

    devices: int
    per_device: int
    burst_s: float
    """How long the devices take to produce their messages (faults land inside it)."""
    repeats: int
    """Broker restarts or kills, hub kills."""
    outage_s: float
    """How long the database is unreachable."""
    offline_devices: int
    offline_s: float
    """Real seconds a device stays offline (the fleet clock makes that 10 simulated minutes)."""
    deadline_s: float = 300.0

    @property
    def messages(self) -> int:
        return self.devices * self.per_device


CI_SIZE = FaultSize(
    devices=100, per_device=10, burst_s=5.0, repeats=3, outage_s=4.0, offline_devices=2, offline_s=3.0, deadline_s=90
)
"""Every fault kind, small enough for make test."""
FULL_SIZE = FaultSize(
    devices=500, per_device=20, burst_s=60.0, repeats=20, outage_s=30.0, offline_devices=5, offline_s=20.0
)
"""The issue's figures: 10,000 messages from 500 devices, 20 restarts, 20 kills, 30 s without the database."""
HUB_KILLS_FULL = 3


def size_from_environment() -> FaultSize:
    """CI_SIZE, or FULL_SIZE when ``ATRIUM_FAULTS_FULL=1`` (as make bench-faults runs them)."""
    return FULL_SIZE if os.environ.get("ATRIUM_FAULTS_FULL") == "1" else CI_SIZE


@dataclass
class FaultResult:
    """What one run proved."""

    fault: str
    database: str
    injected: int
    """How many times the fault was injected."""
    sent: int
    """Distinct messages the devices produced (telemetry and state, each with its sequence number)."""
    stored: int
    """Distinct (device, seq) the database holds."""
    lost: int
    duplicated: int
    """Rows beyond one per (device, seq)."""
    repeats_dropped: int
    """Copies the hub received again and dropped (resends, redeliveries)."""
    catch_up_s: float | None
    """From the end of the last fault until everything produced by then was stored (None: never)."""
    confirmed: int
    gaps_open: int
    """The hub's ``gaps`` counter at the end (0: every hole it saw was filled)."""
    tickets: int | None = None
    """Smoke tickets opened for the one smoke alarm (broker faults only)."""
    offline_span_s: float | None = None
    """Simulated seconds between the first and last reading an offline device replayed."""
    replayed_in_order: bool | None = None
    resent: int = 0
    """Messages the devices sent again: no PUBACK before a connection was lost, or no confirmation from the hub."""
    resent_unconfirmed: int = 0
    """Of those, messages the broker had acknowledged, sent again for want of the hub's confirmation."""
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class TcpProxy:
    """A TCP relay to ``target`` that can be cut (every connection dropped, new ones refused) and restored."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._closed = False
        threading.Thread(target=self._accept, name="db-proxy", daemon=True).start()

    def cut(self) -> None:
        """The database is gone: drop every connection and refuse new ones."""
        self._open.clear()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def restore(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._server.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if not self._open.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class SqliteLock:
    """Holds SQLite's exclusive lock, so the hub can neither write nor commit until it is let go."""

    def __init__(self, path: str) -> None:
        self._connection = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)

    def cut(self) -> None:
        self._connection.execute("BEGIN EXCLUSIVE")

    def restore(self) -> None:
        self._connection.execute("COMMIT")

    def close(self) -> None:
        self._connection.close()


class HubProcess:
    """``python -m hub hub --no-api`` in a process of its own, so it can be SIGKILLed."""

    def __init__(self, *, database_url: str, broker_url: str, devices: int, log: Path) -> None:
        self.env = {
            **os.environ,
            "ATRIUM_DATABASE_URL": database_url,
            "ATRIUM_MQTT_URL": broker_url,
            "ATRIUM_BUILDING": f"synthetic:{devices}",
            "ATRIUM_BATCH_WAIT_MS": "20",
            "ATRIUM_SEQ_GAP_GRACE_S": "2",
            "ATRIUM_LOG_LEVEL": "WARNING",
        }
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hub", "hub", "--no-api"], env=self.env, stdout=out, stderr=out
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass(frozen=True)
class Stored:
    """What the database holds of the devices' messages."""

    rows: int
    distinct: int
    seqs: dict[str, set[int]]
    repeats_dropped: int
    gaps: int


def read_stored(url: str) -> Stored:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT device_id, seq FROM device_messages")).all()
            query = sa.text("SELECT name, SUM(count) FROM ingest_counters GROUP BY name")
            counters: dict[str, int] = {str(name): int(n) for name, n in connection.execute(query)}
    finally:
        engine.dispose()
    seqs: dict[str, set[int]] = {}
    for device_id, seq in rows:
        seqs.setdefault(device_id, set()).add(seq)
    distinct = sum(len(s) for s in seqs.values())
    return Stored(len(rows), distinct, seqs, int(counters.get("duplicates", 0)), int(counters.get("gaps", 0)))


def count_stored(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT COUNT(*) FROM device_messages")).scalar_one())
    finally:
        engine.dispose()


def count_smoke_tickets(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            query = sa.text("SELECT COUNT(*) FROM tickets WHERE fault_type LIKE '%smoke%'")
            return int(connection.execute(query).scalar_one())
    finally:
        engine.dispose()


def stored_in_order(url: str, device_id: str, seqs: range) -> tuple[bool, float]:
    """Whether ``device_id``'s messages ``seqs`` were stored in sequence order, and their simulated time span."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT seq, device_ts FROM device_messages WHERE device_id = :d AND seq >= :a AND seq < :b "
                    "AND channel = 'telemetry' ORDER BY id"
                ),
                {"d": device_id, "a": seqs.start, "b": seqs.stop},
            ).all()
    finally:
        engine.dispose()
    order = [seq for seq, _ in rows]
    times = [_as_datetime(ts) for _, ts in rows]
    span = (max(times) - min(times)).total_seconds() if times else 0.0
    return order == sorted(order), span


def _as_datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


@contextlib.contextmanager
def _database(kind: str, workdir: Path) -> Iterator[str]:
    with create_test_database(kind, workdir) as database:
        yield database.url


def run_fault(kind: FaultKind, size: FaultSize, workdir: Path, *, database: str = "sqlite") -> FaultResult:
    """Run one burst with ``kind`` injected and report what was stored."""
    binary = mosquitto_binary()
    if binary is None:
        raise RuntimeError("fault runs need mosquitto (apt-get install mosquitto)")
    workdir.mkdir(parents=True, exist_ok=True)
    broker = MosquittoBroker(binary, workdir)
    broker.start()
    with _database(database, workdir) as url, contextlib.ExitStack() as stack:
        stack.callback(broker.kill)
        hub_url = url
        outage: TcpProxy | SqliteLock | None = None
        if kind is FaultKind.DATABASE_OUTAGE:
            if database == "postgres":
                parsed = sa.make_url(url)
                outage = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
                hub_url = parsed.set(host="127.0.0.1", port=outage.port).render_as_string(hide_password=False)
            else:
                outage = SqliteLock(str(sa.make_url(url).database))
            stack.callback(outage.close)
        hub = HubProcess(
            database_url=hub_url, broker_url=broker.endpoint.url, devices=size.devices, log=workdir / "hub.log"
        )
        hub.start()
        stack.callback(hub.stop)
        wait_for_retained(broker.endpoint, hub_availability_topic(SITE), ONLINE, timeout=60)
        time_scale = OFFLINE_SIMULATED_S / size.offline_s if kind is FaultKind.DEVICE_OFFLINE else 1.0
        fleet = Fleet(
            synthetic_building(size.devices),
            broker.endpoint,
            interval_s=size.burst_s / size.per_device,
            messages_per_device=size.per_device,
            hub_confirms=True,
            time_scale=time_scale,
        )
        runner = FleetThread(fleet, name="fault-fleet").start()
        stack.callback(runner.stop)
        runner.wait_online(60)
        result = FaultResult(
            fault=kind.value, database=database, injected=0, sent=0, stored=0, lost=0, duplicated=0,
            repeats_dropped=0, catch_up_s=None, confirmed=0, gaps_open=0,
        )  # fmt: skip
        offline: dict[str, range] = {}
        spacing = size.burst_s * 0.8 / max(1, size.repeats)
        if kind in (FaultKind.BROKER_RESTART, FaultKind.BROKER_KILL):
            runner.inject(SMOKE_DEVICE, Fault.SMOKE)
            for _ in range(size.repeats):
                time.sleep(spacing)
                if kind is FaultKind.BROKER_RESTART:
                    broker.restart()
                else:
                    broker.kill()
                    broker.start()
                result.injected += 1
        elif kind is FaultKind.HUB_KILL:
            kills = HUB_KILLS_FULL if size.repeats > CI_SIZE.repeats else 1
            for _ in range(kills):
                time.sleep(size.burst_s * 0.8 / kills)
                hub.kill()
                result.injected += 1
                wait_for_retained(broker.endpoint, hub_availability_topic(SITE), OFFLINE, timeout=30)
                hub.start()
            result.notes.append("the hub's will announced it offline after each SIGKILL")
        elif kind is FaultKind.DATABASE_OUTAGE:
            assert outage is not None
            time.sleep(size.burst_s * 0.2)
            outage.cut()
            result.injected += 1
            time.sleep(size.outage_s)
            outage.restore()
        elif kind is FaultKind.DEVICE_OFFLINE:
            chosen = [f"dev-{n:05d}" for n in range(1, size.devices, max(1, size.devices // size.offline_devices))]
            chosen = chosen[: size.offline_devices]
            first = {device_id: runner.device(device_id).next_seq for device_id in chosen}
            for device_id in chosen:
                runner.inject(device_id, Fault.OFFLINE)
                result.injected += 1
            time.sleep(size.offline_s)
            for device_id in chosen:
                last = runner.call(lambda device=runner.device(device_id): device.next_seq)
                offline[device_id] = range(first[device_id], last)
                runner.clear(device_id, Fault.OFFLINE)
        fault_over = time.monotonic()
        produced_then = runner.stats().produced
        if wait_until(lambda: count_stored(url) >= produced_then, size.deadline_s):
            result.catch_up_s = round(time.monotonic() - fault_over, 2)
        try:
            stats = runner.join(max(1.0, size.deadline_s - (time.monotonic() - fault_over)))
        except TimeoutError:
            result.notes.append("some devices still held unconfirmed messages at the deadline")
            stats = runner.stop()
        expected = {device.id: set(range(device.next_seq)) for device in fleet}
        wait_until(lambda: read_stored(url).gaps == 0, 10)
        stored = read_stored(url)
        result.sent = sum(len(s) for s in expected.values())
        result.stored = stored.distinct
        result.lost = sum(len(seqs - stored.seqs.get(device_id, set())) for device_id, seqs in expected.items())
        result.duplicated = stored.rows - stored.distinct
        result.repeats_dropped = stored.repeats_dropped
        result.confirmed = stats.confirmed
        result.resent = stats.resent
        result.resent_unconfirmed = stats.unconfirmed_resends
        result.gaps_open = stored.gaps
        if kind in (FaultKind.BROKER_RESTART, FaultKind.BROKER_KILL):
            result.tickets = count_smoke_tickets(url)
        if offline:
            checks = [stored_in_order(url, device_id, seqs) for device_id, seqs in offline.items()]
            result.replayed_in_order = all(in_order for in_order, _ in checks)
            result.offline_span_s = round(min(span for _, span in checks), 1)
        return result
