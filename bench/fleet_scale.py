"""How many simulated devices one firmware-sim process carries: fleets of 500, 2,000 and 5,000.

Runs a private Mosquitto (deploy/mosquitto.conf), a bare paho subscriber that only counts (the
floor), and ``python -m firmware_sim`` as its own process, whose CPU and memory are sampled with
psutil. Prints a table and writes bench/results/fleet_scale.json.

    .venv/bin/python bench/fleet_scale.py [--sizes 500,2000,5000] [--interval 2] [--duration 20]
"""

import json
import platform
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import paho.mqtt.client as paho
import psutil
import typer
from paho.mqtt.enums import CallbackAPIVersion
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.brokers import MosquittoBroker, mosquitto_binary  # noqa: E402

console = Console()


class Counter:
    """The floor: a subscriber that only counts telemetry and the devices it came from."""

    def __init__(self, port: int) -> None:
        self.messages = 0
        self.devices: set[str] = set()
        self._lock = threading.Lock()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-counter-{port}")
        self.client.on_message = self._count
        self.client.connect("127.0.0.1", port)
        self.client.subscribe("atrium/v1/fleet/+/telemetry", qos=1)
        self.client.loop_start()

    def _count(self, _client: Any, _userdata: Any, message: paho.MQTTMessage) -> None:
        with self._lock:
            self.messages += 1
            self.devices.add(message.topic.split("/")[3])

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def run_fleet(size: int, interval: float, duration: float, broker: MosquittoBroker) -> dict[str, Any]:
    counter = Counter(broker.port)
    command = [sys.executable, "-m", "firmware_sim", "--devices", str(size), "--interval", str(interval)]
    command += ["--duration", str(duration), "--mqtt-url", broker.endpoint.url]
    started = time.monotonic()
    sim = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    process = psutil.Process(sim.pid)
    peak_rss = 0
    all_connected_after: float | None = None
    warm_count, warm_at = 0, 0.0
    while sim.poll() is None:
        time.sleep(0.25)
        try:
            peak_rss = max(peak_rss, process.memory_info().rss)
            cpu = process.cpu_times()
        except psutil.NoSuchProcess:
            break
        if all_connected_after is None and len(counter.devices) >= size:
            all_connected_after = time.monotonic() - started
            warm_count, warm_at, warm_cpu = counter.messages, time.monotonic(), cpu.user + cpu.system
    elapsed = time.monotonic() - warm_at if all_connected_after is not None else 0.0
    steady_messages = counter.messages - warm_count
    cpu_used = (cpu.user + cpu.system - warm_cpu) if all_connected_after is not None else 0.0
    counter.close()
    return {
        "devices": size,
        "interval_s": interval,
        "devices_heard": len(counter.devices),
        "all_heard_after_s": round(all_connected_after, 1) if all_connected_after else None,
        "offered_msgs_per_s": round(size / interval, 1),
        "floor_msgs_per_s": round(steady_messages / elapsed, 1) if elapsed else 0.0,
        "sim_cpu_percent_of_one_core": round(100 * cpu_used / elapsed, 1) if elapsed else None,
        "sim_peak_rss_mb": round(peak_rss / 2**20, 1),
    }


def main(
    sizes: Annotated[str, typer.Option(help="Fleet sizes, comma separated")] = "500,2000,5000",
    interval: Annotated[float, typer.Option(help="Seconds between one device's readings")] = 2.0,
    duration: Annotated[float, typer.Option(help="Seconds each fleet runs")] = 20.0,
    out: Annotated[Path, typer.Option(help="JSON results")] = ROOT / "bench" / "results" / "fleet_scale.json",
) -> None:
    """Measure firmware-sim fleets side by side with a counting subscriber."""
    binary = mosquitto_binary()
    if binary is None:
        console.print("[red]This benchmark needs mosquitto (Debian: apt-get install mosquitto).[/]")
        raise typer.Exit(2)
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        broker = MosquittoBroker(binary, Path(workdir))
        broker.start()
        try:
            for size in (int(s) for s in sizes.split(",")):
                console.print(f"fleet of {size} devices for {duration:g}s ...")
                rows.append(run_fleet(size, interval, duration, broker))
        finally:
            broker.stop()
    table = Table(title=f"firmware-sim fleets, one process, reading every {interval:g}s, {duration:g}s each")
    for column in rows[0]:
        table.add_column(column.replace("_", " "), justify="right")
    for row in rows:
        table.add_row(*(str(value) for value in row.values()))
    console.print(table)
    out.parent.mkdir(parents=True, exist_ok=True)
    conditions = {"date": datetime.now(UTC).isoformat(), "cpus": psutil.cpu_count(), "machine": platform.machine()}
    out.write_text(json.dumps({"conditions": conditions, "fleets": rows}, indent=2) + "\n")
    console.print(f"wrote {out}")


if __name__ == "__main__":
    typer.run(main)
