"""Environment sensors: temperature and humidity that drift slowly, CO2 that follows people with a lag."""

import math
from datetime import datetime

from devices.kinds import DeviceKind
from firmware_sim.device import Device, Reading

OUTDOOR_CO2_PPM = 420.0
CO2_FULL_ROOM_PPM = 900.0
"""CO2 a room full to capacity adds above the outdoor level once the air has settled."""
CO2_LAG_S = 20 * 60
"""Time constant of the room's air: CO2 needs about this long to follow the people."""
THERMAL_LAG_S = 45 * 60
HUMIDITY_LAG_S = 60 * 60
SETPOINT_DAY_C = 21.5
SETPOINT_NIGHT_C = 18.0
SERVER_ROOM_C = 19.0
PERSON_HEAT_C = 0.15
"""Degrees each person adds to a room, up to a few degrees."""
IMPOSSIBLE = {"temperature_c": 150.0, "humidity_pct": 130.0, "co2_ppm": 60_000.0}


def _approach(value: float, target: float, elapsed_s: float, lag_s: float) -> float:
    """First-order lag: how far a value moves toward its target in ``elapsed_s``."""
    return value + (target - value) * (1 - math.exp(-elapsed_s / lag_s))


class EnvironmentSensor(Device):
    """A room's temperature, humidity and CO2 sensor."""

    kind = DeviceKind.ENVIRONMENT
    default_interval_s = 60.0

    _temperature: float
    _humidity: float
    _co2: float
    _calibration: float | None = None

    def _targets(self, at: datetime) -> tuple[float, float, float]:
        people = self.room.people(at)
        if self.room.has("ups", "server"):
            temperature = SERVER_ROOM_C
        else:
            temperature = SETPOINT_DAY_C if self.room.services_on(at) else SETPOINT_NIGHT_C
        temperature += min(3.0, PERSON_HEAT_C * people)
        humidity = 42.0 + min(15.0, 0.4 * people)
        co2 = OUTDOOR_CO2_PPM + CO2_FULL_ROOM_PPM * people / max(1, self.room.capacity)
        return temperature, humidity, co2

    def measure(self, at: datetime, elapsed_s: float) -> Reading:
        temperature, humidity, co2 = self._targets(at)
        if self._calibration is None:
            self._calibration = self.rng.uniform(-0.4, 0.4)
            self._temperature = temperature + self.rng.uniform(-0.5, 0.5)
            self._humidity = humidity + self.rng.uniform(-4.0, 4.0)
            self._co2 = co2
        else:
            self._temperature = _approach(self._temperature, temperature, elapsed_s, THERMAL_LAG_S)
            self._humidity = _approach(self._humidity, humidity, elapsed_s, HUMIDITY_LAG_S)
            self._co2 = _approach(self._co2, co2, elapsed_s, CO2_LAG_S)
        self._temperature += self.rng.gauss(0, 0.03)
        self._humidity = min(95.0, max(5.0, self._humidity + self.rng.gauss(0, 0.1)))
        return {
            "temperature_c": round(self._temperature + self._calibration, 2),
            "humidity_pct": round(self._humidity, 1),
            "co2_ppm": round(max(380.0, self._co2 + self.rng.gauss(0, 4)), 0),
        }

    def _impossible(self) -> Reading:
        return dict(IMPOSSIBLE)
