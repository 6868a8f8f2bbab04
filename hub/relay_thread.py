"""A thread that works off what commits leave behind: woken right after a commit, and on a timer as a backstop.

The outbox relay (MQTT) and the webhook relay (HTTP) differ only in what one round does; this holds the rest.
"""

import logging
import threading

from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)


class RelayThread:
    """Runs :meth:`relay_round` whenever :meth:`wake` is called, or every ``poll_s``, until :meth:`stop`."""

    name = "relay"
    """The thread's name, and what the log calls it."""

    def __init__(self, *, poll_s: float = 1.0) -> None:
        self.poll_s = poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """Something to relay was committed: do it now rather than at the next poll."""
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def relay_round(self) -> None:
        """One round of work; database errors are logged and the round is tried again later."""
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_s)
            self._wake.clear()
            try:
                self.relay_round()
            except SQLAlchemyError as error:
                log.error("%s cannot read the database (%s); trying again", self.name, str(error).splitlines()[0])
