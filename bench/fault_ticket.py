"""Fault to ticket: from a smoke alarm's publish to the commit of the ticket it opens, under fleet load.

The 1,000-room building (``synthetic:5000``) with the fleet reporting in the background (5,000
devices every 2 s; 500 with ``--quick``) and the shipped fault rules (deploy/fault-rules.toml:
``safety.smoke`` is a flag rule that opens a critical ticket at once). This process speaks as one
safety sensor at a time (each sample its own, so no open ticket or rule hysteresis carries over):
a ``SafetyTelemetry`` reading with ``smoke = true``, QoS 1, a sequence number above anything the
simulated device uses. The clock starts just before the publish (wall clock) and stops at the
commit of the transaction that inserted the ticket, noted inside the hub (bench/hub_process.py):
one machine, one clock.
"""

import importlib.util
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion

from bench.harness import FLEET_SITE, Options, Report, Row, loaded_site, ms, percentile_ms, verdict, wait_until
from devices.codec import encode
from devices.kinds import DeviceKind
from devices.payloads import SCHEMA_VERSION, SafetyTelemetry
from devices.topics import Channel, device_topic

NAME = "fault_ticket"
BUILDING_DEVICES = 5000
INTERVAL_S = 2.0
PACE_S = 0.3
WARM_UP = 3
TARGET_P99_MS = 100.0
FAULT_TYPE = "smoke"
SETTLE_S = 15.0
"""Longest wait, after the last alarm, for every alarm's ticket (a hub far behind takes long)."""


def available() -> str | None:
    """None when the tickets feature is in the tree, else what is missing."""
    for module in ("hub.services.tickets", "hub.services.fault_watch", "hub.store.ticket_models"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not in the tree yet"
    return None


def safety_devices() -> list[str]:
    """The synthetic building's safety sensors (the fourth device of every room)."""
    return [f"dev-{n:05d}" for n in range(3, BUILDING_DEVICES, 5) if n % 100 != 99]


def run(options: Options, _results: Path) -> Report:
    samples = 8 if options.quick else 40
    fleet_devices = 500 if options.quick else BUILDING_DEVICES
    report = Report(NAME, data={"runs": []})
    missing = available()
    if missing:
        report.rows.append(Row(NAME, "smoke alarm → ticket", f"[yellow]not available yet: {missing}[/]"))
        report.data["not_available"] = missing
        return report
    for kind in options.databases:
        print(f"fault to ticket: {kind}, {samples} smoke alarms, {fleet_devices} devices reporting ...", flush=True)
        conditions = (
            f"{kind}, 1,000 rooms, {fleet_devices:,} devices reporting every {INTERVAL_S:g}s; {samples} smoke "
            f"alarms {PACE_S:g}s apart (after {WARM_UP} left out), each from its own sensor"
        )
        try:
            measured = measure(kind, samples, fleet_devices)
        except Exception as error:  # keep the other database's figures
            report.rows.append(Row(NAME, conditions, f"[red]failed: {error}[/]"))
            report.data["runs"].append({"database": kind, "error": str(error)})
            continue
        report.data["runs"].append(measured)
        p99 = measured["publish_to_ticket_p99_ms"]
        report.rows.append(
            Row(
                NAME,
                conditions,
                (
                    f"publish→ticket commit p50 {ms(measured['publish_to_ticket_p50_ms'])}, p99 {ms(p99)};"
                    if p99 is not None
                    else "publish→ticket commit: no ticket at all;"
                )
                + f" {measured['no_ticket']} of {samples} had no ticket {SETTLE_S:g}s after the last alarm;"
                f" hub {measured['hub_behind_floor_at_end']:,} msgs behind the floor when stopped",
                verdict(p99 is not None and p99 < TARGET_P99_MS and not measured["no_ticket"], "p99 < 100 ms"),
            )
        )
    return report


def measure(kind: str, samples: int, fleet_devices: int) -> dict[str, Any]:
    sensors = safety_devices()
    published: dict[str, float] = {}
    with loaded_site(
        kind, building_devices=BUILDING_DEVICES, fleet_devices=fleet_devices, interval_s=INTERVAL_S
    ) as site:
        hub = site.hub
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-alarms-{uuid.uuid4().hex[:8]}")
        connected = threading.Event()
        client.on_connect = lambda *_: connected.set()
        client.connect("127.0.0.1", site.broker.port)
        client.loop_start()
        connected.wait(10)
        seq = time.time_ns() // 1000  # microseconds: far above the simulator's milliseconds-based numbers
        try:
            for n in range(WARM_UP + samples):
                device_id = sensors[(n * 37) % len(sensors)]
                seq += 1
                reading = SafetyTelemetry(
                    v=SCHEMA_VERSION,
                    device_id=device_id,
                    seq=seq,
                    ts=datetime.now(UTC),
                    kind=DeviceKind.SAFETY,
                    smoke=True,
                    co_ppm=0.0,
                    leak=False,
                    battery_pct=90.0,
                )
                topic = device_topic(FLEET_SITE, device_id, Channel.TELEMETRY)
                payload = encode(reading)
                sent = time.time()
                client.publish(topic, payload, qos=1)
                if n >= WARM_UP:
                    published[device_id] = sent
                time.sleep(PACE_S)
            wait_until(lambda: _smoke_tickets(site.database_url) >= WARM_UP + samples, SETTLE_S, every_s=0.5)
        finally:
            client.disconnect()
            client.loop_stop()
    assert hub.figures is not None
    opened = {asset: at for asset, fault_type, at in hub.figures.tickets if fault_type == FAULT_TYPE}
    latencies = [opened[device] - sent for device, sent in published.items() if device in opened]
    return {
        "database": kind,
        "rooms": BUILDING_DEVICES // 5,
        "fleet_devices": fleet_devices,
        "interval_s": INTERVAL_S,
        "fleet_heard_all": site.heard_all,
        "samples": samples,
        "no_ticket": len(published) - len(latencies),
        "hub_behind_floor_at_end": site.hub_behind(),
        "publish_to_ticket_p50_ms": percentile_ms(latencies, 50),
        "publish_to_ticket_p99_ms": percentile_ms(latencies, 99),
        "publish_to_ticket_max_ms": percentile_ms(latencies, 100),
    }


def _smoke_tickets(url: str) -> int:
    """Smoke tickets committed so far (read from the hub's database, beside it)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(sa.text("SELECT count(*) FROM tickets WHERE fault_type = 'smoke'")).scalar_one()
            )
    finally:
        engine.dispose()
