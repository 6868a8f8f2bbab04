"""Who is in a room over simulated time, shared by the room's sensors so their readings agree.

Occupancy is a pure function of the seed, the room and the time: the occupancy sensor, the CO2
sensor and the energy meter of one room all see the same meeting, and a rerun sees it again.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, tzinfo

from devices.kinds import DeviceKind
from devices.site import RoomSpec
from firmware_sim.clock import in_working_hours, office_activity

MEETING_SLOT_S = 30 * 60
"""Meeting rooms are booked in half-hour slots."""
DRIFT_SLOT_S = 5 * 60
"""People come and go a little every few minutes."""
BOOKING_RATE = 0.8
"""Share of meeting rooms in use at the busiest moment of the day."""


def unit_noise(*parts: object) -> float:
    """A deterministic number in [0, 1) for a key, so simulated events need no shared RNG state."""
    digest = hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True, slots=True)
class Share:
    """Which of a room's same-kind devices this is: a zone of the room, or one circuit of it."""

    index: int
    count: int

    def of(self, total: int) -> int:
        """This share of a whole count, so the shares of all devices add up to the total."""
        return total // self.count + (1 if self.index < total % self.count else 0)


class RoomActivity:
    """The simulated life of one room: people over time and what equipment it has."""

    def __init__(self, room: RoomSpec, *, timezone: tzinfo, seed: int = 0) -> None:
        self.room = room
        self.timezone = timezone
        self._seed = seed
        self._equipment = " ".join(room.equipment_names()).lower()

    @property
    def capacity(self) -> int:
        """How many people fit; readings never exceed it."""
        return self.room.capacity

    def local(self, at: datetime) -> datetime:
        """A simulated instant in the site's time zone."""
        return at.astimezone(self.timezone)

    def activity(self, at: datetime) -> float:
        """How busy the office is at this instant, 0..1."""
        return office_activity(self.local(at))

    def services_on(self, at: datetime) -> bool:
        """Whether the building's services (HVAC, lights on timers) run at this instant."""
        return in_working_hours(self.local(at))

    def has(self, *equipment: str) -> bool:
        """Whether the room lists any of these pieces of equipment."""
        return any(item in self._equipment for item in equipment)

    def share(self, device_id: str, kind: DeviceKind) -> Share:
        """Which of the room's devices of ``kind`` this one is."""
        ids = [device.id for device in self.room.devices if device.kind is kind]
        return Share(ids.index(device_id), len(ids)) if device_id in ids else Share(0, 1)

    def people(self, at: datetime) -> int:
        """How many people are in the room: zero at night and at weekends, never above capacity."""
        capacity = self.room.capacity
        level = self.activity(at)
        if capacity == 0 or level <= 0:
            return 0
        stamp = at.timestamp()
        slot = int(stamp // MEETING_SLOT_S)
        drift = round(unit_noise(self._seed, self.room.id, "drift", int(stamp // DRIFT_SLOT_S)) * 2) - 1
        if self.room.bookable:
            if unit_noise(self._seed, self.room.id, "booked", slot) >= level * BOOKING_RATE:
                return 0
            size = 0.3 + 0.7 * unit_noise(self._seed, self.room.id, "size", slot)
            return max(1, min(capacity, round(capacity * size) + drift))
        spread = 0.8 + 0.3 * unit_noise(self._seed, self.room.id, "spread", slot)
        return max(0, min(capacity, round(capacity * level * spread) + drift))
