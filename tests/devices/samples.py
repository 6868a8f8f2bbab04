"""Valid payloads of every kind and channel, built with the contract's own models."""

from datetime import UTC, datetime, timedelta

from devices.kinds import DeviceKind
from devices.payloads import (
    BadgePrinterTelemetry,
    ButtonPressed,
    Committed,
    Configure,
    DeviceState,
    DisplayButton,
    DoorDisplayTelemetry,
    EnergyTelemetry,
    Envelope,
    EnvironmentTelemetry,
    Level,
    MeetingSummary,
    OccupancyTelemetry,
    PrintBadge,
    PrintJobFinished,
    PrintJobStatus,
    RoomState,
    SafetyTelemetry,
    ShowOnDisplay,
    ShowRoomState,
)

SITE = "hq"
TS = datetime(2024, 5, 6, 9, 30, 15, 250_000, tzinfo=UTC)


def device_id(kind: DeviceKind) -> str:
    """A valid device id for a sample device of ``kind``."""
    return f"room-1-{kind.value.replace('_', '-')}"


TELEMETRY: dict[DeviceKind, Envelope] = {
    DeviceKind.OCCUPANCY: OccupancyTelemetry(
        v=1,
        device_id=device_id(DeviceKind.OCCUPANCY),
        seq=1,
        ts=TS,
        kind=DeviceKind.OCCUPANCY,
        presence=True,
        people=3,
    ),
    DeviceKind.ENVIRONMENT: EnvironmentTelemetry(
        v=1,
        device_id=device_id(DeviceKind.ENVIRONMENT),
        seq=2,
        ts=TS,
        kind=DeviceKind.ENVIRONMENT,
        temperature_c=21.5,
        humidity_pct=41.0,
        co2_ppm=612.0,
    ),
    DeviceKind.ENERGY: EnergyTelemetry(
        v=1,
        device_id=device_id(DeviceKind.ENERGY),
        seq=3,
        ts=TS,
        kind=DeviceKind.ENERGY,
        energy_kwh=1234.5,
        power_w=-12.0,
    ),
    DeviceKind.SAFETY: SafetyTelemetry(
        v=1,
        device_id=device_id(DeviceKind.SAFETY),
        seq=4,
        ts=TS,
        kind=DeviceKind.SAFETY,
        smoke=False,
        co_ppm=0.4,
        leak=False,
        battery_pct=88.0,
    ),
    DeviceKind.DOOR_DISPLAY: DoorDisplayTelemetry(
        v=1,
        device_id=device_id(DeviceKind.DOOR_DISPLAY),
        seq=5,
        ts=TS,
        kind=DeviceKind.DOOR_DISPLAY,
        showing="Free until 11:00",
    ),
    DeviceKind.BADGE_PRINTER: BadgePrinterTelemetry(
        v=1,
        device_id=device_id(DeviceKind.BADGE_PRINTER),
        seq=6,
        ts=TS,
        kind=DeviceKind.BADGE_PRINTER,
        paper=Level.LOW,
        ribbon=Level.OK,
        jammed=False,
        prints_total=4711,
    ),
}
"""One valid telemetry payload per device kind."""

EVENTS: dict[str, Envelope] = {
    "button_pressed": ButtonPressed(
        v=1,
        device_id=device_id(DeviceKind.DOOR_DISPLAY),
        seq=7,
        ts=TS,
        kind=DeviceKind.DOOR_DISPLAY,
        event="button_pressed",
        button=DisplayButton.BOOK_NOW,
        minutes=30,
    ),
    "print_job_finished": PrintJobFinished(
        v=1,
        device_id=device_id(DeviceKind.BADGE_PRINTER),
        seq=8,
        ts=TS,
        kind=DeviceKind.BADGE_PRINTER,
        event="print_job_finished",
        job_id="job-42",
        status=PrintJobStatus.FAILED,
        error="ribbon out",
    ),
}
"""One valid event payload per event type."""

STATE = DeviceState(
    v=1,
    device_id=device_id(DeviceKind.ENERGY),
    seq=0,
    ts=TS,
    kind=DeviceKind.ENERGY,
    firmware="atrium-fw 1.4.2",
    report_interval_s=30.0,
)

COMMANDS = {
    "show": ShowOnDisplay(id="cmd-1", ts=TS, title="Atlas", status="Busy", lines=["Weekly sync", "until 10:00"]),
    "print": PrintBadge(id="cmd-2", ts=TS, job_id="job-42", zpl="^XA^FDAda Lovelace^FS^XZ"),
    "configure": Configure(id="cmd-3", ts=TS, report_interval_s=60.0),
    "committed": Committed(id="cmd-5", ts=TS, ranges=[(0, 41), (43, 43)]),
    "room_state": ShowRoomState(
        id="cmd-4",
        ts=TS,
        room_name="Atlas",
        state=RoomState.BOOKED,
        current=MeetingSummary(title="Weekly sync", organiser="Ada Lovelace", start=TS, end=TS + timedelta(hours=1)),
        timezone="Europe/London",
        buttons=[DisplayButton.CHECK_IN],
    ),
}
"""One valid command per command type."""
