"""Occupancy rules for bookings: check in, release, extend and end meetings from what sensors see.

Pure decisions: given one live booking, what the room's occupancy sensors last said and ``now``,
:func:`decide` returns the one thing to do (or nothing). Sensor data older than ``stale_after`` is
ignored, so a dead sensor never releases or ends a meeting; a room without an occupancy sensor is
released only for want of a check-in.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import Field

from devices.base import AtriumModel
from devices.site import RoomRules
from hub.settings import Settings


class OccupancyRules(AtriumModel):
    """Per-room rules; the defaults suit most meeting rooms."""

    auto_check_in: bool = True
    release_after: timedelta = Field(default=timedelta(minutes=10), description="No check-in by start + this")
    auto_extend_by: timedelta | None = Field(default=timedelta(minutes=15), description="None: never extend")
    end_when_empty_for: timedelta | None = Field(default=timedelta(minutes=10), description="None: never end early")
    stale_after: timedelta = Field(default=timedelta(minutes=5), description="Older sensor data is ignored")

    @classmethod
    def from_settings(cls, settings: Settings) -> "OccupancyRules":
        """The site's defaults, from ``ATRIUM_OCCUPANCY_*``."""
        return cls(
            release_after=timedelta(seconds=settings.occupancy_release_after_s),
            auto_extend_by=timedelta(minutes=settings.occupancy_extend_by_min) or None,
            end_when_empty_for=timedelta(seconds=settings.occupancy_end_empty_after_s) or None,
            stale_after=timedelta(seconds=settings.occupancy_stale_after_s),
        )

    def for_room(self, own: RoomRules | None) -> "OccupancyRules":
        """These rules with a room's own settings from the building file applied."""
        if own is None:
            return self
        changes: dict[str, object] = {}
        if own.auto_check_in is not None:
            changes["auto_check_in"] = own.auto_check_in
        if own.release_after_min is not None:
            changes["release_after"] = timedelta(minutes=own.release_after_min)
        if own.extend_by_min is not None:
            changes["auto_extend_by"] = timedelta(minutes=own.extend_by_min) or None
        if own.end_empty_after_min is not None:
            changes["end_when_empty_for"] = timedelta(minutes=own.end_empty_after_min) or None
        return self.model_copy(update=changes)


class Action(StrEnum):
    """What the rules ask the bookings service to do."""

    CHECK_IN = "check_in"
    RELEASE = "release"
    EXTEND = "extend"
    END = "end"


@dataclass(frozen=True, slots=True)
class LiveBooking:
    """The facts of a booking the rules look at."""

    start: datetime
    end: datetime
    checked_in: bool


@dataclass(frozen=True, slots=True)
class Occupancy:
    """What the room's occupancy sensors last said."""

    observed_at: datetime
    people: int
    empty_since: datetime | None
    """Since when every reading said nobody is there (None while somebody is)."""


def decide(
    booking: LiveBooking,
    occupancy: Occupancy | None,
    *,
    rules: OccupancyRules,
    now: datetime,
    free_after: bool,
) -> Action | None:
    """The one action for ``booking`` at ``now``; ``free_after`` says whether the room is free past its end."""
    fresh = occupancy if occupancy and now - occupancy.observed_at <= rules.stale_after else None
    somebody_there = fresh is not None and fresh.people > 0
    if not booking.checked_in:
        if now < booking.start or now >= booking.end:
            return None
        if rules.auto_check_in and somebody_there:
            return Action.CHECK_IN
        nobody_seen = occupancy is None or (fresh is not None and not somebody_there)
        if now >= booking.start + rules.release_after and nobody_seen:
            return Action.RELEASE
        return None
    if now >= booking.end:
        return None
    if rules.end_when_empty_for is not None and fresh is not None and fresh.empty_since is not None:
        empty_from = max(fresh.empty_since, booking.start)
        if now - empty_from >= rules.end_when_empty_for:
            return Action.END
    if rules.auto_extend_by is not None and somebody_there and free_after and booking.end - now <= timedelta(minutes=1):
        return Action.EXTEND
    return None
