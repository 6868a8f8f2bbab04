"""Occupancy sensors: people counters that follow the working day of their room."""

from datetime import datetime
from functools import cached_property

from devices.kinds import DeviceKind
from firmware_sim.device import Device, Reading
from firmware_sim.room import Share

IMPOSSIBLE_PEOPLE = 10_000
"""What a broken counter reports: the most the payload allows, whatever the room holds."""


class OccupancySensor(Device):
    """A ceiling people counter; in a room with several, each covers its own zone of the seats."""

    kind = DeviceKind.OCCUPANCY
    default_interval_s = 30.0

    @cached_property
    def zone(self) -> Share:
        """The part of the room this sensor sees."""
        return self.room.share(self.id, self.kind)

    def measure(self, at: datetime, elapsed_s: float) -> Reading:
        people = self.zone.of(self.room.people(at))
        return {"presence": people > 0, "people": people}

    def _impossible(self) -> Reading:
        return {"presence": True, "people": IMPOSSIBLE_PEOPLE}
