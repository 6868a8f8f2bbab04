"""Which hub worker leads: the one that runs timers and scheduled jobs and publishes the outbox.

On PostgreSQL the leader holds a session-level advisory lock on a dedicated connection. When its
process dies the connection drops, PostgreSQL releases the lock, and a follower's next try (every
``check_every_s``) takes it: no lease to expire, no clock to trust. On SQLite the same idea uses an
OS file lock beside the database file (released by the kernel when the process dies): one hub is
the leader; a second hub on the same file stays a follower until the first one goes.
"""

import contextlib
import fcntl
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

LOCK_NAMESPACE = 0x41545249
"""First half of the advisory lock key ("ATRI"): keeps Atrium's locks apart from other applications'."""
SCHEDULER_LOCK = 1
"""Second half: the lock whose holder runs the hub's jobs."""
CHECK_EVERY_S = 1.0
"""How often a follower tries to take the lead, and a leader checks it still holds it."""


class Leadership(Protocol):
    """What the scheduler and the outbox relay ask: do we lead now?"""

    def is_leader(self) -> bool: ...

    def fence(self, session: Session) -> bool:
        """Inside a job's transaction: whether this worker still holds the lead (False: skip the job)."""
        ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


class _Elector:
    """A thread that tries for the lead until it has it, then checks it still does."""

    def __init__(self, *, name: str, check_every_s: float, on_change: Callable[[bool], None] | None) -> None:
        self.name = name
        self.check_every_s = check_every_s
        self.on_change = on_change
        self._leading = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def is_leader(self) -> bool:
        return self._leading

    def start(self) -> None:
        """Try once now (so a lone hub leads from its first moment), then keep trying on a thread."""
        self._turn()
        self._thread = threading.Thread(target=self._loop, name="leader-election", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Give the lead up now, so a follower takes over at its next try rather than on a timeout."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        self._set(False, self._release)
        self._release()

    def _loop(self) -> None:
        while not self._stop.wait(self.check_every_s):
            self._turn()

    def _turn(self) -> None:
        try:
            leading = self._still_holds() if self._leading else self._try_acquire()
        except Exception as error:  # a lost connection means: not leading; try again next turn
            log.warning("%s: leader check failed (%s); not leading", self.name, str(error).strip().splitlines()[0])
            self._forget()
            leading = False
        self._set(leading, self._forget)

    def _set(self, leading: bool, let_go: Callable[[], None]) -> None:
        if leading == self._leading:
            return
        self._leading = leading
        if not leading:
            let_go()
        log.info("%s %s", self.name, "leads: runs the jobs and publishes the outbox" if leading else "follows")
        if self.on_change is not None:
            self.on_change(leading)

    def _try_acquire(self) -> bool:
        raise NotImplementedError

    def _still_holds(self) -> bool:
        raise NotImplementedError

    def _release(self) -> None:
        """Let go of the lead deliberately."""

    def _forget(self) -> None:
        """Drop whatever connection or handle is left after a failure."""


class PostgresLeader(_Elector):
    """Leadership by ``pg_try_advisory_lock`` on a connection of its own, held while leading."""

    def __init__(
        self,
        url: URL,
        *,
        name: str,
        check_every_s: float = CHECK_EVERY_S,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        super().__init__(name=name, check_every_s=check_every_s, on_change=on_change)
        # Its own engine without a pool: the lock lives and dies with exactly this one connection.
        self._engine: Engine = sa.create_engine(
            url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args={
                "connect_timeout": 5,
                "keepalives_idle": 5,
                "keepalives_interval": 2,
                "keepalives_count": 3,
                "application_name": name[:63],  # so current_leader() can name who leads
            },
        )
        self._connection: Connection | None = None
        self._backend_pid: int | None = None

    def fence(self, session: Session) -> bool:
        """Whether the lock is still granted to our lock connection, seen from the job's own transaction."""
        pid = self._backend_pid
        if not self._leading or pid is None:
            return False
        held = session.scalar(
            sa.text(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND pid = :pid AND classid = :namespace AND objid = :lock AND objsubid = 2)"
            ),
            {"pid": pid, "namespace": LOCK_NAMESPACE, "lock": SCHEDULER_LOCK},
        )
        return bool(held)

    def _try_acquire(self) -> bool:
        if self._connection is None:
            self._connection = self._engine.connect()
            self._backend_pid = self._connection.scalar(sa.text("SELECT pg_backend_pid()"))
        took = self._connection.scalar(
            sa.text("SELECT pg_try_advisory_lock(:namespace, :lock)"),
            {"namespace": LOCK_NAMESPACE, "lock": SCHEDULER_LOCK},
        )
        return bool(took)

    def _still_holds(self) -> bool:
        assert self._connection is not None
        self._connection.scalar(sa.text("SELECT 1"))  # raises when the connection (and so the lock) is gone
        return True

    def _release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(sa.exc.SQLAlchemyError):  # closing the connection releases it anyway
                self._connection.scalar(
                    sa.text("SELECT pg_advisory_unlock(:namespace, :lock)"),
                    {"namespace": LOCK_NAMESPACE, "lock": SCHEDULER_LOCK},
                )
        self._forget()

    def _forget(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                self._connection.close()
        self._connection = None
        self._backend_pid = None

    def stop(self) -> None:
        super().stop()
        self._engine.dispose()


class FileLockLeader(_Elector):
    """Leadership by an exclusive ``flock`` on ``<database>.leader`` (SQLite), or always (in memory)."""

    def __init__(
        self,
        path: Path | None,
        *,
        name: str,
        check_every_s: float = CHECK_EVERY_S,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        super().__init__(name=name, check_every_s=check_every_s, on_change=on_change)
        self.path = path
        self._file: IO[bytes] | None = None

    def fence(self, session: Session) -> bool:
        return self._leading

    def _try_acquire(self) -> bool:
        if self.path is None:
            return True
        handle = self.path.open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def _still_holds(self) -> bool:
        return True  # the kernel holds a flock until this process closes the file or dies

    def _release(self) -> None:
        self._forget()

    def _forget(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the only descriptor releases the flock
        self._file = None


def current_leader(session: Session) -> str | None:
    """PostgreSQL: the name (MQTT client id) of the worker that leads now, or None when none does."""
    name: str | None = session.scalar(
        sa.text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :namespace AND l.objid = :lock"
            " AND l.objsubid = 2"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"namespace": LOCK_NAMESPACE, "lock": SCHEDULER_LOCK},
    )
    return name


def elect_leader(
    engine: Engine,
    *,
    name: str,
    check_every_s: float = CHECK_EVERY_S,
    on_change: Callable[[bool], None] | None = None,
) -> Leadership:
    """The election for the hub's database: advisory lock on PostgreSQL, file lock on SQLite."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        return PostgresLeader(url, name=name, check_every_s=check_every_s, on_change=on_change)
    database = url.database
    path = Path(f"{database}.leader") if database and database != ":memory:" else None
    return FileLockLeader(path, name=name, check_every_s=check_every_s, on_change=on_change)
