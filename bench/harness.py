"""The parts every benchmark starts: a private Mosquitto, a scratch database, the hub, a fleet, the floor.

Each is a process of its own (the hub through bench/hub_process.py), so its CPU and memory can be
measured apart, and each benchmark gets fresh ones: no persistent session or queue left by one run
weighs on the next.
"""

import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hub.mqtt.embedded_broker import free_port  # noqa: E402
from hub.runtime import Database  # noqa: E402
from hub.services import api_keys  # noqa: E402
from hub.store.auth_models import KeyKind  # noqa: E402
from tests.brokers import MosquittoBroker, mosquitto_binary  # noqa: E402

RESULTS = ROOT / "bench" / "results"
FLEET_SITE = "fleet"
"""The site id of ``synthetic_building`` (what ``firmware_sim --devices N`` simulates)."""
SECRET_KEY = "5e" * 32
"""The hub's site secret in every benchmark (it signs access tokens), the same in every run."""
HEAR_ALL_TIMEOUT_S = 40.0
"""Longest wait for the floor to hear every simulated device (about 10 s for 5,000 on an idle machine)."""
POSTGRES_ADMIN_URL = os.environ.get("ATRIUM_TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test")


class Unavailable(Exception):
    """A part this benchmark needs is missing on this machine (said in one sentence)."""


@dataclass(frozen=True)
class Options:
    """How the suite was asked to run."""

    quick: bool = False
    databases: tuple[str, ...] = ("sqlite", "postgres")


@dataclass
class Row:
    """One line of the suite's table: a figure and the conditions it was taken under."""

    benchmark: str
    conditions: str
    result: str
    target: str = ""


@dataclass
class Report:
    """What one benchmark measured: lines for the table, and everything for its JSON file."""

    name: str
    rows: list[Row] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


def machine() -> dict[str, Any]:
    """Where the figures were taken."""
    load1, load5, _ = os.getloadavg()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_1m_5m": [round(load1, 2), round(load5, 2)],
        "shared": "a development VM shared with other engineers' test runs",
    }


def percentile_ms(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile of seconds, in milliseconds (None without values)."""
    if not values:
        return None
    return round(float(np.percentile(np.asarray(values), q)) * 1000, 1)


def ms(value: float | None) -> str:
    """A latency for the table."""
    if value is None:
        return "n/a"
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


def verdict(ok: bool | None, text: str) -> str:
    """A target line for the table: met, missed, or not measured."""
    if ok is None:
        return f"[dim]{text}: not measured[/]"
    return f"[green]{text}: met[/]" if ok else f"[red]{text}: missed[/]"


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="atrium-bench-") as path:
        yield Path(path)


@contextlib.contextmanager
def private_broker(folder: Path) -> Iterator[MosquittoBroker]:
    """A Mosquitto from deploy/mosquitto.conf on a free port, as the tests start one."""
    binary = mosquitto_binary()
    if binary is None:
        raise Unavailable("mosquitto is not installed (Debian: apt-get install mosquitto mosquitto-clients)")
    broker = MosquittoBroker(binary, folder)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def postgres_problem() -> str | None:
    """None when the benchmark PostgreSQL answers, else why not."""
    try:
        engine = sa.create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as error:  # any failure to connect means: no PostgreSQL figures, and why
        return str(error).strip().splitlines()[0]
    return None


@contextlib.contextmanager
def scratch_database(kind: str, folder: Path) -> Iterator[str]:
    """The URL of an empty database: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'atrium.db'}"
        return
    if kind != "postgres":
        raise ValueError(f"no database kind {kind!r}")
    problem = postgres_problem()
    if problem:
        raise Unavailable(f"no PostgreSQL at {POSTGRES_ADMIN_URL}: {problem}")
    name = f"atrium_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def issue_api_keys(database_url: str, kind: KeyKind, rooms: Sequence[str | None] = (None,)) -> list[str]:
    """API keys (one per room for panels) written into the bench's scratch database, as `atrium keys` would.

    Issued once the hub has made its tables; the hub checks them like any other key, so the figures
    include the key lookup every real client pays.
    """
    database = Database.open(database_url)
    try:
        now = datetime.now(UTC)
        with database.sessions.begin() as session:
            return [
                api_keys.issue_key(
                    session, kind=kind, name=f"bench {room or kind}", room_id=room, actor="bench", now=now
                )[1]
                for room in rooms
            ]
    finally:
        database.close()


class Sampler:
    """Peak memory of a process, sampled on a thread; its CPU time read when asked."""

    def __init__(self, pid: int, every_s: float = 0.25) -> None:
        self.process = psutil.Process(pid)
        self.peak_rss = 0
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sampler-{pid}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            try:
                self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)
            except psutil.Error:
                return

    def cpu_seconds(self) -> float:
        try:
            times = self.process.cpu_times()
        except psutil.Error:
            return 0.0
        return float(times.user + times.system)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


def stop_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
    """Ask a child to stop, and kill it if it does not within ``timeout``."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


@dataclass
class HubFigures:
    """What bench/hub_process.py recorded (see its docstring)."""

    commit_at: list[float]
    commit_latency_s: list[float]
    receive_latency_s: list[float]
    tickets: list[tuple[str | None, str, float]] = field(default_factory=list)
    """(asset, fault type, wall-clock commit time) of each ticket the hub opened."""

    def window(self, start: float, end: float) -> "HubFigures":
        """The rows committed between two monotonic instants."""
        kept = [i for i, at in enumerate(self.commit_at) if start <= at <= end]
        return HubFigures(
            [self.commit_at[i] for i in kept],
            [self.commit_latency_s[i] for i in kept],
            [self.receive_latency_s[i] for i in kept],
        )


class HubProcess:
    """The hub and its API in their own process (bench/hub_process.py), over a given broker and database."""

    def __init__(self, folder: Path, *, database_url: str, mqtt_url: str, building: str, **settings: str) -> None:
        self.folder = folder
        self.api_port = free_port()
        self.url = f"http://127.0.0.1:{self.api_port}"
        self.stats_path = folder / "hub-stats.json"
        self.log_path = folder / "hub.log"
        self.env = {
            **os.environ,
            "ATRIUM_DATABASE_URL": database_url,
            "ATRIUM_MQTT_URL": mqtt_url,
            "ATRIUM_BUILDING": building,
            "ATRIUM_SECRET_KEY": SECRET_KEY,
            "ATRIUM_API_PORT": str(self.api_port),
            "ATRIUM_CLIENT_ID": f"bench-hub-{uuid.uuid4().hex[:8]}",
            "ATRIUM_LOG_LEVEL": "WARNING",
            **{f"ATRIUM_{name.upper()}": value for name, value in settings.items()},
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.sampler: Sampler | None = None
        self.figures: HubFigures | None = None
        """What the hub recorded, once stopped."""

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 180.0) -> None:
        """Start, and return once the API answers (the hub is started before the API listens)."""
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bench.hub_process", "--stats-out", str(self.stats_path)],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.sampler = Sampler(self.process.pid)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the hub exited with {self.process.returncode}: {self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"the hub did not answer within {timeout:g}s: {self.log_tail()}")

    def stop(self) -> HubFigures:
        """Stop it as an operator would (SIGTERM) and read what it recorded."""
        assert self.process is not None
        stop_process(self.process)
        if self.sampler is not None:
            self.sampler.stop()
        if not self.stats_path.exists():
            raise RuntimeError(f"the hub wrote no figures: {self.log_tail()}")
        recorded = json.loads(self.stats_path.read_text())
        self.figures = HubFigures(
            recorded["commit_at"],
            recorded["commit_latency_s"],
            recorded["receive_latency_s"],
            [(asset, fault_type, at) for asset, fault_type, at in recorded["tickets"]],
        )
        return self.figures

    def log_tail(self, lines: int = 8) -> str:
        if not self.log_path.exists():
            return ""
        return " | ".join(self.log_path.read_text(errors="replace").strip().splitlines()[-lines:])


class FleetProcess:
    """``python -m firmware_sim --devices N`` against the broker, until stopped."""

    def __init__(self, devices: int, mqtt_url: str, *, interval_s: float) -> None:
        self.devices = devices
        command = [sys.executable, "-m", "firmware_sim", "--devices", str(devices), "--interval", f"{interval_s:g}"]
        command += ["--mqtt-url", mqtt_url]
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.sampler = Sampler(self.process.pid)

    def stop(self) -> None:
        stop_process(self.process, signal.SIGINT, timeout=20)
        self.sampler.stop()


class Floor:
    """The floor: Mosquitto's own C client (``mosquitto_sub``, QoS 1), its output counted here.

    A single Python paho subscriber could not keep up with 5,000 devices on this machine (see
    bench/README.md), so the floor is what a compiled client receives from the same broker. It
    prints each message's arrival time (its own clock, so pipe buffering does not count), topic and
    payload; the latency is that arrival minus the ``ts`` the device stamped on the reading.
    """

    def __init__(self, port: int, topic: str) -> None:
        binary = mosquitto_binary_sub()
        self.messages = 0
        self.devices: set[str] = set()
        self.arrived_at: list[float] = []
        """Monotonic arrival of each message (mapped from mosquitto_sub's wall clock)."""
        self.latency_s: list[float] = []
        self._wall_to_monotonic = time.monotonic() - time.time()
        client_id = f"bench-floor-{uuid.uuid4().hex[:8]}"
        self.process = subprocess.Popen(
            [binary, "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-t", topic, "-F", "%U %t %p", "-i", client_id],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.sampler = Sampler(self.process.pid)
        self._thread = threading.Thread(target=self._count, name="floor", daemon=True)
        self._thread.start()

    def _count(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            arrived, topic, payload = line.split(b" ", 2)
            at = float(arrived)
            self.messages += 1
            self.devices.add(topic.split(b"/", 4)[3].decode())
            start = payload.find(b'"ts":"') + 6
            if start > 5:
                stamped = datetime.fromisoformat(payload[start : payload.index(b'"', start)].decode())
                self.arrived_at.append(at + self._wall_to_monotonic)
                self.latency_s.append(at - stamped.timestamp())

    def latencies_between(self, start: float, end: float) -> list[float]:
        """Latencies of the messages that arrived between two monotonic instants."""
        return [lat for at, lat in zip(self.arrived_at, self.latency_s, strict=False) if start <= at <= end]

    def stop(self) -> None:
        stop_process(self.process, timeout=5)
        self.sampler.stop()
        self._thread.join(5)


def mosquitto_binary_sub() -> str:
    """Path of ``mosquitto_sub`` (Debian: mosquitto-clients)."""
    binary = os.environ.get("ATRIUM_BENCH_MOSQUITTO_SUB") or "mosquitto_sub"
    for folder in (None, "/usr/bin:/usr/local/bin"):
        found = shutil.which(binary, path=folder)
        if found:
            return str(found)
    raise Unavailable("mosquitto_sub is not installed (Debian: apt-get install mosquitto-clients)")


def wait_until(condition: Any, timeout: float, every_s: float = 0.2) -> bool:
    """Poll ``condition()`` until true or ``timeout``; returns whether it came true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every_s)
    return bool(condition())


@dataclass
class LoadedSite:
    """A hub over a fresh broker and database with a simulated fleet reporting: the background load."""

    broker: MosquittoBroker
    database_url: str
    hub: HubProcess
    floor: Floor
    fleet: FleetProcess
    heard_all: bool

    def hub_behind(self) -> int:
        """Telemetry the floor received that the hub had not committed (once both stopped)."""
        assert self.hub.figures is not None
        return self.floor.messages - len(self.hub.figures.commit_at)


@contextlib.contextmanager
def loaded_site(kind: str, *, building_devices: int, fleet_devices: int, interval_s: float) -> Iterator[LoadedSite]:
    """Start everything, wait until the floor has heard every simulated device and one more interval."""
    with workdir() as folder, private_broker(folder) as broker, scratch_database(kind, folder) as url:
        hub = HubProcess(
            folder, database_url=url, mqtt_url=broker.endpoint.url, building=f"synthetic:{building_devices}"
        )
        hub.start()
        floor = Floor(broker.port, f"atrium/v1/{FLEET_SITE}/+/telemetry")
        fleet = FleetProcess(fleet_devices, broker.endpoint.url, interval_s=interval_s)
        try:
            heard_all = wait_until(lambda: len(floor.devices) >= fleet_devices, HEAR_ALL_TIMEOUT_S)
            time.sleep(interval_s)
            yield LoadedSite(broker, url, hub, floor, fleet, heard_all)
        finally:
            fleet.stop()
            floor.stop()
            hub.stop()
