"""Backups of the hub's database: SQLite's online backup API, or pg_dump/pg_restore for PostgreSQL.

A backup is one file. SQLite's is itself a database (open it with sqlite3 to look inside); PostgreSQL's is
pg_dump's custom format. Both can be taken while the hub runs; restore wants the hub stopped, because it
replaces everything the hub holds.
"""

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from hub.errors import ConfigError


class BackupError(ConfigError):
    """A backup or restore that could not be done, with the reason in one sentence."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    size_bytes: int
    backend: str


def backup(database_url: str, destination: Path) -> BackupResult:
    """Write a consistent copy of the database to ``destination`` (replacing a file already there)."""
    url = sa.make_url(database_url)
    destination.parent.mkdir(parents=True, exist_ok=True)
    backend = url.get_backend_name()
    if backend == "sqlite":
        _sqlite_copy(_sqlite_path(url), destination)
    elif backend == "postgresql":
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={destination}", _libpq_url(url)], url)
    else:
        raise BackupError(f"backups of {backend} databases are not supported (SQLite and PostgreSQL are)")
    return BackupResult(destination, destination.stat().st_size, backend)


def restore(database_url: str, source: Path) -> BackupResult:
    """Replace the database's contents with the backup at ``source``. Stop the hub first."""
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    url = sa.make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        _check_sqlite_backup(source)
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(source, target)
    elif backend == "postgresql":
        _run(
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                f"--dbname={_libpq_url(url)}",
                str(source),
            ],
            url,
        )
    else:
        raise BackupError(f"restores into {backend} databases are not supported (SQLite and PostgreSQL are)")
    return BackupResult(source, source.stat().st_size, backend)


def _sqlite_path(url: sa.URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(url.database)


def _sqlite_copy(source: Path, destination: Path) -> None:
    """Page-by-page online copy: consistent even while the hub writes (WAL included)."""
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    with sqlite3.connect(source) as reader, sqlite3.connect(destination) as writer:
        reader.backup(writer)
    reader.close()
    writer.close()


def _check_sqlite_backup(source: Path) -> None:
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as connection:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        connection.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{source} is not an SQLite backup: {error}") from None
    if "alembic_version" not in tables:
        raise BackupError(f"{source} is an SQLite file but not an Atrium backup (no alembic_version table)")


def _libpq_url(url: sa.URL) -> str:
    """The URL as libpq tools want it: no driver suffix, and no password (that goes in the environment,
    where other users' ``ps`` cannot read it)."""
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed; install PostgreSQL's client tools (Debian: postgresql-client)")
    return found


def _run(command: list[str], url: sa.URL) -> None:
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    finished = subprocess.run(command, capture_output=True, text=True, check=False, env=environment)
    if finished.returncode != 0:
        reason = (finished.stderr or finished.stdout).strip().splitlines()
        raise BackupError(f"{Path(command[0]).name} failed: {reason[-1] if reason else finished.returncode}")
