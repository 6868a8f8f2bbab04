"""Commands from the hub are obeyed (show, print, configure); bad ones are counted, never fatal."""

from datetime import UTC, datetime

from devices.kinds import DeviceKind
from devices.payloads import (
    ButtonPressed,
    Configure,
    DisplayButton,
    MeetingSummary,
    PrintBadge,
    PrintJobFinished,
    PrintJobStatus,
    RoomState,
    ShowOnDisplay,
    ShowRoomState,
)
from firmware_sim.badge_printer import BadgePrinter
from firmware_sim.door_display import DoorDisplay
from tests.firmware_sim.conftest import StartFleet
from tests.firmware_sim.support import Observer, eventually, small_building

NOW = datetime.now(UTC)


def test_a_door_display_shows_what_it_is_told(observer: Observer, start_fleet: StartFleet) -> None:
    fleet = start_fleet(small_building(DeviceKind.DOOR_DISPLAY), interval_s=1)
    display = fleet.device("door-display-0")
    assert isinstance(display, DoorDisplay)
    assert fleet.wait_online(10)
    observer.send(
        display.id, ShowOnDisplay(id="c1", ts=NOW, title="Atlas", status="Busy until 11:00", lines=["Design review"])
    )
    eventually(lambda: display.screen == ["Atlas", "Busy until 11:00", "Design review"], what="the new screen")
    eventually(
        lambda: [t.showing for t in observer.telemetry(display.id)][-1:] == ["Busy until 11:00"],
        what="the heartbeat showing the new status",
    )
    assert display.stats.commands_obeyed == 1


def test_a_door_display_renders_the_room_state_in_the_site_time_zone(
    observer: Observer, start_fleet: StartFleet
) -> None:
    fleet = start_fleet(small_building(DeviceKind.DOOR_DISPLAY), interval_s=1)
    display = fleet.device("door-display-0")
    assert isinstance(display, DoorDisplay)
    assert fleet.wait_online(10)
    meeting = MeetingSummary(
        title="Design review",
        organiser="ada@example.com",
        start=datetime(2026, 7, 1, 9, 0, tzinfo=UTC),
        end=datetime(2026, 7, 1, 10, 0, tzinfo=UTC),
    )
    later = meeting.model_copy(update={"title": "1:1", "start": meeting.end, "end": meeting.end.replace(hour=11)})
    state = ShowRoomState(
        id="s1",
        ts=NOW,
        room_name="Atlas",
        state=RoomState.IN_USE,
        current=meeting,
        upcoming=[later],
        timezone="Europe/London",
        buttons=[DisplayButton.EXTEND, DisplayButton.END_MEETING],
    )
    observer.send(display.id, state)
    # London is UTC+1 in July: the display shows local wall time.
    expected = ["Atlas", "In use: Design review until 11:00", "11:00-12:00 1:1"]
    eventually(lambda: display.screen == expected, what="the rendered room state")
    assert display.room_state == state


def test_a_badge_printer_prints_and_reports_the_job(observer: Observer, start_fleet: StartFleet) -> None:
    fleet = start_fleet(small_building(DeviceKind.BADGE_PRINTER), interval_s=1)
    printer = fleet.device("badge-printer-0")
    assert isinstance(printer, BadgePrinter)
    assert fleet.wait_online(10)
    before = printer.prints_total
    observer.send(printer.id, PrintBadge(id="c2", ts=NOW, job_id="visit-7", zpl="^XA^FDGrace Hopper^FS^XZ"))
    eventually(lambda: observer.events(printer.id), what="the print job's end")
    (finished,) = observer.events(printer.id)
    assert isinstance(finished, PrintJobFinished)
    assert (finished.job_id, finished.status, finished.error) == ("visit-7", PrintJobStatus.PRINTED, None)
    eventually(
        lambda: [t.prints_total for t in observer.telemetry(printer.id)][-1:] == [before + 1],
        what="prints_total counting the badge",
    )
    assert [job.job_id for job in printer.printed] == ["visit-7"]


def test_configure_changes_the_interval_and_republishes_the_state(observer: Observer, start_fleet: StartFleet) -> None:
    fleet = start_fleet(small_building(DeviceKind.ENERGY), interval_s=30)
    meter = fleet.device("energy-0")
    assert fleet.wait_online(10)
    observer.send(meter.id, Configure(id="c3", ts=NOW, report_interval_s=0.05))
    eventually(lambda: [s.report_interval_s for s in observer.states(meter.id)][-1:] == [0.05], what="new state")
    eventually(lambda: len(observer.telemetry(meter.id)) >= 5, what="telemetry at the new interval")
    assert meter.interval_s == 0.05


def test_bad_and_misdirected_commands_are_counted_and_ignored(observer: Observer, start_fleet: StartFleet) -> None:
    fleet = start_fleet(small_building(DeviceKind.SAFETY), interval_s=0.1)
    sensor = fleet.device("safety-0")
    assert fleet.wait_online(10)
    observer.send_raw(sensor.id, b"{not json")
    observer.send_raw(sensor.id, b'{"v": 1, "cmd": "self_destruct", "id": "x", "ts": "2024-03-12T10:00:00Z"}')
    observer.send(sensor.id, ShowOnDisplay(id="c4", ts=NOW, title="?", status="?"))
    eventually(lambda: sensor.stats.commands_refused == 3, what="three refusals")
    seen = len(observer.telemetry(sensor.id))
    eventually(lambda: len(observer.telemetry(sensor.id)) > seen + 2, what="telemetry going on")
    assert sensor.connected


def test_pressing_a_door_display_button_publishes_an_event(observer: Observer, start_fleet: StartFleet) -> None:
    fleet = start_fleet(small_building(DeviceKind.DOOR_DISPLAY), interval_s=1)
    display = fleet.device("door-display-0")
    assert isinstance(display, DoorDisplay)
    assert fleet.wait_online(10)
    seq = fleet.call(display.press, DisplayButton.BOOK_NOW, 30)
    fleet.call(lambda: display.press("report_problem", note="the screen flickers"))
    eventually(lambda: len(observer.events(display.id)) == 2, what="two button presses")
    booked, problem = observer.events(display.id)
    assert isinstance(booked, ButtonPressed) and isinstance(problem, ButtonPressed)
    assert (booked.seq, booked.button, booked.minutes) == (seq, DisplayButton.BOOK_NOW, 30)
    assert (problem.button, problem.note) == (DisplayButton.REPORT_PROBLEM, "the screen flickers")
