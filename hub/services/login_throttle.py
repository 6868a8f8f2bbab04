"""Sign-in throttling: after a few failed passwords, a username (and the address trying it) waits.

Kept in memory per process: it slows a guesser by orders of magnitude, which is its job; several
workers each keep their own count, so the limit is per worker. A success clears the name's count.
"""

import threading
import time
from collections import deque
from collections.abc import Callable

from hub.errors import TooManyAttempts


class LoginThrottle:
    def __init__(
        self, *, max_failures: int = 5, window_s: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures

    def check(self, *keys: str) -> None:
        """Refuse (429) while any of ``keys`` (a username, an address) has too many recent failures."""
        now = self._clock()
        with self._lock:
            for key in keys:
                failures = self._recent(key, now)
                if len(failures) >= self.max_failures:
                    wait = int(failures[0] + self.window_s - now) + 1
                    raise TooManyAttempts(f"too many failed sign-ins; try again in {wait} s", retry_after_s=wait)

    def failed(self, *keys: str) -> None:
        now = self._clock()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
