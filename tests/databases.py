"""Real databases for tests: a SQLite file, or a throw-away database on the local PostgreSQL."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

POSTGRES_ADMIN_URL = os.environ.get("ATRIUM_TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test")
DATABASE_KINDS = [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]


@dataclass(frozen=True)
class ScratchDatabase:
    kind: str
    url: str


def _postgres_reachable() -> str | None:
    """None when the server answers, else why not."""
    try:
        engine = sa.create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as error:  # any failure to connect means: skip, and say why
        return str(error).splitlines()[0]
    return None


@contextmanager
def create_test_database(kind: str, tmp_path: Path) -> Iterator[ScratchDatabase]:
    if kind == "sqlite":
        yield ScratchDatabase("sqlite", f"sqlite:///{tmp_path / 'atrium.db'}")
        return
    problem = _postgres_reachable()
    if problem:
        pytest.skip(f"no PostgreSQL server at {POSTGRES_ADMIN_URL}: {problem}")
    name = f"atrium_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield ScratchDatabase("postgres", url)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
