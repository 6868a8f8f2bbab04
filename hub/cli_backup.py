"""``atrium backup`` and ``atrium restore``: one file holding everything the hub knows."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hub.backup import BackupError, backup, restore
from hub.settings import Settings

console = Console(stderr=True)

DatabaseOption = Annotated[
    str | None, typer.Option("--database-url", help="SQLAlchemy URL; default: ATRIUM_DATABASE_URL or the SQLite file")
]


def backup_command(
    path: Annotated[
        Path | None, typer.Argument(help="Backup file to write; default var/backups/atrium-<time>.<db|dump>")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Copy the database to one file, consistently, while the hub keeps running."""
    url = database_url or Settings().database_url
    if path is None:
        suffix = "db" if url.startswith("sqlite") else "dump"
        path = Path("var/backups") / f"atrium-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.{suffix}"
    try:
        with console.status(f"backing up to {path}"):
            result = backup(url, path)
    except BackupError as error:
        console.print(f"[bold red]atrium:[/] {error}")
        raise typer.Exit(code=1) from None
    console.print(f"backed up the {result.backend} database to {result.path} ({result.size_bytes:,} bytes)")


def restore_command(
    path: Annotated[Path, typer.Argument(help="A file written by atrium backup")],
    database_url: DatabaseOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Replace everything in the database with a backup. Stop the hub first."""
    url = database_url or Settings().database_url
    if not yes:
        typer.confirm(f"Replace everything in the database with {path}? The hub must be stopped.", abort=True)
    try:
        with console.status(f"restoring {path}"):
            result = restore(url, path)
    except BackupError as error:
        console.print(f"[bold red]atrium:[/] {error}")
        raise typer.Exit(code=1) from None
    console.print(f"restored the {result.backend} database from {result.path}")
