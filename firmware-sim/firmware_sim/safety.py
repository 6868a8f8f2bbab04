"""Safety sensors: smoke, carbon monoxide and leak detectors that say "all clear" until told otherwise."""

from datetime import datetime

from devices.kinds import DeviceKind
from firmware_sim.device import Device, Reading
from firmware_sim.faults import Fault

BATTERY_DRAIN_PER_HOUR = 100 / (2 * 365 * 24)
"""A two-year battery."""
LOW_BATTERY_PCT = (3.0, 9.0)
CO_ALARM_PPM = (150.0, 400.0)
IMPOSSIBLE_CO_PPM = 2_000_000.0
"""More carbon monoxide than there is air."""


class SafetySensor(Device):
    """A battery-powered smoke, CO and leak detector."""

    kind = DeviceKind.SAFETY
    default_interval_s = 60.0

    _battery: float | None = None

    @property
    def battery_pct(self) -> float:
        """What is left in the battery."""
        if self._battery is None:
            self._battery = self.rng.uniform(55.0, 100.0)
        return self._battery

    def measure(self, at: datetime, elapsed_s: float) -> Reading:
        battery = max(0.0, self.battery_pct - BATTERY_DRAIN_PER_HOUR * elapsed_s / 3600)
        self._battery = battery
        co = self.rng.uniform(*CO_ALARM_PPM) if Fault.CO in self.faults else max(0.0, self.rng.gauss(0.5, 0.5))
        return {
            "smoke": Fault.SMOKE in self.faults,
            "co_ppm": round(co, 1),
            "leak": Fault.LEAK in self.faults,
            "battery_pct": round(battery, 2),
        }

    def _impossible(self) -> Reading:
        return {"co_ppm": IMPOSSIBLE_CO_PPM}

    def _fault_changed(self, fault: Fault, *, active: bool) -> None:
        if fault is Fault.BATTERY_LOW:
            self._battery = min(self.battery_pct, self.rng.uniform(*LOW_BATTERY_PCT)) if active else 100.0
