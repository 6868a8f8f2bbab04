"""``atrium rooms``: meeting-room reports for facilities managers."""

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.services.utilisation import Hours, Utilisation

rooms_app = typer.Typer(help="Meeting rooms: how they are used.", no_args_is_help=True)


@rooms_app.command("report")
def report(
    first_day: Annotated[
        datetime | None,
        typer.Option(
            "--from", help="First day (default: 6 days before --to)", formats=["%Y-%m-%d"], metavar="YYYY-MM-DD"
        ),
    ] = None,
    last_day: Annotated[
        datetime | None,
        typer.Option(
            "--to",
            help="Last day, included (default: today in the site's zone)",
            formats=["%Y-%m-%d"],
            metavar="YYYY-MM-DD",
        ),
    ] = None,
    floor: Annotated[str | None, typer.Option("--floor", help="Only this floor's rooms (its id)")] = None,
    daily: Annotated[bool, typer.Option("--daily", help="Also show each floor day by day")] = False,
    database_url: Annotated[str | None, typer.Option("--database-url", help="SQLAlchemy URL")] = None,
) -> None:
    """Hours booked, released (no-shows) and occupied per meeting room and floor, by the site's days."""
    from hub.cli_session import database_session
    from hub.services.bookings import site_zone
    from hub.services.utilisation import utilisation

    with database_session(database_url) as session:
        last = last_day.date() if last_day else datetime.now(UTC).astimezone(site_zone(session)).date()
        first = first_day.date() if first_day else last - timedelta(days=6)
        result = utilisation(session, first_day=first, last_day=last, floor_id=floor)
    console = Console()
    if not result.rooms:
        console.print(f"no meeting rooms{f' on floor {floor!r}' if floor else ''}")
        raise typer.Exit(code=1)
    console.print(rooms_table(result))
    console.print(floors_table(result))
    if daily:
        console.print(days_table(result))


@rooms_app.command("panel-url")
def panel_url(
    room: Annotated[str, typer.Argument(help="Room id, as in the building file")],
    host: Annotated[str | None, typer.Option(help="The hub's address as the tablet reaches it")] = None,
) -> None:
    """Make a panel key for a room and print its wall panel's URL with it (revoke it with 'atrium keys revoke')."""
    from datetime import UTC, datetime

    from hub.cli import settings_with
    from hub.cli_session import database_session
    from hub.services.api_keys import issue_key
    from hub.store.auth_models import KeyKind

    settings = settings_with()
    with database_session(None) as session:
        key, text = issue_key(
            session, kind=KeyKind.PANEL, name=f"panel {room}", room_id=room, actor="cli", now=datetime.now(UTC)
        )
        key_id = key.id
    base = host or f"http://{settings.api_host}:{settings.api_port}"
    typer.echo(f"{base}/panel/{room}?token={text}")
    typer.echo(f"(panel key {key_id}; 'atrium keys revoke {key_id}' cuts this panel off)", err=True)


def _title(report: Utilisation, what: str) -> str:
    return f"{what}, {report.first_day:%a %d %b %Y} to {report.last_day:%a %d %b %Y} ({report.timezone})"


def _hours_columns(table: Table) -> None:
    for name in ("booked h", "released h", "occupied h", "occupied / booked"):
        table.add_column(name, justify="right")


def _hours_cells(hours: Hours) -> list[str]:
    ratio = f"{hours.occupied / hours.booked:.0%}" if hours.booked else "-"
    return [f"{hours.booked:.1f}", f"{hours.released:.1f}", f"{hours.occupied:.1f}", ratio]


def rooms_table(report: Utilisation) -> Table:
    """One row per meeting room, totals over the report's days."""
    table = Table(title=_title(report, "Meeting rooms"))
    table.add_column("floor")
    table.add_column("room")
    table.add_column("seats", justify="right")
    _hours_columns(table)
    for room in report.rooms:
        table.add_row(room.floor_id, room.room_name, str(room.capacity), *_hours_cells(room.total))
    return table


def floors_table(report: Utilisation) -> Table:
    """One row per floor, its meeting rooms together."""
    table = Table(title=_title(report, "Floors"))
    table.add_column("floor")
    _hours_columns(table)
    for floor in report.floors:
        table.add_row(floor.floor_name, *_hours_cells(floor.total))
    return table


def days_table(report: Utilisation) -> Table:
    """One row per floor and day."""
    table = Table(title=_title(report, "Floors by day"))
    table.add_column("floor")
    table.add_column("day")
    _hours_columns(table)
    for floor in report.floors:
        for day in report.days:
            table.add_row(floor.floor_name, f"{day:%a %d %b}", *_hours_cells(floor.by_day[day]))
    return table
