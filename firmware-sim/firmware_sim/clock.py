"""Simulated time: a clock that can run faster than real time, and the office's working-day curve.

Report intervals stay in real seconds (they set the message rate); the simulated clock only decides
what the world looks like when a reading is taken, so a demo can run a whole day in minutes.
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise

WORKDAY_CURVE: tuple[tuple[float, float], ...] = (
    (0.0, 0.0),
    (7.0, 0.0),
    (8.0, 0.15),
    (9.0, 0.55),
    (10.5, 0.9),
    (11.5, 0.75),
    (12.5, 0.4),
    (13.5, 0.5),
    (15.0, 0.85),
    (16.0, 0.7),
    (17.0, 0.4),
    (18.0, 0.15),
    (19.0, 0.0),
    (24.0, 0.0),
)
"""(local hour, share of people in) on a weekday: peaks mid-morning and mid-afternoon, a lunch dip."""

WORKING_HOURS = (7.0, 19.0)
"""When the building's services (HVAC, lights) run on a weekday, in local hours."""


def office_activity(local: datetime) -> float:
    """How busy the office is at a local time, 0..1: nobody at night or at weekends."""
    if local.weekday() >= 5:
        return 0.0
    hour = local.hour + local.minute / 60 + local.second / 3600
    for (h0, v0), (h1, v1) in pairwise(WORKDAY_CURVE):
        if h0 <= hour < h1:
            return v0 + (v1 - v0) * (hour - h0) / (h1 - h0)
    return 0.0


def in_working_hours(local: datetime) -> bool:
    """Whether the building's services run at a local time (weekdays, 07:00-19:00)."""
    hour = local.hour + local.minute / 60
    return local.weekday() < 5 and WORKING_HOURS[0] <= hour < WORKING_HOURS[1]


class SimClock:
    """Maps the monotonic clock to simulated wall time: ``start`` plus elapsed time times ``time_scale``.

    It is anchored on first use (or by :meth:`anchor`), so every device of a fleet shares one origin
    and readings taken at the same scheduled instant agree.
    """

    def __init__(
        self,
        *,
        start: datetime | None = None,
        time_scale: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be above zero")
        if start is not None and start.tzinfo is None:
            raise ValueError("the simulated start time needs a time zone")
        self._start = start
        self.time_scale = time_scale
        self._monotonic = monotonic
        self._origin: float | None = None

    def anchor(self, origin: float | None = None) -> None:
        """Fix the monotonic instant that maps to the start time (now, unless given)."""
        self._origin = self._monotonic() if origin is None else origin
        if self._start is None:
            self._start = datetime.now(UTC)

    @property
    def origin(self) -> float:
        """The monotonic instant the start time maps to."""
        if self._origin is None:
            self.anchor()
        assert self._origin is not None
        return self._origin

    @property
    def start(self) -> datetime:
        """The simulated time at the origin."""
        if self._start is None:
            self.anchor()
        assert self._start is not None
        return self._start

    def at(self, monotonic: float) -> datetime:
        """The simulated time at a monotonic instant (as ``loop.time()`` gives it)."""
        return self.start + timedelta(seconds=(monotonic - self.origin) * self.time_scale)

    def now(self) -> datetime:
        """The simulated time now."""
        return self.at(self._monotonic())

    def simulated_seconds(self, real_seconds: float) -> float:
        """How much simulated time passes in ``real_seconds``."""
        return real_seconds * self.time_scale
