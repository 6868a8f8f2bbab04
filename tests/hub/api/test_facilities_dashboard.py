"""The facilities dashboard in real headless Chromium: signing in, numbers and the energy chart, updating live."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn

from devices.codec import encode
from devices.kinds import DeviceKind
from devices.payloads import EnergyTelemetry
from devices.site import SAMPLE_BUILDING
from devices.topics import OFFLINE, Channel, device_topic
from hub.api.app import create_app
from hub.mqtt.embedded_broker import free_port
from hub.runtime import Hub
from hub.services import tickets
from hub.services.bookings import site_zone
from hub.services.principals import Role
from tests.access import TEST_PASSWORD, headers_for, make_user
from tests.brokers import TestBroker
from tests.helpers import Publisher, wait_for
from tests.hub.conftest import StartHub


@pytest.fixture
def served(start_hub: StartHub) -> Iterator[tuple[Hub, str]]:
    """A hub for the sample building with its API on a free port."""
    hub = start_hub(building=str(SAMPLE_BUILDING))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(hub.settings, hub=hub), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, what="the API listening")
    yield hub, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def _meter_readings(hub: Hub) -> list[tuple[str, int, datetime, float]]:
    """Two readings per meter, both inside today in the site's zone: atlas (ground) uses 3 kWh, cedar (first) 1.5."""
    assert hub.database is not None
    now = datetime.now(UTC)
    with hub.database.sessions() as session:
        midnight = now.astimezone(site_zone(session)).replace(hour=0, minute=0, second=0, microsecond=0)
    first = max(now - timedelta(minutes=2), midnight.astimezone(UTC))
    return [
        ("atlas-pwr", 1, first, 100.0),
        ("atlas-pwr", 2, now, 103.0),
        ("cedar-pwr", 1, first, 50.0),
        ("cedar-pwr", 2, now, 51.5),
    ]


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_the_summary_has_every_panel_for_facilities_staff_only(served: tuple[Hub, str]) -> None:
    hub, base = served
    assert hub.database is not None
    assert httpx.get(f"{base}/facilities").status_code == 200  # the page itself is a public shell
    assert httpx.get(f"{base}/facilities/summary").status_code == 401
    host = headers_for(hub.database, hub.settings, Role.HOST)
    assert httpx.get(f"{base}/facilities/summary", headers=host).status_code == 403
    staff = headers_for(hub.database, hub.settings, Role.FACILITIES)
    body = httpx.get(f"{base}/facilities/summary", headers=staff).json()
    assert body["unavailable"] == {}
    assert set(body["tickets"]["by_priority"]) == {"critical", "high", "medium", "low"}
    assert body["devices_total"] == 152
    assert [floor["floor_id"] for floor in body["energy_today"]] == ["ground", "first", "second", "third"]
    assert isinstance(body["cleaning"], list) and isinstance(body["incidents"], list)


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_the_dashboard_shows_energy_and_updates_live(served: tuple[Hub, str], broker: TestBroker, browser: Any) -> None:
    hub, base = served
    publisher = Publisher(broker.endpoint)
    for meter, seq, ts, kwh in _meter_readings(hub):
        reading = EnergyTelemetry(
            v=1, device_id=meter, seq=seq, ts=ts, kind=DeviceKind.ENERGY, energy_kwh=kwh, power_w=500.0
        )
        publisher.publish(device_topic("hq", meter, Channel.TELEMETRY), encode(reading))

    assert hub.database is not None
    make_user(hub.database, Role.FACILITIES, username="fran")
    page = browser.new_page()
    page.goto(f"{base}/facilities")
    page.get_by_label("Username").fill("fran")
    page.get_by_label("Password").fill("not her password")
    page.get_by_role("button", name="Sign in").click()
    page.locator("#sign-in-reason").filter(has_text="wrong username or password").wait_for(timeout=10_000)
    assert page.locator("#dashboard").is_hidden()
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    ground = page.locator('#energy-chart rect.bar[data-floor="ground"][data-kwh="3"]')
    ground.wait_for(timeout=20_000)  # the rollup job runs every few seconds
    first = page.locator('#energy-chart rect.bar[data-floor="first"][data-kwh="1.5"]')
    first.wait_for(timeout=5_000)
    assert page.locator("#energy-chart rect.bar").count() == 4
    assert float(ground.get_attribute("width") or 0) == pytest.approx(2 * float(first.get_attribute("width") or 0))
    assert "3.00" in (page.locator("#energy-chart").text_content() or "")

    assert page.locator("#devices-offline").inner_text() == "0"
    assert page.locator("#devices-total").inner_text() == "of 152"
    tickets_before = int(page.locator("#tickets-total").inner_text())

    publisher.publish(device_topic("hq", "atlas-occ", Channel.AVAILABILITY), OFFLINE, retain=True)
    assert hub.database is not None
    with hub.database.sessions.begin() as session:
        tickets.open_ticket(
            session,
            title="Projector flickers",
            source="staff",
            room_id="atlas",
            priority="high",
            now=datetime.now(UTC),
        )
    publisher.close()
    page.locator("#devices-offline").filter(has_text="1").wait_for(timeout=15_000)
    assert "atlas-occ" in page.locator("#devices-list").inner_text()
    page.locator("#tickets-total").filter(has_text=str(tickets_before + 1)).wait_for(timeout=15_000)
    high = page.locator('#tickets-table tr[data-priority="high"] td').all_inner_texts()
    assert high[0] == "high" and int(high[1]) >= 1  # opened just now: under 4 h

    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Username").wait_for(timeout=5_000)
    assert page.locator("#dashboard").is_hidden()
    page.close()
