"""Many devices on one event loop deliver every message; the command line runs and fails politely."""

import threading

import pytest
from typer.testing import CliRunner

from devices.site import synthetic_building
from firmware_sim.cli import app
from tests.brokers import TestBroker
from tests.firmware_sim.conftest import StartFleet
from tests.firmware_sim.support import SITE, Observer, eventually, free_port


def test_a_fleet_runs_on_one_thread(start_fleet: StartFleet) -> None:
    before = threading.active_count()
    fleet = start_fleet(synthetic_building(40, site_id=SITE), interval_s=0.1)
    assert fleet.wait_online(20)
    # The fleet's own thread, plus at most the loop's small executor for TCP connects.
    assert threading.active_count() - before <= 1 + 8


@pytest.mark.slow
def test_a_fleet_of_300_devices_delivers_every_message(observer: Observer, start_fleet: StartFleet) -> None:
    per_device = 5
    fleet = start_fleet(synthetic_building(300, site_id=SITE), interval_s=0.1, messages_per_device=per_device)
    stats = fleet.join(60)
    assert stats.done == 300 and stats.buffered == 0 and stats.dropped == 0
    devices = list(fleet.fleet)
    eventually(
        lambda: sum(len({t.seq for t in observer.telemetry(d.id)}) for d in devices) == 300 * per_device,
        timeout=20,
        what="every telemetry message at the observer",
    )
    for device in devices:
        assert sorted(set(observer.seqs(device.id))) == list(range(device.next_seq))
    assert not observer.errors


def test_the_command_line_sends_a_count_and_exits(broker: TestBroker) -> None:
    watching = Observer(broker.endpoint, site="fleet")  # the site of a synthetic building
    try:
        result = CliRunner().invoke(
            app, ["--devices", "5", "--count", "2", "--interval", "0.05", "--mqtt-url", broker.endpoint.url]
        )
        assert result.exit_code == 0, result.output
        assert "15 messages acknowledged" in result.output  # 5 states and 10 readings
        eventually(lambda: sum(len(watching.telemetry(f"dev-{n:05d}")) for n in range(5)) == 10, what="the readings")
    finally:
        watching.close()


def test_an_unreachable_broker_is_one_clear_sentence() -> None:
    url = f"mqtt://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(app, ["--devices", "3", "--count", "1", "--mqtt-url", url])
    assert result.exit_code == 1
    assert "Cannot reach the MQTT broker" in result.output
    assert "Traceback" not in result.output
