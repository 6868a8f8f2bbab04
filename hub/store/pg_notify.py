"""Wake a relay when another process commits work for it: PostgreSQL's LISTEN/NOTIFY.

Several hub workers share one database, but only the leader relays the outbox. A commit on a follower
(an API booking, a reaction) used to wait for the leader's next poll, up to a second; the committing
session now sends ``NOTIFY`` (delivered only if it commits) and the leader's listener wakes its relay at
once. The poll stays as the backstop: a lost notification costs at most one poll interval.
"""

import logging
import threading
from collections.abc import Callable

import psycopg
import sqlalchemy as sa
from psycopg import sql

log = logging.getLogger(__name__)

RETRY_S = 1.0
WAIT_S = 0.5
"""How long one wait for notifications lasts before the thread looks whether it should stop."""


def libpq_url(url: sa.URL) -> str:
    """The SQLAlchemy URL as psycopg takes it (no ``+psycopg`` driver part)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class NotifyListener:
    """Calls ``on_notify`` for each notification on ``channel``, reconnecting after errors, until stopped."""

    def __init__(self, url: sa.URL, channel: str, on_notify: Callable[[], None]) -> None:
        self._url = libpq_url(url)
        self._channel = channel
        self._on_notify = on_notify
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"listen-{channel}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def wait_listening(self, timeout: float) -> bool:
        """True once the LISTEN is in place (notifications sent before that are not seen)."""
        return self._listening.wait(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True) as connection:
                    connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                    self._listening.set()
                    while not self._stop.is_set():
                        for _ in connection.notifies(timeout=WAIT_S):
                            self._on_notify()
            except psycopg.Error as error:
                self._listening.clear()
                log.warning("cannot listen for %s (%s); trying again", self._channel, str(error).splitlines()[0])
                self._stop.wait(RETRY_S)
