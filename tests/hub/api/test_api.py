"""The HTTP API over a real database holding what devices said."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from devices.topics import ONLINE, Channel, device_topic
from hub.api.app import create_app
from hub.runtime import Database, load_site
from hub.services.ingest import RawMessage, classify, plan_batch
from hub.services.principals import Role
from hub.settings import Settings
from hub.store.building_sync import sync_building
from hub.store.journal import load_registry, write_batch
from tests.access import headers_for
from tests.databases import ScratchDatabase
from tests.helpers import environment_payload

ENV = "atlas-env"  # the sample building's Atlas room, ground floor


@pytest.fixture
def client(database: ScratchDatabase) -> Iterator[TestClient]:
    settings = Settings(database_url=database.url)
    db = Database.open(database.url)
    with db.sessions.begin() as session:
        sync_building(session, load_site(settings))
    with db.sessions() as session:
        registry = load_registry(session, "hq")
    now = datetime.now(UTC)
    messages = [
        (device_topic("hq", ENV, Channel.TELEMETRY), environment_payload(ENV, 1, co2=650)),
        (device_topic("hq", ENV, Channel.TELEMETRY), environment_payload(ENV, 2, co2=700)),
        (device_topic("hq", ENV, Channel.AVAILABILITY), ONLINE),
        (device_topic("hq", "ghost", Channel.TELEMETRY), b"{}"),
    ]
    results = [classify(RawMessage(t, p, now), registry, max_bytes=4096) for t, p in messages]
    with db.sessions.begin() as session:
        write_batch(session, plan_batch(results, liveness_s={}), dead_letter_limit=100)
    staff = headers_for(db, settings, Role.FACILITIES)
    db.close()
    with TestClient(create_app(settings), headers=staff) as test_client:
        yield test_client


def test_health_reports_the_database_and_that_no_hub_runs_in_this_process(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert response.json()["mqtt"] == "not running"


def test_devices_filter_by_room_kind_and_availability(client: TestClient) -> None:
    in_atlas = client.get("/devices", params={"room": "atlas"}).json()
    assert {d["kind"] for d in in_atlas} == {"occupancy", "environment", "energy", "door_display", "safety"}
    assert all(d["floor_id"] == "ground" for d in in_atlas)
    printers = client.get("/devices", params={"kind": "badge_printer"}).json()
    assert [d["room_id"] for d in printers] == ["reception", "reception"]
    online = client.get("/devices", params={"online": "true"}).json()
    assert [d["id"] for d in online] == [ENV]
    everything = client.get("/devices", params={"limit": 10_000}).json()
    assert len(everything) == 152


def test_one_device_comes_with_its_latest_telemetry(client: TestClient) -> None:
    body = client.get(f"/devices/{ENV}").json()
    assert body["online"] is True
    assert body["last_seq"] == 2
    assert body["latest_telemetry"]["seq"] == 2
    assert body["latest_telemetry"]["data"]["co2_ppm"] == 700


def test_an_unknown_device_is_a_404_that_says_so(client: TestClient) -> None:
    response = client.get("/devices/nobody-here")
    assert response.status_code == 404
    assert "nobody-here" in response.json()["detail"]


def test_a_bad_filter_is_a_422_naming_the_parameter(client: TestClient) -> None:
    response = client.get("/devices", params={"kind": "toaster"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "kind"]


def test_ingest_stats_and_dead_letters(client: TestClient) -> None:
    stats = client.get("/ingest/stats").json()
    assert stats["received"] == 4
    assert stats["stored"] == 2
    assert stats["rejected_by_reason"] == {"unknown_device": 1}
    assert stats["dead_letters_kept"] == 1
    letters = client.get("/ingest/rejects", params={"reason": "unknown_device"}).json()
    assert letters[0]["topic"] == device_topic("hq", "ghost", Channel.TELEMETRY)
    assert letters[0]["payload_preview"] == "{}"


def test_openapi_documents_every_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/health", "/devices", "/devices/{device_id}", "/ingest/stats", "/ingest/rejects"} <= set(paths)
