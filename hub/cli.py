"""The ``atrium`` command: run the hub, the simulated building, the demo, and contract tools."""

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler

from firmware_sim.cli import app as sim_app
from hub.cli_access import keys_app, users_app, write_secret_file
from hub.cli_backup import backup_command, restore_command
from hub.cli_energy import energy_app
from hub.cli_facilities import cleaning_app
from hub.cli_provision import certs_command, provision_command, revoke_command
from hub.cli_rooms import rooms_app
from hub.cli_tickets import tickets_app
from hub.cli_visitors import visitors_app
from hub.errors import ConfigError
from hub.log_redaction import RedactSecrets
from hub.settings import Settings
from kiosk.cli import DEFAULT_KEY_FILE as DEMO_KIOSK_KEY_FILE
from kiosk.cli import kiosk_command

app = typer.Typer(
    name="atrium",
    help="Atrium: the office's visitors, rooms, devices and facilities on one hub.",
    no_args_is_help=True,
    add_completion=False,
)
devices_app = typer.Typer(help="The device contract: topics and payload schemas.", no_args_is_help=True)
app.add_typer(devices_app, name="devices")
app.add_typer(sim_app, name="sim", help="Simulate devices over MQTT: the sample building, or a fleet of N.")
app.add_typer(rooms_app, name="rooms")
app.add_typer(visitors_app)  # atrium rollcall
app.add_typer(tickets_app, name="tickets")
app.add_typer(energy_app, name="energy")
app.add_typer(cleaning_app, name="cleaning")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.command("backup")(backup_command)
app.command("restore")(restore_command)
app.command("kiosk")(kiosk_command)
devices_app.command("provision")(provision_command)
devices_app.command("revoke")(revoke_command)
app.command("certs")(certs_command)

console = Console(stderr=True)

BuildingOption = Annotated[
    Path | None, typer.Option("--building", help="Building file (TOML); default: the sample building")
]
DatabaseOption = Annotated[
    str | None, typer.Option("--database-url", help="SQLAlchemy URL; default sqlite:///var/atrium.db")
]
MqttOption = Annotated[
    str | None,
    typer.Option("--mqtt-url", help="Broker URL mqtt[s]://user:pass@host:port; default: embedded broker"),
]


def settings_with(**overrides: Any) -> Settings:
    """Settings from the environment, with the options given on the command line taking precedence."""
    given = {name: value for name, value in overrides.items() if value is not None}
    return Settings(**given)


def setup_logging(level: str) -> None:
    """Log through one handler that masks secrets (see hub.log_redaction); uvicorn's loggers use it too."""
    handler = RichHandler(console=console, show_path=False, rich_tracebacks=False)
    handler.addFilter(RedactSecrets())
    logging.basicConfig(level=level.upper(), format="%(name)s: %(message)s", handlers=[handler])


def fail(error: Exception) -> typer.Exit:
    """Print one clear sentence and give the exit code for bad configuration."""
    console.print(f"[bold red]atrium:[/] {error}", soft_wrap=True)  # a path or URL in it stays whole
    return typer.Exit(code=2)


@app.command()
def hub(
    building: BuildingOption = None,
    database_url: DatabaseOption = None,
    mqtt_url: MqttOption = None,
    host: Annotated[str | None, typer.Option(help="API address")] = None,
    port: Annotated[int | None, typer.Option(help="API port")] = None,
    api: Annotated[bool, typer.Option(help="Serve the HTTP API too")] = True,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Worker processes sharing the ingest (PostgreSQL and an MQTT v5 broker)"),
    ] = None,
) -> None:
    """Run the hub: ingest every device's messages into the database and serve the API."""
    from hub.runtime import Hub

    settings = settings_with(
        building=building, database_url=database_url, mqtt_url=mqtt_url, api_host=host, api_port=port, workers=workers
    )
    setup_logging(settings.log_level)
    if settings.workers > 1:
        _run_workers(settings, api=api)
        return
    try:
        running = Hub(settings)
        running.start()
    except ConfigError as error:
        raise fail(error) from None
    try:
        if api:
            _serve_api(settings, running, duration=None)
        else:
            _wait_for_signal()
    finally:
        running.stop()


def _run_workers(settings: Settings, *, api: bool) -> None:
    """``--workers N``: N hub processes in one shared group; worker 0 serves the API; Ctrl-C stops them all."""
    from hub.workers import DEFAULT_GROUP, WorkerSupervisor, check_workers

    try:
        check_workers(settings)
        supervisor = WorkerSupervisor(
            settings, count=settings.workers, api=api, group=settings.shared_group or DEFAULT_GROUP
        )
        supervisor.start()
    except ConfigError as error:
        raise fail(error) from None
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: supervisor.stop())
    try:
        supervisor.watch()
    finally:
        supervisor.stop()


@app.command()
def demo(
    duration: Annotated[float | None, typer.Option(help="Stop by itself after this many seconds")] = None,
    building: BuildingOption = None,
    database_url: DatabaseOption = None,
    port: Annotated[int | None, typer.Option(help="API port")] = None,
    interval: Annotated[float, typer.Option(help="Seconds between a device's readings")] = 5.0,
) -> None:
    """Run everything on this machine: embedded broker, hub, API and the simulated building."""
    from rich.panel import Panel

    from hub.runtime import Hub

    settings = settings_with(building=building, database_url=database_url, api_port=port)
    setup_logging(settings.log_level)
    try:
        running = Hub(settings)
        running.start()
    except ConfigError as error:
        raise fail(error) from None
    assert running.endpoint is not None and running.database is not None
    from datetime import UTC, datetime

    from hub.services.demo_access import demo_access
    from hub.services.demo_seed import DEMO_ROOMS, seed_today

    with running.database.sessions.begin() as session:
        seeded = seed_today(session, now=datetime.now(UTC))
        access = demo_access(session, panel_room=DEMO_ROOMS[0], now=datetime.now(UTC))
    write_secret_file(DEMO_KIOSK_KEY_FILE, access.kiosk_key)
    fleet = _start_fleet(running, interval)
    api_url = f"http://{settings.api_host}:{settings.api_port}"
    console.print(
        Panel.fit(
            f"[bold]Atrium demo[/] for site [cyan]{running.building.site.name}[/]\n"
            f"broker    {running.endpoint.url} ({'embedded' if running.broker else 'external'})\n"
            f"database  {running.database.engine.url.render_as_string() if running.database else '?'}\n"
            f"API       {api_url}  (docs: {api_url}/docs)\n"
            f"devices   {running.building.device_count()} simulated, reporting every {interval:g}s\n"
            f"bookings  {seeded} seeded for today\n"
            f"sign in   {access.admin_username} / {access.admin_password or '(the password set before)'}"
            f"  at {api_url}/docs or {api_url}/facilities\n"
            f"kiosk     key in {DEMO_KIOSK_KEY_FILE} (atrium kiosk reads it)\n"
            f"panel     {api_url}/panel/{DEMO_ROOMS[0]}?token={access.panel_key}\n"
            "          (others: atrium rooms panel-url ROOM)\n"
            + (f"stops after {duration:g}s" if duration else "Ctrl-C stops everything"),
            title="running",
        )
    )
    try:
        _serve_api(settings, running, duration=duration)
    finally:
        fleet.stop()
        running.stop()
        _print_summary(running)


def _start_fleet(running: "Any", interval: float) -> Any:
    from firmware_sim.fleet import Fleet, FleetThread, seq_start_from_clock

    fleet = Fleet(running.building, running.endpoint, interval_s=interval, seq_start=seq_start_from_clock())
    thread = FleetThread(fleet)
    thread.start()
    return thread


def _print_summary(running: Any) -> None:
    from hub.runtime import Database
    from hub.store.registry import ingest_totals

    database = Database.open(running.settings.database_url)
    try:
        with database.sessions() as session:
            totals = ingest_totals(session)
        console.print(
            f"stored {totals['stored']} messages, {totals['rejected']} rejected, {totals['duplicates']} duplicates"
        )
    finally:
        database.close()


def _serve_api(settings: Settings, running: Any, *, duration: float | None) -> None:
    import uvicorn

    from hub.api.app import create_app

    config = uvicorn.Config(
        create_app(settings, hub=running),
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
        log_config=None,  # uvicorn's records go through setup_logging's handler, which masks secrets
        lifespan="on",
    )
    server = uvicorn.Server(config)
    if duration is not None:
        timer = threading.Timer(duration, lambda: setattr(server, "should_exit", True))
        timer.daemon = True
        timer.start()
    server.run()
    if not server.started:
        raise fail(ConfigError(f"the API could not listen on {settings.api_host}:{settings.api_port}"))


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


@devices_app.command("schema")
def devices_schema(
    out: Annotated[Path, typer.Option(help="Folder to write <channel>.schema.json files into")] = Path("schema"),
) -> None:
    """Write the JSON Schema of every device payload, for firmware authors."""
    from devices.schema import write_schemas

    for path in write_schemas(out):
        typer.echo(path)
