"""The room panel: room-scoped keys, revoking them, and the live page in real headless Chromium."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn

from devices.codec import encode
from devices.kinds import DeviceKind
from devices.payloads import OccupancyTelemetry
from devices.site import SAMPLE_BUILDING
from devices.topics import Channel, device_topic
from hub.api.app import create_app
from hub.mqtt.embedded_broker import free_port
from hub.runtime import Hub
from hub.services import api_keys, bookings, cleaning
from hub.store.auth_models import KeyKind
from hub.store.room_live_models import RoomLive
from tests.access import headers_for, issue_key
from tests.brokers import TestBroker
from tests.helpers import Publisher, wait_for
from tests.hub.conftest import StartHub

SECRET = "ab" * 32
ADA = bookings.Person(email="ada@example.com", name="Ada Lovelace")


def panel_key(hub: Hub, room: str) -> str:
    """A new panel key of ``room``, as `atrium rooms panel-url` issues."""
    assert hub.database is not None
    return issue_key(hub.database, KeyKind.PANEL, name=f"{room} panel", room_id=room)


def revoke(hub: Hub, key: str) -> None:
    assert hub.database is not None
    with hub.database.sessions.begin() as session:
        found = api_keys.find_active_key(session, key)
        assert found is not None
        api_keys.revoke_key(session, found.id, actor="test", now=datetime.now(UTC))


@pytest.fixture
def served(start_hub: StartHub) -> Iterator[tuple[Hub, str]]:
    """A hub for the sample building with its API on a free port, as a wall tablet reaches it."""
    hub = start_hub(building=str(SAMPLE_BUILDING), secret_key=SECRET, occupancy_stale_after_s=60)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(hub.settings, hub=hub), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, what="the API listening")
    yield hub, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_a_panel_key_opens_its_own_room_only(served: tuple[Hub, str]) -> None:
    hub, base = served
    atlas = panel_key(hub, "atlas")
    assert httpx.get(f"{base}/panel/atlas/state", params={"token": atlas}).json()["room_name"] == "Atlas"
    assert httpx.get(f"{base}/panel/atlas/state", headers={"Authorization": f"Bearer {atlas}"}).status_code == 200
    for method, path in [("GET", "state"), ("POST", "press"), ("GET", "events")]:
        stolen = httpx.request(
            method, f"{base}/panel/boreal/{path}", params={"token": atlas}, json={"button": "book_now"}
        )
        assert stolen.status_code == 403, path
        assert "boreal" in stolen.json()["detail"]
    assert httpx.get(f"{base}/panel/atlas/state").status_code == 401
    assert httpx.get(f"{base}/panel/atlas/state", params={"token": "atrium_panel_made-up"}).status_code == 401
    assert hub.database is not None
    admin = headers_for(hub.database, hub.settings)
    assert httpx.get(f"{base}/panel/nowhere/state", headers=admin).status_code == 404


def test_a_revoked_panel_key_is_refused_at_its_next_request(served: tuple[Hub, str]) -> None:
    hub, base = served
    atlas = panel_key(hub, "atlas")
    assert hub.database is not None
    with hub.database.sessions() as session:
        found = api_keys.find_active_key(session, atlas)
        assert found is not None
        key_id = found.id

    def call(method: str, path: str) -> int:
        body = {"button": "book_now"} if path == "press" else None
        return httpx.request(method, f"{base}/panel/atlas/{path}", params={"token": atlas}, json=body).status_code

    assert call("POST", "press") == 204
    admin = headers_for(hub.database, hub.settings)
    assert httpx.post(f"{base}/keys/{key_id}/revoke", headers=admin).status_code == 200
    for method, path in [("GET", "state"), ("POST", "press"), ("GET", "events"), ("POST", "cleaned")]:
        assert call(method, path) == 401, path


@pytest.mark.slow
@pytest.mark.browser
def test_the_panel_shows_changes_live_and_books_the_room_now(
    served: tuple[Hub, str], broker: TestBroker, browser: Any
) -> None:
    hub, base = served
    page = browser.new_page()
    page.goto(f"{base}/panel/atlas?token={panel_key(hub, 'atlas')}")
    status = page.locator("#status")
    status.filter(has_text="Free").wait_for(timeout=15_000)

    now = datetime.now(UTC)
    assert hub.database is not None
    with hub.database.sessions.begin() as session:
        bookings.create_booking(
            session,
            room_id="atlas",
            title="Design review",
            start=now - timedelta(minutes=1),
            end=now + timedelta(minutes=30),
            organiser=ADA,
            now=now,
        )
    status.filter(has_text="Booked").wait_for(timeout=15_000)
    assert "Design review" in page.locator("#current").inner_text()

    publisher = Publisher(broker.endpoint)
    reading = OccupancyTelemetry(
        v=1, device_id="atlas-occ", seq=1, ts=datetime.now(UTC), kind=DeviceKind.OCCUPANCY, presence=True, people=4
    )
    publisher.publish(device_topic("hq", "atlas-occ", Channel.TELEMETRY), encode(reading))
    publisher.close()
    status.filter(has_text="In use").wait_for(timeout=15_000)

    other = browser.new_page()
    boreal = panel_key(hub, "boreal")
    other.goto(f"{base}/panel/boreal?token={boreal}")
    other.locator("#status").filter(has_text="Free").wait_for(timeout=15_000)
    book = other.get_by_role("button", name="Book 30 min")
    assert book.bounding_box()["height"] >= 60  # a touch target a finger finds
    book.click()
    other.locator("#status").filter(has_text="In use").wait_for(timeout=15_000)
    assert "Booked at the door" in other.locator("#current").inner_text()

    revoke(hub, boreal)
    other.get_by_role("button", name="End meeting").click()
    refused = other.locator("#refused")
    refused.filter(has_text="Ask facilities for a new panel URL").wait_for(timeout=15_000)
    assert "revoked" in refused.inner_text() and other.locator("#status").is_hidden()
    other.reload()  # a tablet restarted with the revoked key gets the page that says so, not bare JSON
    refused.filter(has_text="Ask facilities for a new panel URL").wait_for(timeout=15_000)
    page.close()
    other.close()


@pytest.mark.slow
@pytest.mark.browser
def test_a_room_that_needs_cleaning_says_so_on_its_panel_and_cleaning_staff_mark_it_done_there(
    start_hub: StartHub, broker: TestBroker, browser: Any
) -> None:
    hub = start_hub(building=str(SAMPLE_BUILDING), secret_key=SECRET, cleaning_after_occupied_minutes=1)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(hub.settings, hub=hub), port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    wait_for(lambda: server.started, what="the API listening")
    try:
        # People in Boreal for two minutes, by its sensor's clock; then the cleaning job looks at the rooms.
        publisher = Publisher(broker.endpoint)
        start = datetime.now(UTC) + timedelta(seconds=5)
        for seq, at in enumerate((start, start + timedelta(minutes=2))):
            reading = OccupancyTelemetry(
                v=1, device_id="boreal-occ", seq=seq, ts=at, kind=DeviceKind.OCCUPANCY, presence=True, people=3
            )
            publisher.publish(device_topic("hq", "boreal-occ", Channel.TELEMETRY), encode(reading))
        publisher.close()
        assert hub.database is not None
        rules = cleaning.CleaningRules.from_settings(hub.settings)

        def flagged() -> bool:
            assert hub.database is not None
            with hub.database.sessions.begin() as session:
                cleaning.flag_rooms_needing_cleaning(session, datetime.now(UTC), rules=rules)
                live = session.get(RoomLive, "boreal")
                return live is not None and live.needs_cleaning

        wait_for(flagged, what="Boreal flagged as needing cleaning")

        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/panel/boreal?token={panel_key(hub, 'boreal')}")
        page.locator("#status").filter(has_text="Needs cleaning").wait_for(timeout=15_000)
        page.get_by_role("button", name="Mark cleaned").click()
        page.locator("#message").filter(has_text="marked cleaned").wait_for(timeout=15_000)
        page.locator("#status").filter(has_text="Free").wait_for(timeout=15_000)
        assert page.get_by_role("button", name="Mark cleaned").is_hidden()
        page.close()
    finally:
        server.should_exit = True
