"""The simulator's command line (``atrium sim``): run a building's devices against a broker, with progress."""

import asyncio
import contextlib
import dataclasses
import signal
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table

from devices.site import SAMPLE_BUILDING, Building, SiteConfigError, load_building, synthetic_building
from devices.transport import BrokerEndpoint, BrokerUrlError
from firmware_sim.credentials import CredentialsError, load_credentials
from firmware_sim.faults import Fault, FaultNotApplicable, parse_fault
from firmware_sim.fleet import Fleet, FleetStats, seq_start_from_clock
from firmware_sim.link import ConnectFailed, probe_broker

DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"
PROBE_TIMEOUT_S = 5.0

app = typer.Typer(
    help="Simulate Atrium devices (firmware over real MQTT) for a building file or a synthetic fleet.",
    add_completion=False,
)


class BrokerUnreachable(Exception):
    """The broker did not accept a connection; the message is one sentence for a person."""


@app.callback(invoke_without_command=True)
def simulate_command(
    ctx: typer.Context,
    building: Annotated[
        Path | None, typer.Option("--building", help="Building file (TOML). Default: the sample building.")
    ] = None,
    devices: Annotated[
        int | None, typer.Option("--devices", min=1, help="Simulate a synthetic building of N devices instead.")
    ] = None,
    mqtt_url: Annotated[
        str, typer.Option("--mqtt-url", envvar="ATRIUM_MQTT_URL", help="Broker URL, mqtt[s]://[user:pass@]host:port.")
    ] = DEFAULT_MQTT_URL,
    interval: Annotated[
        float | None,
        typer.Option("--interval", min=0.001, max=86_400, help="Seconds between reports (default: each kind's own)."),
    ] = None,
    count: Annotated[
        int | None, typer.Option("--count", min=1, help="Telemetry messages per device, then exit once delivered.")
    ] = None,
    duration: Annotated[float | None, typer.Option("--duration", min=0, help="Stop after this many seconds.")] = None,
    time_scale: Annotated[
        float, typer.Option("--time-scale", min=0.001, help="Simulated seconds per real second (60: an hour a minute).")
    ] = 1.0,
    start: Annotated[
        str | None, typer.Option("--start", help="Simulated start time, ISO 8601 (site time when no zone given).")
    ] = None,
    fault: Annotated[
        list[str] | None, typer.Option("--fault", help="DEVICE_ID:FAULT to inject from the start; repeatable.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the simulated readings.")] = 0,
    keepalive: Annotated[int, typer.Option("--keepalive", min=1, help="MQTT keep-alive in seconds.")] = 30,
    seq_start: Annotated[
        int | None,
        typer.Option(
            "--seq-start",
            min=0,
            help="First sequence number; default: from the clock, so each run numbers above the last.",
        ),
    ] = None,
    credentials: Annotated[
        Path | None,
        typer.Option("--credentials", help="Each device logs in as itself: the file 'atrium devices provision' wrote."),
    ] = None,
    ca_file: Annotated[
        Path | None, typer.Option("--ca-file", envvar="ATRIUM_MQTT_CA_FILE", help="The site CA that mqtts:// trusts.")
    ] = None,
    hub_confirms: Annotated[
        bool | None,
        typer.Option(
            "--hub-confirms/--no-hub-confirms",
            help="Keep each message until the hub confirms it committed it, from boot (or never: the broker's "
            "PUBACK is enough). Default: from the hub's first confirmation.",
        ),
    ] = None,
) -> None:
    """Simulate until --count, --duration or Ctrl-C."""
    if ctx.invoked_subcommand is not None:
        return
    console = Console()
    if building is not None and devices is not None:
        raise typer.BadParameter("use --building or --devices, not both")
    try:
        site = synthetic_building(devices) if devices is not None else load_building(building or SAMPLE_BUILDING)
        endpoint = BrokerEndpoint.from_url(mqtt_url)
        if ca_file is not None:
            endpoint = dataclasses.replace(endpoint, ca_file=str(ca_file))
        logins = load_credentials(credentials) if credentials is not None else None
    except (SiteConfigError, BrokerUrlError, CredentialsError) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    try:
        faults = [parse_fault(spec) for spec in fault or []]
        start_at = datetime.fromisoformat(start) if start else None
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    try:
        simulate(
            site,
            endpoint,
            interval_s=interval,
            count=count,
            duration=duration,
            time_scale=time_scale,
            start=start_at,
            faults=faults,
            seed=seed,
            keepalive=keepalive,
            seq_start=seq_start if seq_start is not None else seq_start_from_clock(),
            console=console,
            credentials=logins,
            hub_confirms=hub_confirms,
        )
    except BrokerUnreachable as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    except (KeyError, FaultNotApplicable) as error:
        raise typer.BadParameter(str(error).strip("'\"")) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def simulate(
    building: Building,
    endpoint: BrokerEndpoint,
    *,
    interval_s: float | None = None,
    count: int | None = None,
    duration: float | None = None,
    time_scale: float = 1.0,
    start: datetime | None = None,
    faults: Sequence[tuple[str, Fault]] = (),
    seed: int = 0,
    keepalive: int = 30,
    seq_start: int = 0,
    console: Console | None = None,
    credentials: Mapping[str, str] | None = None,
    hub_confirms: bool | None = None,
) -> FleetStats:
    """Run a fleet in the foreground with live progress until done, ``duration`` or Ctrl-C.

    Raises :class:`BrokerUnreachable` when the broker cannot be reached at the start; a broker
    lost later is waited for (devices buffer and reconnect).
    """
    fleet = Fleet(
        building,
        endpoint,
        interval_s=interval_s,
        messages_per_device=count,
        time_scale=time_scale,
        start=start,
        seed=seed,
        keepalive=keepalive,
        seq_start=seq_start,
        credentials=credentials,
        hub_confirms=hub_confirms,
    )
    for device_id, fault in faults:
        fleet.inject(device_id, fault)
    return asyncio.run(_simulate(fleet, duration, console or Console()))


async def _simulate(fleet: Fleet, duration: float | None, console: Console) -> FleetStats:
    try:
        await probe_broker(next(iter(fleet)).endpoint, timeout=PROBE_TIMEOUT_S)  # logged in as a device would be
    except ConnectFailed as error:
        reason = str(error).rstrip(".")
        raise BrokerUnreachable(f"Cannot reach the MQTT broker at {fleet.endpoint.url}: {reason}.") from None
    loop = asyncio.get_running_loop()
    run = asyncio.create_task(fleet.run(duration))

    stopping = asyncio.Event()

    def interrupted() -> None:
        if stopping.is_set():
            run.cancel()  # a second Ctrl-C: stop waiting for the polite goodbye
        stopping.set()
        fleet.request_stop()

    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGINT, interrupted)
    progress = _Progress(fleet)
    try:
        with Live(progress.render(), console=console, refresh_per_second=4) as live:
            while not run.done():
                await asyncio.wait([run], timeout=0.25)
                live.update(progress.render())
        if not console.is_terminal:
            console.line()  # a live display ends its own line only on a terminal
        stats = await run
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signal.SIGINT)
    console.print(
        f"{stats.devices} devices, {stats.acknowledged} messages acknowledged, "
        f"{stats.buffered} left unsent, {stats.dropped} dropped, {stats.reconnects} reconnects."
    )
    return stats


class _Progress:
    """What the live display shows: connections, deliveries and the delivery rate."""

    def __init__(self, fleet: Fleet) -> None:
        self._fleet = fleet
        self._started = time.monotonic()
        self._last = (self._started, 0)
        self._rate = 0.0

    def render(self) -> Table:
        stats = self._fleet.stats()
        now = time.monotonic()
        then, acknowledged = self._last
        if now - then >= 0.5:
            instant = (stats.acknowledged - acknowledged) / (now - then)
            self._rate = instant if self._rate == 0 else 0.7 * self._rate + 0.3 * instant
            self._last = (now, stats.acknowledged)
        table = Table.grid(padding=(0, 2))
        table.add_row("devices connected", f"{stats.connected}/{stats.devices}")
        table.add_row("messages acknowledged", f"{stats.acknowledged:,}")
        table.add_row("rate", f"{self._rate:,.0f} msg/s")
        table.add_row("buffered / dropped", f"{stats.buffered:,} / {stats.dropped:,}")
        table.add_row("reconnects", f"{stats.reconnects:,}")
        table.add_row("commands obeyed / refused", f"{stats.commands_obeyed} / {stats.commands_refused}")
        table.add_row(
            "simulated time", self._fleet.clock.now().astimezone(self._fleet.timezone).strftime("%a %Y-%m-%d %H:%M")
        )
        table.add_row("elapsed", f"{now - self._started:,.0f} s")
        per_device = self._fleet.messages_per_device
        if per_device is not None:
            total = per_device * stats.devices
            table.add_row(
                "readings delivered", ProgressBar(total=total, completed=stats.telemetry_acknowledged, width=40)
            )
        return table
