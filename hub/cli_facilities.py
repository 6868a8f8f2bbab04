"""``atrium cleaning``: the cleaning list per floor, and marking rooms cleaned."""

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.errors import AtriumError

cleaning_app = typer.Typer(help="Cleaning: which rooms need it, and marking them cleaned.", no_args_is_help=True)

DatabaseOption = Annotated[str | None, typer.Option("--database-url", help="SQLAlchemy URL")]


@cleaning_app.command("list")
def cleaning_list(
    floor: Annotated[str | None, typer.Option("--floor", help="Only this floor's rooms (its id)")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Also rooms that do not need cleaning yet")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Rooms per floor, most in need of cleaning first."""
    from hub.cli import fail, settings_with
    from hub.runtime import Database
    from hub.services.cleaning import CleaningRules, cleaning_needs

    settings = settings_with(database_url=database_url)
    try:
        database = Database.open(settings.database_url)
        try:
            with database.sessions.begin() as session:
                needs = cleaning_needs(
                    session, now=datetime.now(UTC), rules=CleaningRules.from_settings(settings), floor_id=floor
                )
        finally:
            database.close()
    except AtriumError as error:
        raise fail(error) from None
    shown = [need for need in needs if show_all or need.due]
    console = Console()
    if not shown:
        console.print("no room needs cleaning" + (f" on floor {floor!r}" if floor else ""))
        return
    table = Table("floor", "room", "meetings", "occupied min", "need", "since", title="Cleaning list")
    for need in shown:
        table.add_row(
            need.floor_name,
            f"{need.room_name} ({need.room_id})",
            str(need.meetings),
            f"{need.occupied_minutes:.0f}",
            f"{need.need:.0%}" + (" [bold red]due[/]" if need.due else ""),
            need.since.isoformat(timespec="minutes"),
        )
    console.print(table)


@cleaning_app.command("done")
def cleaning_done(
    room: Annotated[str, typer.Argument(help="Room id, as in the building file")],
    by: Annotated[str, typer.Option("--by", help="Who cleaned it")] = "cleaning staff (cli)",
    database_url: DatabaseOption = None,
) -> None:
    """Mark a room cleaned: its count starts again and its door display stops asking."""
    from hub.cli import fail, settings_with
    from hub.runtime import Database
    from hub.services.cleaning import CleaningRules, mark_cleaned

    settings = settings_with(database_url=database_url)
    try:
        database = Database.open(settings.database_url)
        try:
            with database.sessions.begin() as session:
                mark_cleaned(
                    session,
                    room_id=room,
                    by=by[:120],
                    now=datetime.now(UTC),
                    rules=CleaningRules.from_settings(settings),
                )
        finally:
            database.close()
    except AtriumError as error:
        raise fail(error) from None
    typer.echo(f"{room} marked cleaned by {by[:120]}")
