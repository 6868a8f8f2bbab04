"""Kiosk test fixtures: anyio for Pilot, QR images as the camera, one real hub (API, broker, printers) per module,
with a kiosk key for the kiosks under test and a reception user for what staff do through the API."""

import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from devices.site import SAMPLE_BUILDING, load_building
from firmware_sim.badge_printer import BadgePrinter
from firmware_sim.fleet import Fleet, FleetThread
from hub.api.app import create_app
from hub.mqtt.embedded_broker import free_port
from hub.runtime import Hub
from hub.services.badges import known_faulted
from hub.services.people import load_people, sync_people
from hub.services.principals import Role
from hub.settings import Settings
from hub.store.auth_models import KeyKind
from hub.store.models import Device
from kiosk.testset import PERTURBATIONS, render_scene
from tests.access import headers_for, issue_key
from tests.brokers import start_test_broker
from tests.helpers import Notifications, printers_only, wait_for

CLEAN = PERTURBATIONS[1]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def qr_camera(folder: Path, *texts: str, seed: int = 1) -> str:
    """A folder of 720p camera frames, each a phone showing one QR code, for ``--camera``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for index, text in enumerate(texts):
        cv2.imwrite(str(folder / f"frame-{index:02d}.jpg"), render_scene(text, CLEAN, rng=rng))
    return str(folder)


def dead_hub_url() -> str:
    """A hub address where nothing listens: connections are refused at once."""
    return f"http://127.0.0.1:{free_port()}"


async def until(pilot: Pilot[Any], predicate: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    """Let the app run until ``predicate()`` is true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            screen = pilot.app.screen
            raise AssertionError(f"timed out waiting for {what}; screen {screen.id}: {screen_text(pilot)!r}")
        await pilot.pause(0.05)


def screen_text(pilot: Pilot[Any]) -> str:
    """All the text of the current screen's Static widgets (labels, messages, titles), one per line."""
    return "\n".join(str(widget.content) for widget in pilot.app.screen.query(Static))


def on_screen(pilot: Pilot[Any], screen_id: str) -> Callable[[], bool]:
    return lambda: pilot.app.screen.id == screen_id


Step = Callable[[Pilot[Any]], Awaitable[None]]


async def type_text(pilot: Pilot[Any], text: str) -> None:
    """Type as a visitor would, key by key."""
    await pilot.press(*[{" ": "space"}.get(char, char) for char in text])


@dataclass
class ServedApi:
    """The hub's FastAPI app under uvicorn in a thread, on a free port; ``stop()`` takes it down."""

    url: str
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def serve_api(app: Any) -> ServedApi:
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="kiosk-test-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the hub's API did not start")
        time.sleep(0.02)
    return ServedApi(url=f"http://127.0.0.1:{port}", server=server, thread=thread)


@pytest.fixture
def served() -> Iterator[Callable[[Any], ServedApi]]:
    """Start APIs for one test; each is stopped at the end (a test may stop one sooner)."""
    started: list[ServedApi] = []

    def start(app: Any) -> ServedApi:
        api = serve_api(app)
        started.append(api)
        return api

    yield start
    for api in started:
        api.stop()


@dataclass
class Site:
    """A running hub over the sample building: its API, its simulated badge printers, and what it notifies.

    ``kiosk_key`` is the kiosks' API key; ``http`` calls the API as a reception user."""

    hub: Hub
    api: ServedApi
    fleet: FleetThread
    notifications: Notifications
    http: httpx.Client
    kiosk_key: str

    @property
    def url(self) -> str:
        return self.api.url

    def invite(self, visitor_name: str, *, host_id: str = "ann", visitor_type: str = "guest", **fields: Any) -> str:
        """Invite a visitor for a window around now; returns the QR token the invitation carries."""
        now = datetime.now(UTC)
        body = {
            "visitor_name": visitor_name,
            "visitor_email": f"{visitor_name.split()[0].lower()}@visitor.example",
            "host_id": host_id,
            "visitor_type": visitor_type,
            "starts_at": (now - timedelta(minutes=30)).isoformat(),
            "ends_at": (now + timedelta(hours=2)).isoformat(),
            **fields,
        }
        response = self.http.post("/visits/invitations", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["token"])

    def visit(self, visit_id: int) -> dict[str, Any]:
        response = self.http.get(f"/visits/{visit_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def visit_named(self, visitor_name: str) -> dict[str, Any]:
        response = self.http.get("/visits")
        assert response.status_code == 200, response.text
        [found] = [visit for visit in response.json() if visit["visitor_name"] == visitor_name]
        return dict(found)

    def badge_png(self, visit_id: int) -> bytes:
        response = self.http.get(f"/visits/{visit_id}/badge.png")
        assert response.status_code == 200, response.text
        return response.content

    def printer(self, device_id: str) -> BadgePrinter:
        device = self.fleet.fleet.device(device_id)
        assert isinstance(device, BadgePrinter)
        return device

    def printer_faulted(self, device_id: str) -> bool:
        assert self.hub.database is not None
        with self.hub.database.sessions() as session:
            return known_faulted(session, device_id)


PRINTERS = ("reception-printer-1", "reception-printer-2")
CONTRACTOR_AGREEMENT = {
    "visitor_type": "contractor",
    "title": "Contractor safety and confidentiality",
    "text": "I will wear my badge, follow the safety rules and keep what I see confidential.",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One real hub per test module: mosquitto, a SQLite database, the sample building and people, the API
    under uvicorn, and the reception's two badge printers simulated over MQTT. Tests use their own visitors."""
    workdir = tmp_path_factory.mktemp("kiosk-site")
    broker = start_test_broker(workdir)
    settings = Settings(
        database_url=f"sqlite:///{workdir / 'atrium.db'}",
        mqtt_url=broker.endpoint.url,
        building=str(SAMPLE_BUILDING),
        mail_outbox_dir=workdir / "mail",
    )
    hub = Hub(settings)
    hub.start()
    assert hub.database is not None
    with hub.database.sessions.begin() as session:  # the directory, in case this hub does not load it at start
        sync_people(session, load_people(settings.people_file))
    fleet = FleetThread(Fleet(printers_only(load_building(SAMPLE_BUILDING)), broker.endpoint, interval_s=30)).start()
    notifications = Notifications(broker.endpoint, client_id="kiosk-test-bridge")
    database = hub.database
    api = serve_api(create_app(settings, hub=hub))
    http = httpx.Client(base_url=api.url, timeout=10, headers=headers_for(database, settings, Role.RECEPTION))
    try:
        assert fleet.wait_online(30)

        def printers_online() -> bool:
            with database.sessions() as session:
                return all(session.get_one(Device, p).online for p in PRINTERS)

        wait_for(printers_online, what="the hub seeing both badge printers online")
        wait_for(notifications.client.is_connected, what="the notification bridge connected")
        admin = headers_for(database, settings, Role.ADMIN)
        assert http.post("/agreements", json=CONTRACTOR_AGREEMENT, headers=admin).status_code == 201
        kiosk_key = issue_key(database, KeyKind.KIOSK, name="reception kiosk")
        yield Site(hub=hub, api=api, fleet=fleet, notifications=notifications, http=http, kiosk_key=kiosk_key)
    finally:
        http.close()
        api.stop()
        notifications.close()
        fleet.stop()
        hub.stop()
        broker.kill()
