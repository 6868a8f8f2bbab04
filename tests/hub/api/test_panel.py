"""The room panel: room-scoped tokens, and the live page in real headless Chromium."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

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
from hub.services import bookings, cleaning
from hub.services.panel_tokens import panel_token
from hub.store.room_live_models import RoomLive
from tests.brokers import TestBroker
from tests.helpers import Publisher, wait_for
from tests.hub.conftest import StartHub

SECRET = "ab" * 32
ADA = bookings.Person(email="ada@example.com", name="Ada Lovelace")


def token(room: str) -> str:
    return panel_token(bytes.fromhex(SECRET), room)


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


def test_a_panel_token_opens_its_own_room_only(served: tuple[Hub, str]) -> None:
    import httpx

    _, base = served
    assert httpx.get(f"{base}/panel/atlas/state", params={"token": token("atlas")}).json()["room_name"] == "Atlas"
    stolen = httpx.post(f"{base}/panel/boreal/press", params={"token": token("atlas")}, json={"button": "book_now"})
    assert stolen.status_code == 403
    assert "boreal" in stolen.json()["detail"]
    assert httpx.get(f"{base}/panel/atlas/state").status_code == 403
    assert httpx.get(f"{base}/panel/nowhere/state", params={"token": token("nowhere")}).status_code == 404


@pytest.mark.slow
@pytest.mark.browser
def test_the_panel_shows_changes_live_and_books_the_room_now(
    served: tuple[Hub, str], broker: TestBroker, browser: Any
) -> None:
    hub, base = served
    page = browser.new_page()
    page.goto(f"{base}/panel/atlas?token={token('atlas')}")
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
    other.goto(f"{base}/panel/boreal?token={token('boreal')}")
    other.locator("#status").filter(has_text="Free").wait_for(timeout=15_000)
    book = other.get_by_role("button", name="Book 30 min")
    assert book.bounding_box()["height"] >= 60  # a touch target a finger finds
    book.click()
    other.locator("#status").filter(has_text="In use").wait_for(timeout=15_000)
    assert "Booked at the door" in other.locator("#current").inner_text()
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
        page.goto(f"http://127.0.0.1:{port}/panel/boreal?token={token('boreal')}")
        page.locator("#status").filter(has_text="Needs cleaning").wait_for(timeout=15_000)
        page.get_by_role("button", name="Mark cleaned").click()
        page.locator("#message").filter(has_text="marked cleaned").wait_for(timeout=15_000)
        page.locator("#status").filter(has_text="Free").wait_for(timeout=15_000)
        assert page.get_by_role("button", name="Mark cleaned").is_hidden()
        page.close()
    finally:
        server.should_exit = True
