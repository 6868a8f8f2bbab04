"""Engine set-up for SQLite (WAL) or PostgreSQL, and migrations applied on start."""

import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from hub.errors import ConfigError

MIGRATIONS = Path(__file__).with_name("migrations")


def create_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL, a busy timeout and enforced foreign keys."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigError(f"database URL {url!r} is not a valid SQLAlchemy URL") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return sa.create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # pysqlite would BEGIN only before the first write, leaving earlier reads outside the
    # transaction and breaking SAVEPOINTs; SQLAlchemy's documented fix: take control of BEGIN.
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: sa.Connection) -> None:
    # IMMEDIATE: a transaction takes the write lock when it starts (waiting up to the busy timeout),
    # so one that read first cannot fail at its first write because another writer came between.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def dialect_insert(session: Session) -> type[sqlite.Insert] | type[postgresql.Insert]:
    """INSERT with ON CONFLICT for the session's database (both dialects spell it alike)."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return sqlite.Insert
    if dialect == "postgresql":
        return postgresql.Insert
    raise NotImplementedError(f"Atrium stores into SQLite or PostgreSQL, not {dialect}")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


MIGRATION_LOCK = 0x41545249554D  # "ATRIUM": the advisory lock key migrations hold on PostgreSQL


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration; raises ConfigError when the database is unreachable."""
    logging.getLogger("alembic").setLevel(logging.WARNING)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Hubs starting together take turns: the first migrates, the others then find nothing to do.
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except sa.exc.OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise ConfigError(f"cannot reach the database at {engine.url!r}: {reason}") from None
