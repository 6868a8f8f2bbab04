"""Each fault changes what a device sends, visibly, and clearing it brings the device back."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from devices.kinds import DeviceKind
from devices.payloads import Level, PrintBadge, PrintJobFinished, PrintJobStatus
from firmware_sim.faults import Fault, FaultNotApplicable
from tests.firmware_sim.conftest import StartFleet
from tests.firmware_sim.support import Observer, eventually, small_building

TELEMETRY_FAULTS: list[tuple[Fault, DeviceKind, Callable[[Any], bool]]] = [
    (
        Fault.OUT_OF_RANGE,
        DeviceKind.ENVIRONMENT,
        lambda t: (t.temperature_c, t.humidity_pct, t.co2_ppm) == (150, 130, 60_000),
    ),
    (Fault.OUT_OF_RANGE, DeviceKind.ENERGY, lambda t: t.power_w < 0),
    (Fault.OUT_OF_RANGE, DeviceKind.OCCUPANCY, lambda t: t.people == 10_000),
    (Fault.BATTERY_LOW, DeviceKind.SAFETY, lambda t: t.battery_pct < 10),
    (Fault.BATTERY_LOW, DeviceKind.DOOR_DISPLAY, lambda t: t.battery_pct < 10),
    (Fault.SMOKE, DeviceKind.SAFETY, lambda t: t.smoke),
    (Fault.CO, DeviceKind.SAFETY, lambda t: t.co_ppm >= 100),
    (Fault.LEAK, DeviceKind.SAFETY, lambda t: t.leak),
    (Fault.PAPER_OUT, DeviceKind.BADGE_PRINTER, lambda t: t.paper is Level.OUT),
    (Fault.RIBBON_OUT, DeviceKind.BADGE_PRINTER, lambda t: t.ribbon is Level.OUT),
    (Fault.JAM, DeviceKind.BADGE_PRINTER, lambda t: t.jammed),
]


@pytest.mark.parametrize(
    ("fault", "kind", "shows"), TELEMETRY_FAULTS, ids=[f"{f.value}-{k.value}" for f, k, _ in TELEMETRY_FAULTS]
)
def test_a_fault_shows_in_telemetry_until_cleared(
    fault: Fault, kind: DeviceKind, shows: Callable[[Any], bool], observer: Observer, start_fleet: StartFleet
) -> None:
    fleet = start_fleet(small_building(kind))
    (device,) = fleet.fleet
    eventually(lambda: len(observer.telemetry(device.id)) >= 2, what="healthy telemetry")
    assert not any(shows(t) for t in observer.telemetry(device.id))
    fleet.inject(device.id, fault)
    eventually(lambda: shows(observer.telemetry(device.id)[-1]), what=f"{fault.value} in the telemetry")
    fleet.clear(device.id, fault)
    eventually(lambda: not shows(observer.telemetry(device.id)[-1]), what=f"{fault.value} cleared")


def test_a_stuck_sensor_repeats_its_values(observer: Observer, start_fleet: StartFleet) -> None:
    fleet = start_fleet(small_building(DeviceKind.ENVIRONMENT), interval_s=0.05)
    sensor = fleet.device("environment-0")

    def values() -> list[tuple[float, float, float]]:
        return [(t.temperature_c, t.humidity_pct, t.co2_ppm) for t in observer.telemetry(sensor.id)]

    eventually(lambda: len(values()) >= 5, what="telemetry")
    assert len(set(values())) > 1  # a healthy sensor's readings vary
    fleet.inject(sensor.id, Fault.STUCK)
    stuck_from = len(values())
    eventually(lambda: len(values()) >= stuck_from + 5, what="stuck telemetry")
    assert len(set(values()[stuck_from:])) == 1
    assert len({t.seq for t in observer.telemetry(sensor.id)}) == len(values())  # new messages, same values


@pytest.mark.parametrize(("fault", "error"), [(Fault.PAPER_OUT, "out of paper"), (Fault.JAM, "paper jam")])
def test_a_printer_that_cannot_print_reports_the_job_failed(
    fault: Fault, error: str, observer: Observer, start_fleet: StartFleet
) -> None:
    fleet = start_fleet(small_building(DeviceKind.BADGE_PRINTER))
    assert fleet.wait_online(10)
    printer = fleet.device("badge-printer-0")
    fleet.inject(printer.id, fault)
    observer.send(printer.id, PrintBadge(id="c1", ts=datetime.now(UTC), job_id="visit-1", zpl="^XA^FDAda^FS^XZ"))
    eventually(lambda: observer.events(printer.id), what="the print job's end")
    (finished,) = observer.events(printer.id)
    assert isinstance(finished, PrintJobFinished)
    assert (finished.job_id, finished.status, finished.error) == ("visit-1", PrintJobStatus.FAILED, error)


def test_an_offline_device_buffers_and_replays_when_the_network_returns(
    observer: Observer, start_fleet: StartFleet
) -> None:
    fleet = start_fleet(small_building(DeviceKind.OCCUPANCY), interval_s=0.05)
    sensor = fleet.device("occupancy-0")
    eventually(lambda: len(observer.telemetry(sensor.id)) >= 3, what="telemetry")
    fleet.inject(sensor.id, Fault.OFFLINE)
    eventually(lambda: observer.availability(sensor.id)[-1:] == [False], what="the will")
    eventually(lambda: len(sensor.outbox) >= 10, what="buffered readings")
    last_offline = sensor.next_seq - 1
    fleet.clear(sensor.id, Fault.OFFLINE)
    eventually(lambda: observer.availability(sensor.id)[-1:] == [True], what="online again")
    eventually(lambda: set(range(last_offline + 1)) <= set(observer.seqs(sensor.id)), what="the replay")


def test_a_fault_the_kind_cannot_have_is_refused(start_fleet: StartFleet) -> None:
    fleet = start_fleet(small_building(DeviceKind.DOOR_DISPLAY))
    with pytest.raises(FaultNotApplicable, match="door_display"):
        fleet.inject("door-display-0", Fault.SMOKE)
