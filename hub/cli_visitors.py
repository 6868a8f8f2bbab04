"""``atrium rollcall``: everyone on site now, printable, from the database the settings name."""

import json
from dataclasses import asdict
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer

visitors_app = typer.Typer(help="Visitors on site.")


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"


@visitors_app.command("rollcall")
def rollcall_command(
    output: Annotated[Format, typer.Option("--format", help="text to print, json for scripts")] = Format.TEXT,
    database_url: Annotated[str | None, typer.Option("--database-url", help="SQLAlchemy URL")] = None,
) -> None:
    """Everyone on site now: visitors checked in, and rooms where sensors count people."""
    from hub.cli import settings_with
    from hub.cli_session import database_session
    from hub.services import rollcall

    settings = settings_with(database_url=database_url)
    with database_session(database_url) as session:
        call = rollcall.roll_call(
            session, now=datetime.now(UTC), stale_after=rollcall.stale_after(settings), actor="cli"
        )
    if output is Format.JSON:
        typer.echo(json.dumps(asdict(call), default=lambda value: value.isoformat(), indent=2))
    else:
        typer.echo(rollcall.as_text(call), nl=False)
