"""Panel API: requests per second and latency of ``GET /panel/{room}/state`` under concurrent clients.

The hub (bench/hub_process.py: the hub and its API under uvicorn, one process) serves a
1,000-room building (``synthetic:5000``) with no devices reporting, so the figure is the API's
own. This process runs N concurrent tasks on one ``httpx.AsyncClient``, each asking for a random
room's state with that room's panel key (one issued per room before the run, sent as a bearer), as
wall tablets do; the first second is left out. The client shares the machine's two cores with the
hub, so its own CPU is reported beside the hub's.
"""

import asyncio
import os
import random
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.harness import (
    HubProcess,
    Options,
    Report,
    Row,
    issue_api_keys,
    ms,
    percentile_ms,
    private_broker,
    scratch_database,
    workdir,
)
from hub.store.auth_models import KeyKind

NAME = "panel_api"
ROOMS = 1000
CONCURRENCY = 32
WARM_UP_S = 1.0
"""Left out of the figures: connections opening, first queries."""


def run(options: Options, _results: Path) -> Report:
    duration_s = 2.0 if options.quick else 10.0
    report = Report(NAME, data={"runs": []})
    for kind in options.databases:
        print(f"panel API: {kind}, {CONCURRENCY} clients for {duration_s:g}s ...", flush=True)
        conditions = (
            f"{kind}, {ROOMS:,} rooms, no device load; {CONCURRENCY} concurrent httpx clients, "
            f"{duration_s:g}s after {WARM_UP_S:g}s warm-up"
        )
        try:
            measured = measure(kind, duration_s)
        except Exception as error:  # keep the other database's figures
            report.rows.append(Row(NAME, conditions, f"[red]failed: {error}[/]"))
            report.data["runs"].append({"database": kind, "error": str(error)})
            continue
        report.data["runs"].append(measured)
        report.rows.append(
            Row(
                NAME,
                conditions,
                f"{measured['requests_per_s']:,.0f} req/s, p50 {ms(measured['p50_ms'])}, p99 {ms(measured['p99_ms'])};"
                f" {measured['errors']} errors\nhub CPU {measured['hub_cpu_percent']:.0f}%,"
                f" client CPU {measured['client_cpu_percent']:.0f}% of a core",
            )
        )
    return report


def measure(kind: str, duration_s: float) -> dict[str, Any]:
    with workdir() as folder, private_broker(folder) as broker, scratch_database(kind, folder) as url:
        hub = HubProcess(folder, database_url=url, mqtt_url=broker.endpoint.url, building=f"synthetic:{ROOMS * 5}")
        hub.start()
        try:
            _settle(hub)
            rooms = [f"room-{n:04d}" for n in range(ROOMS)]
            keys = dict(zip(rooms, issue_api_keys(url, KeyKind.PANEL, rooms), strict=True))
            measured = asyncio.run(_load(hub, keys, duration_s))
        finally:
            hub.stop()
    return {"database": kind, "rooms": ROOMS, "concurrency": CONCURRENCY, "duration_s": duration_s, **measured}


async def _load(hub: HubProcess, keys: dict[str, str], duration_s: float) -> dict[str, Any]:
    assert hub.sampler is not None
    rooms = list(keys)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    loop = asyncio.get_running_loop()
    measure_from = loop.time() + WARM_UP_S
    stop_at = measure_from + duration_s
    me = psutil.Process(os.getpid())
    marks: dict[str, float] = {}

    async def client_task(client: httpx.AsyncClient, seed: int) -> None:
        chooser = random.Random(seed)
        while (now := loop.time()) < stop_at:
            room = chooser.choice(rooms)
            sent = time.perf_counter()
            try:
                reply = await client.get(f"/panel/{room}/state", headers={"Authorization": f"Bearer {keys[room]}"})
                failed = None if reply.status_code == 200 else str(reply.status_code)
            except httpx.HTTPError as error:
                failed = type(error).__name__
            if now >= measure_from:
                latencies.append(time.perf_counter() - sent)
                if failed:
                    errors[failed] = errors.get(failed, 0) + 1

    async def mark_window() -> None:
        await asyncio.sleep(WARM_UP_S)
        marks["hub_cpu"], marks["client_cpu"] = hub.sampler.cpu_seconds(), _cpu(me)  # type: ignore[union-attr]
        await asyncio.sleep(duration_s)
        marks["hub_cpu"] = hub.sampler.cpu_seconds() - marks["hub_cpu"]  # type: ignore[union-attr]
        marks["client_cpu"] = _cpu(me) - marks["client_cpu"]

    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=hub.url, limits=limits, timeout=30) as client:
        await asyncio.gather(mark_window(), *(client_task(client, n) for n in range(CONCURRENCY)))
    return {
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / duration_s, 1),
        "p50_ms": percentile_ms(latencies, 50),
        "p99_ms": percentile_ms(latencies, 99),
        "errors": sum(errors.values()),
        "errors_by_kind": errors,
        "hub_cpu_percent": round(100 * marks["hub_cpu"] / duration_s, 1),
        "client_cpu_percent": round(100 * marks["client_cpu"] / duration_s, 1),
    }


def _settle(hub: HubProcess, timeout_s: float = 30.0) -> None:
    """Wait for the hub to finish its start-up work (it publishes every room's display state once)."""
    assert hub.sampler is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        before = hub.sampler.cpu_seconds()
        time.sleep(0.5)
        if hub.sampler.cpu_seconds() - before < 0.1:
            return


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)
