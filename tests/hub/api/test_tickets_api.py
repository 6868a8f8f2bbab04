"""The tickets and assets API over a real database: open, list, move, comment, assign, and clear refusals."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from devices.site import SAMPLE_BUILDING, load_building
from hub.api.app import create_app
from hub.runtime import Database
from hub.services.assets import sync_assets
from hub.services.principals import Role
from hub.settings import Settings
from tests.access import bearer, make_user, token_for
from tests.databases import ScratchDatabase


@pytest.fixture
def client(site_database: Database, database: ScratchDatabase) -> Iterator[TestClient]:
    """A facilities member's client (``user:fran``)."""
    with site_database.sessions.begin() as session:
        sync_assets(session, load_building(SAMPLE_BUILDING))
    settings = Settings(database_url=database.url)
    staff = bearer(token_for(settings, make_user(site_database, Role.FACILITIES, username="fran")))
    with TestClient(create_app(settings), headers=staff) as test_client:
        yield test_client


def test_a_ticket_through_its_flow_with_history(client: TestClient) -> None:
    opened = client.post(
        "/tickets",
        json={"title": "Kiosk screen cracked", "asset_id": "reception/kiosk", "priority": "high", "reporter": "sam"},
    )
    assert opened.status_code == 201, opened.text
    ticket = opened.json()
    assert (ticket["room_id"], ticket["status"], ticket["source"], ticket["priority"]) == (
        "reception",
        "open",
        "staff",
        "high",
    )
    number = ticket["id"]
    assert client.post(f"/tickets/{number}/assign", json={"assignee": "kim", "team": "av"}).json()["assignee"] == "kim"
    assert client.post(f"/tickets/{number}/comments", json={"text": "ordered a new panel"}).status_code == 201
    for status in ("acknowledged", "in_progress", "resolved", "closed"):
        moved = client.post(f"/tickets/{number}/transition", json={"to": status, "note": f"now {status}"})
        assert moved.status_code == 200, moved.text
    refused = client.post(f"/tickets/{number}/transition", json={"to": "in_progress"})
    assert refused.status_code == 409
    assert "from closed to in_progress" in refused.json()["detail"]
    detail = client.get(f"/tickets/{number}").json()
    assert detail["asset"]["name"] == "kiosk"
    assert [e["kind"] for e in detail["history"]] == ["opened", "assigned", "comment", *["transition"] * 4]
    assert {e["actor"] for e in detail["history"][1:]} == {"user:fran"}
    assert [t["id"] for t in client.get("/tickets", params={"status": "closed", "room": "reception"}).json()] == [
        number
    ]
    assert client.get("/tickets", params={"open": True}).json() == []


def test_a_repeat_report_on_an_asset_adds_to_its_open_ticket(client: TestClient) -> None:
    first = client.post("/tickets", json={"title": "No paper", "asset_id": "reception-printer-1"}).json()
    again = client.post("/tickets", json={"title": "Still no paper", "asset_id": "reception-printer-1"}).json()
    assert again["id"] == first["id"] and again["occurrences"] == 2


def test_assets_are_listed_and_found_by_id(client: TestClient) -> None:
    in_reception = {a["id"] for a in client.get("/assets", params={"room": "reception"}).json()}
    assert {"reception-printer-1", "reception/badge-printer", "reception/kiosk"} <= in_reception
    assert client.get("/assets/reception/kiosk").json()["kind"] == "equipment"
    assert client.get("/assets/reception-printer-1").json()["kind"] == "badge_printer"


BAD_REQUESTS: list[tuple[str, str, dict[str, object] | None, int]] = [
    ("get", "/tickets/999999", None, 404),
    ("get", "/assets/nowhere", None, 404),
    ("post", "/tickets", {"title": "x", "asset_id": "nowhere"}, 404),
    ("post", "/tickets", {"title": "x", "room_id": "nowhere"}, 404),
    ("post", "/tickets", {"title": ""}, 422),
    ("post", "/tickets", {"title": "x", "priority": "urgent"}, 422),
    ("post", "/tickets", {"title": "x", "colour": "red"}, 422),
    ("post", "/tickets/999999/transition", {"to": "resolved"}, 404),
    ("post", "/tickets/999999/comments", {"text": "hello"}, 404),
]


def test_bad_requests_get_a_reason(client: TestClient) -> None:
    for method, path, body, status in BAD_REQUESTS:
        response = client.request(method, path, json=body)
        assert response.status_code == status, (method, path, body, response.text)
        assert response.json()["detail"]
