"""Facilities routes over a real database: QR labels and the no-login report form, cleaning, safety incidents."""

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image

from devices.kinds import DeviceKind
from devices.payloads import SafetyTelemetry
from devices.site import SAMPLE_BUILDING, load_building
from hub.api.app import create_app
from hub.runtime import Database
from hub.services.asset_labels import report_token
from hub.services.assets import sync_assets
from hub.services.principals import Role
from hub.services.reactions import NewMessage
from hub.services.safety import SafetyRules, react_to_safety_reading
from hub.settings import Settings
from hub.store.auth_models import KeyKind
from hub.store.facilities_models import RoomCleaning
from hub.store.room_live_models import RoomLive
from hub.store.ticket_models import Ticket
from tests.access import bearer, issue_key, make_user, token_for
from tests.databases import ScratchDatabase

SECRET = "cd" * 32
PRINTER = "reception-printer-1"
BASE = "https://atrium.example.com"


@pytest.fixture
def client(site_database: Database, database: ScratchDatabase) -> Iterator[TestClient]:
    """A facilities member's client (``user:sam``)."""
    with site_database.sessions.begin() as session:
        sync_assets(session, load_building(SAMPLE_BUILDING))
    settings = Settings(database_url=database.url, secret_key=SECRET, report_base_url=BASE)
    staff = bearer(token_for(settings, make_user(site_database, Role.FACILITIES, username="sam")))
    with TestClient(create_app(settings), headers=staff) as test_client:
        yield test_client


def signed_out(client: TestClient) -> TestClient:
    """The same client as a passer-by who scanned a label: no credentials."""
    del client.headers["Authorization"]
    return client


def decoded(png: bytes) -> list[str]:
    return [code.text for code in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_an_asset_labels_qr_code_opens_a_form_that_opens_a_ticket_without_login(
    client: TestClient, site_database: Database
) -> None:
    png = client.get(f"/assets/{PRINTER}/label.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    key = report_token(bytes.fromhex(SECRET), PRINTER)
    [url] = decoded(png.content)
    assert url == f"{BASE}/report/{PRINTER}?k={key}"
    svg = client.get(f"/assets/{PRINTER}/label.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert "Reception, Ground floor" in svg.text
    assert client.get("/assets/no-such-thing/label.png").status_code == 404
    signed_out(client)
    path = urlsplit(url).path
    assert parse_qs(urlsplit(url).query)["k"] == [key]
    page = client.get(path, params={"k": key})
    assert page.status_code == 200 and "Report a problem" in page.text and "Reception" in page.text
    sent = client.post(
        path, params={"k": key}, data={"what": "Labels come out smudged <b>", "name": "Ada", "email": "ada@example.com"}
    )
    assert sent.status_code == 201
    number = int(re.search(r"ticket (\d+)", sent.text).group(1))  # type: ignore[union-attr]
    assert "<b>" not in sent.text
    with site_database.sessions() as session:
        ticket = session.get_one(Ticket, number)
        assert (ticket.asset_id, ticket.source, ticket.room_id) == (PRINTER, "qr", "reception")
        assert ticket.description == "Labels come out smudged <b>"


def test_bad_keys_and_bad_reports_are_refused_with_a_reason_and_open_nothing(
    client: TestClient, site_database: Database
) -> None:
    signed_out(client)
    other = report_token(bytes.fromhex(SECRET), "reception-printer-2")  # another asset's label
    for bad, reason in (
        (None, "has no key"),
        ("wrong", "not the one on the label"),
        (other, "not the one on the label"),
    ):
        params = {"k": bad} if bad else {}
        for response in (
            client.get(f"/report/{PRINTER}", params=params),
            client.post(f"/report/{PRINTER}", params=params, data={"what": "broken"}),
        ):
            assert response.status_code == 403
            assert reason in response.text
    key = report_token(bytes.fromhex(SECRET), PRINTER)
    for form, reason in (
        ({"what": "   "}, "say what is wrong"),
        ({"what": "x" * 1001}, "keep it under 1000"),
        ({"what": "jam", "email": "not-an-email"}, "does not look like one"),
        ({"what": "jam", "name": "n" * 121}, "longer than 120"),
    ):
        response = client.post(f"/report/{PRINTER}", params={"k": key}, data=form)
        assert response.status_code == 422 and reason in response.text, form
    huge = client.post(f"/report/{PRINTER}", params={"k": key}, data={"what": "y" * 20_000})
    assert huge.status_code == 422 and "larger than" in huge.text
    as_json = client.post(f"/report/{PRINTER}", params={"k": key}, json={"what": "jam"})
    assert as_json.status_code == 422
    with site_database.sessions() as session:
        assert session.scalars(sa.select(Ticket)).all() == []


def test_cleaning_list_per_floor_and_marking_cleaned_by_api_and_panel(
    client: TestClient, site_database: Database
) -> None:
    floors = client.get("/cleaning").json()
    assert [floor["floor_id"] for floor in floors] == ["ground", "first", "second", "third"]
    assert {"room_id", "meetings", "occupied_minutes", "need", "due"} <= set(floors[0]["rooms"][0])
    assert client.get("/cleaning", params={"due": True}).json() == []
    done = client.post("/cleaning/atlas/done")
    assert done.status_code == 200 and done.json()["cleaned_by"] == "user:sam"
    assert client.post("/cleaning/nowhere/done").status_code == 404
    token = issue_key(site_database, KeyKind.PANEL, name="atlas panel", room_id="atlas")
    signed_out(client)
    assert client.post("/panel/atlas/cleaned", params={"token": token}).status_code == 204
    refused = client.post("/panel/boreal/cleaned", params={"token": token})
    assert refused.status_code == 403 and "boreal" in refused.json()["detail"]
    assert client.post("/cleaning/atlas/done", headers=bearer(token)).status_code == 403
    with site_database.sessions() as session:
        assert session.get_one(RoomCleaning, "atlas").cleaned_by == "key:atlas panel"


def alarm(session_factory: Database, *, smoke: bool, seq: int) -> None:
    at = datetime.now(UTC)
    reading = SafetyTelemetry(
        v=1,
        device_id="atlas-safe",
        seq=seq,
        ts=at,
        kind=DeviceKind.SAFETY,
        smoke=smoke,
        co_ppm=0.4,
        leak=False,
        battery_pct=80,
    )
    with session_factory.sessions.begin() as session:
        new = NewMessage(device_id="atlas-safe", message=reading, received_at=at)
        react_to_safety_reading(session, new, at, rules=SafetyRules())


def test_staff_acknowledge_then_close_a_cleared_incident_and_the_room_is_back_in_order(
    client: TestClient, site_database: Database
) -> None:
    alarm(site_database, smoke=True, seq=1)
    alarm(site_database, smoke=True, seq=2)
    [incident] = client.get("/safety/incidents").json()
    assert (incident["hazard"], incident["status"], incident["alarms"]) == ("smoke", "active", 2)
    number = incident["id"]
    acknowledged = client.post(f"/safety/incidents/{number}/acknowledge", json={"note": "on my way"})
    assert acknowledged.status_code == 200
    assert acknowledged.json()["timeline"][-1] | {"at": None} == {
        "at": None,
        "what": "acknowledged",
        "actor": "user:sam",
        "note": "on my way",
    }
    early = client.post(f"/safety/incidents/{number}/close", json={})
    assert early.status_code == 409 and "still sounds" in early.json()["detail"]
    alarm(site_database, smoke=False, seq=3)
    closed = client.post(f"/safety/incidents/{number}/close", json={"note": "burnt toast"})
    assert closed.status_code == 200
    timeline = [entry["what"] for entry in closed.json()["timeline"]]
    assert timeline == ["detected", "out_of_order", "notified", "acknowledged", "cleared", "closed", "back_in_order"]
    assert client.get("/safety/incidents").json() == []
    assert len(client.get("/safety/incidents", params={"closed": True}).json()) == 1
    with site_database.sessions() as session:
        assert not session.get_one(RoomLive, "atlas").out_of_order
    alarm(site_database, smoke=True, seq=4)  # a new alarm after closing is a new incident
    assert [i["id"] != number for i in client.get("/safety/incidents").json()] == [True]
    assert client.post("/safety/incidents/9999/close", json={}).status_code == 404
