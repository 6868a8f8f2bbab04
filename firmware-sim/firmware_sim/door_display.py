"""Door displays: e-paper screens beside meeting-room doors that show what the hub sends and have buttons."""

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from devices.kinds import DeviceKind
from devices.payloads import ButtonPressed, CommandBase, DisplayButton, ShowOnDisplay
from devices.site import DeviceSpec
from firmware_sim.device import Device, Reading
from firmware_sim.faults import Fault

IDLE_STATUS = "Available"
"""What a display shows before the hub has told it anything."""
BATTERY_DRAIN_PER_HOUR = 100 / (365 * 24)
"""A one-year battery (e-paper only draws power to change the picture)."""
LOW_BATTERY_PCT = (3.0, 9.0)


class DoorDisplay(Device):
    """A door display: renders ``show`` commands, heartbeats what it shows, and reports button presses."""

    kind = DeviceKind.DOOR_DISPLAY
    default_interval_s = 60.0

    def __init__(self, spec: DeviceSpec, **options: Any) -> None:
        super().__init__(spec, **options)
        self.showing = IDLE_STATUS
        self.screen: list[str] = [self.room.room.name, IDLE_STATUS]
        """The lines on the screen right now: title, status, then the detail lines."""
        self._battery = self.rng.uniform(40.0, 100.0)

    @property
    def battery_pct(self) -> float:
        """What is left in the battery."""
        return self._battery

    def press(self, button: DisplayButton | str, minutes: int | None = None, note: str | None = None) -> int:
        """Someone presses a button: publish a ButtonPressed event; returns its sequence number."""
        event = ButtonPressed(
            **self._envelope(self.clock.now()),
            event="button_pressed",
            button=DisplayButton(button),
            minutes=minutes,
            note=note,
        )
        self._send_event(event)
        return event.seq

    def _command_handlers(self) -> Mapping[type[CommandBase], Callable[[Any], None]]:
        return {**super()._command_handlers(), ShowOnDisplay: self._show}

    def _show(self, command: ShowOnDisplay) -> None:
        self.screen = [command.title, command.status, *command.lines]
        self.showing = command.status
        self.report_now()

    def measure(self, at: datetime, elapsed_s: float) -> Reading:
        self._battery = max(0.0, self._battery - BATTERY_DRAIN_PER_HOUR * elapsed_s / 3600)
        return {"showing": self.showing, "battery_pct": round(self._battery, 2)}

    def _fault_changed(self, fault: Fault, *, active: bool) -> None:
        if fault is Fault.BATTERY_LOW:
            self._battery = min(self._battery, self.rng.uniform(*LOW_BATTERY_PCT)) if active else 100.0
