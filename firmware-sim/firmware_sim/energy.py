"""Energy meters: a room's power follows its people (base load, per person, screens), kWh add up."""

from datetime import datetime
from functools import cached_property

from devices.kinds import DeviceKind
from firmware_sim.device import Device, Reading
from firmware_sim.room import Share

STANDBY_W = 30.0
STANDBY_PER_SEAT_W = 2.0
LIGHTS_PER_SEAT_W = 8.0
PER_PERSON_W = 60.0
"""A laptop and a phone charger."""
SCREEN_W = 150.0
PROJECTOR_W = 280.0
HVAC_W = 1500.0
SERVER_RACK_W = 2500.0
KITCHEN_W = 1200.0
"""Coffee machine and kettle at the busiest moment of the day."""
IMPOSSIBLE_POWER_W = -1500.0


class EnergyMeter(Device):
    """A sub-meter on a room's circuits; a room with several meters splits its load between them."""

    kind = DeviceKind.ENERGY
    default_interval_s = 60.0

    _energy_kwh: float | None = None
    _power_w = 0.0

    @cached_property
    def circuit(self) -> Share:
        """Which of the room's meters this is."""
        return self.room.share(self.id, self.kind)

    def room_power(self, at: datetime) -> float:
        """What the whole room draws at a simulated instant, before meter noise."""
        room = self.room
        people = room.people(at)
        seats = room.capacity
        power = STANDBY_W + STANDBY_PER_SEAT_W * seats
        if people:
            power += LIGHTS_PER_SEAT_W * max(seats, 5) + PER_PERSON_W * people
            if room.has("screen", "video"):
                power += SCREEN_W
            if room.has("projector"):
                power += PROJECTOR_W
        if room.has("hvac") and room.services_on(at):
            power += HVAC_W
        if room.has("ups", "server"):
            power += SERVER_RACK_W
        if room.has("coffee", "kettle"):
            power += KITCHEN_W * room.activity(at)
        if room.has("fridge", "dishwasher"):
            power += 120.0
        return power

    def measure(self, at: datetime, elapsed_s: float) -> Reading:
        if self._energy_kwh is None:
            self._energy_kwh = round(self.rng.uniform(50.0, 5000.0), 1)
        share = self.circuit.count
        power = self.room_power(at) / share * (1 + self.rng.gauss(0, 0.02))
        # Trapezoid between the last reading and this one.
        self._energy_kwh += (self._power_w + power) / 2 * elapsed_s / 3_600_000
        self._power_w = power
        return {"energy_kwh": round(self._energy_kwh, 4), "power_w": round(power, 1)}

    def _impossible(self) -> Reading:
        return {"power_w": IMPOSSIBLE_POWER_W}
