"""Door displays: e-paper screens beside meeting-room doors that show what the hub sends and have buttons."""

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from devices.kinds import DeviceKind
from devices.payloads import ButtonPressed, CommandBase, DisplayButton, RoomState, ShowOnDisplay, ShowRoomState
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
        self.room_state: ShowRoomState | None = None
        """The last room state the hub sent, as received."""

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
        return {**super()._command_handlers(), ShowOnDisplay: self._show, ShowRoomState: self._show_room}

    def _show_room(self, command: ShowRoomState) -> None:
        """Render the room's state as text, the way an e-paper display would lay it out."""
        self.room_state = command
        zone = _zone(command.timezone)

        def hm(moment: datetime) -> str:
            return moment.astimezone(zone).strftime("%H:%M")

        current = command.current
        status = {
            RoomState.FREE: f"Free until {hm(command.free_until)}" if command.free_until else "Free",
            RoomState.BOOKED: f"Booked: {current.title} until {hm(current.end)}" if current else "Booked",
            RoomState.IN_USE: f"In use: {current.title} until {hm(current.end)}" if current else "In use",
            RoomState.CLEANING_NEEDED: "Needs cleaning",
            RoomState.OUT_OF_ORDER: "Out of order",
        }[command.state]
        lines = [f"{hm(m.start)}-{hm(m.end)} {m.title}" for m in command.upcoming]
        self._show(ShowOnDisplay(id=command.id, ts=command.ts, title=command.room_name, status=status, lines=lines))

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


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC
