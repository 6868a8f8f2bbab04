"""Badges over a real broker: the hub sends jobs to simulated badge printers and follows them to a badge."""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from functools import partial

import pytest

from devices.site import SAMPLE_BUILDING, load_building
from firmware_sim.badge_printer import BadgePrinter
from firmware_sim.faults import Fault
from firmware_sim.fleet import Fleet, FleetThread
from hub.runtime import Hub
from hub.services.badges import SEE_RECEPTION, BadgeFacts, BadgeStatus, badge_status, known_faulted, request_badge
from hub.store.models import Device
from tests.brokers import TestBroker
from tests.helpers import Notifications, printers_only, wait_for
from tests.hub.conftest import StartHub

P1, P2 = "reception-printer-1", "reception-printer-2"
FACTS = BadgeFacts(
    visit_id=1,
    visitor_name="Grace Hopper",
    company="Navy",
    host_name="Ada Lovelace",
    visitor_type="guest",
    day=date(2030, 1, 7),
    checkout_token="ATR1.live-test",
)


class Reception:
    """A hub over the sample building and its two reception badge printers, simulated."""

    def __init__(self, hub: Hub, fleet: FleetThread) -> None:
        self.hub = hub
        self.fleet = fleet

    def printer(self, device_id: str) -> BadgePrinter:
        device = self.fleet.device(device_id)
        assert isinstance(device, BadgePrinter)
        return device

    def jams_on_next_print(self, device_id: str) -> None:
        """A jam nobody knows of yet: the printer only finds out when it tries to print."""
        self.fleet.call(self.printer(device_id).faults.add, Fault.JAM)

    def request(self) -> BadgeStatus:
        assert self.hub.database is not None
        with self.hub.database.sessions.begin() as session:
            return request_badge(session, site_id="hq", facts=FACTS, kiosk_id=None, now=datetime.now(UTC))

    def status(self) -> BadgeStatus:
        assert self.hub.database is not None
        with self.hub.database.sessions() as session:
            found = badge_status(session, FACTS.visit_id)
        assert found is not None
        return found

    def wait_finished(self, what: str) -> BadgeStatus:
        """The badge's status once the job is printed or given up."""
        wait_for(lambda: self.status().status in ("printed", "failed"), what=what)
        return self.status()

    def hub_knows_faulted(self, device_id: str) -> bool:
        assert self.hub.database is not None
        with self.hub.database.sessions() as session:
            return known_faulted(session, device_id)

    def printed_by(self, device_id: str) -> list[str]:
        return [job.job_id for job in self.printer(device_id).printed]


@pytest.fixture
def reception(broker: TestBroker, start_hub: StartHub, request: pytest.FixtureRequest) -> Iterator[Reception]:
    settings = getattr(request, "param", {})
    hub = start_hub(building=str(SAMPLE_BUILDING), **settings)
    fleet = FleetThread(Fleet(printers_only(load_building(SAMPLE_BUILDING)), broker.endpoint, interval_s=30)).start()
    try:
        assert fleet.wait_online(30)
        here = Reception(hub, fleet)

        def both_online() -> bool:
            assert hub.database is not None
            with hub.database.sessions() as session:
                return all(session.get_one(Device, p).online for p in (P1, P2))

        wait_for(both_online, what="the hub seeing both printers online")
        yield here
    finally:
        fleet.stop()


@pytest.fixture
def notifications(broker: TestBroker) -> Iterator[Notifications]:
    bridge = Notifications(broker.endpoint, client_id="reception-bridge")
    wait_for(bridge.client.is_connected, what="the notification bridge connected")
    yield bridge
    bridge.close()


@pytest.mark.slow
def test_a_badge_is_printed_by_the_reception_printer(reception: Reception) -> None:
    started = reception.request()
    assert started.message == "Your badge is printing at Reception printer 1, Reception."
    done = reception.wait_finished("the badge printed")
    assert (done.status, done.printer_id, done.failovers) == ("printed", P1, 0)
    assert reception.printed_by(P1) == [f"{started.job_id}.1"]
    assert "^FDGrace Hopper^FS" in reception.printer(P1).printed[-1].zpl


@pytest.mark.slow
def test_a_jammed_printer_hands_the_badge_to_the_other_and_reception_is_told(
    reception: Reception, notifications: Notifications
) -> None:
    reception.jams_on_next_print(P1)
    started = reception.request()
    done = reception.wait_finished("the badge printed elsewhere")
    assert (done.status, done.printer_id, done.failovers) == ("printed", P2, 1)
    assert done.message == "Your badge is ready at Reception printer 2, Reception."
    assert reception.printed_by(P1) == []
    assert reception.printed_by(P2) == [f"{started.job_id}.2"]
    wait_for(lambda: "badge_printer_failed" in notifications.kinds(), what="reception told")
    [note] = [n for n in notifications.received if n["kind"] == "badge_printer_failed"]
    assert note["to"] == "reception" and "paper jam" in note["subject"]


@pytest.mark.slow
def test_with_every_printer_faulted_the_visitor_is_sent_to_reception(
    reception: Reception, notifications: Notifications
) -> None:
    reception.fleet.inject(P2, Fault.PAPER_OUT)  # reported at once: the hub will not use it
    wait_for(lambda: reception.hub_knows_faulted(P2), what="the hub knowing printer 2 is out of paper")
    reception.jams_on_next_print(P1)
    assert reception.request().printer_id == P1
    done = reception.wait_finished("the badge given up")
    assert (done.status, done.message) == ("failed", SEE_RECEPTION)
    wait_for(lambda: "badge_not_printed" in notifications.kinds(), what="reception told")


@pytest.mark.slow
@pytest.mark.parametrize("reception", [{"badge_print_timeout_s": 3}], indirect=True)
def test_a_printer_gone_silent_is_failed_over_after_the_timeout(reception: Reception) -> None:
    reception.fleet.call(partial(reception.printer(P1).kill, silent=True))  # the hub still thinks it is online
    started = reception.request()
    assert started.printer_id == P1
    done = reception.wait_finished("the badge printed after the timeout")
    assert (done.status, done.printer_id, done.failovers) == ("printed", P2, 1)
