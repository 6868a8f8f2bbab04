"""The visitor API as the kiosk and reception use it (docs/visitor-api.md): bodies, status codes, reasons."""

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.api.deps import utc_now
from hub.runtime import Database
from hub.services.principals import Role
from hub.settings import Settings
from hub.store.audit import entries
from hub.store.auth_models import KeyKind
from hub.store.room_live_models import RoomLive
from tests.access import bearer, headers_for, issue_key, make_user, token_for
from tests.databases import ScratchDatabase
from tests.hub.booking_helpers import local
from tests.hub.visit_helpers import AT_NINE, NOW, SECRET, with_people

JPEG = base64.b64encode(b"\xff\xd8\xff\xe0 a tiny jpeg").decode()


@dataclass
class Clock:
    now: datetime = NOW


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(database: ScratchDatabase, tmp_path: Path) -> Settings:
    return Settings(database_url=database.url, secret_key=SECRET.hex(), mail_outbox_dir=tmp_path / "mail")


@pytest.fixture
def client(site_database: Database, settings: Settings, clock: Clock) -> Iterator[TestClient]:
    """Reception's client (``user:rita``), which sees every visit."""
    with_people(site_database)
    app = create_app(settings)
    app.dependency_overrides[utc_now] = lambda: clock.now
    with TestClient(app, headers=signed_in(site_database, settings, Role.RECEPTION, "rita")) as test_client:
        yield test_client


def signed_in(
    database: Database, settings: Settings, role: Role, name: str, email: str | None = None
) -> dict[str, str]:
    """The header of a new user ``name`` (actor ``user:<name>``) with ``role``."""
    return bearer(token_for(settings, make_user(database, role, username=name, email=email)))


@pytest.fixture
def kiosk(site_database: Database) -> dict[str, str]:
    """The lobby kiosk's key."""
    return bearer(issue_key(site_database, KeyKind.KIOSK, name="lobby kiosk"))


def _invite(client: TestClient, **changes: Any) -> dict[str, Any]:
    body = {
        "visitor_name": "Lee Visitor",
        "visitor_email": "lee@example.org",
        "company": "Acme",
        "host_id": "ann",
        "visitor_type": "guest",
        "starts_at": "2026-10-19T09:00:00+01:00",
        "ends_at": "2026-10-19T12:00:00+01:00",
    }
    response = client.post("/visits/invitations", json={**body, **changes})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_people_are_searched_by_name(client: TestClient, kiosk: dict[str, str]) -> None:
    found = client.get("/people", params={"q": "rossi"}, headers=kiosk).json()
    assert found == [{"id": "chiara", "name": "Chiara Rossi", "email": "chiara.rossi@example.com", "team": "Design"}]


def test_invitation_scan_sign_check_in_check_out(
    client: TestClient, clock: Clock, site_database: Database, settings: Settings, kiosk: dict[str, str], tmp_path: Path
) -> None:
    admin = headers_for(site_database, settings)
    agreement = {"visitor_type": "guest", "title": "NDA", "text": "Shh."}
    nda = client.post("/agreements", json=agreement, headers=admin).json()
    assert client.get("/agreements/current", params={"visitor_type": "guest"}, headers=kiosk).json() == nda
    assert client.get("/agreements/current", params={"visitor_type": "delivery"}).status_code == 404
    invited = _invite(client)
    assert invited["status"] == "invited" and invited["token"].startswith("ATR1.")
    assert invited["host"]["name"] == "Ann Smith" and invited["badge"] is None
    assert (tmp_path / "mail" / f"{invited['id']}.eml").exists()
    assert client.get(invited["links"]["qr_png"]).headers["content-type"] == "image/png"
    assert "<svg" in client.get(invited["links"]["qr_svg"]).text
    assert b"BEGIN:VCALENDAR" in client.get(invited["links"]["calendar"]).content
    assert b"Content-ID" in client.get(invited["links"]["email"]).content

    clock.now = AT_NINE
    preview = client.post("/visits/scan", json={"token": invited["token"]}, headers=kiosk).json()
    assert preview == {
        "kind": "invitation",
        "visit_id": invited["id"],
        "visitor_name": "Lee Visitor",
        "company": "Acme",
        "host_name": "Ann Smith",
        "visitor_type": "guest",
        "agreement": nda,
    }
    check_in = {"token": invited["token"], "kiosk_id": "kiosk-1", "photo_jpeg_b64": JPEG}
    unsigned = client.post("/visits/check-in", json=check_in, headers=kiosk)
    assert unsigned.status_code == 409 and unsigned.json()["reason"] == "agreement_required"
    signature = {"agreement_hash": nda["hash"], "signed_name": "Lee"}
    signed = client.post("/visits/check-in", json={**check_in, "signature": signature}, headers=kiosk)
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert body["admitted"] and body["visit"]["status"] == "checked_in" and body["visit"]["badge"] is not None
    again = client.post("/visits/check-in", json=check_in, headers=kiosk)
    assert (again.status_code, again.json()["reason"]) == (409, "already_used")

    roll = client.get("/rollcall").json()
    assert [(v["visitor_name"], v["host_name"]) for v in roll["visitors"]] == [("Lee Visitor", "Ann Smith")]
    assert "Lee Visitor (Acme) - host Ann Smith" in client.get("/rollcall.txt").text

    left = client.post(f"/visits/{invited['id']}/check-out")
    assert left.status_code == 200 and left.json()["status"] == "checked_out"
    assert client.post(f"/visits/{invited['id']}/check-out").status_code == 409
    assert client.get("/rollcall").json()["visitors"] == []
    assert client.get(f"/visits/{invited['id']}").json()["checked_out_at"] is not None
    with site_database.sessions() as session:
        reads = [e for e in entries(session, object_type="visit", object_id=invited["id"]) if e.action == "visit.read"]
    assert reads and {entry.actor for entry in reads} == {"user:rita"}


def test_refused_codes_carry_a_reason(client: TestClient, clock: Clock, kiosk: dict[str, str]) -> None:
    token = _invite(client)["token"]
    client.headers.update(kiosk)
    garbage = client.post("/visits/scan", json={"token": "hello"})
    assert (garbage.status_code, garbage.json()["reason"]) == (400, "malformed")
    altered = client.post("/visits/scan", json={"token": token[:-2] + ("AA" if token[-2:] != "AA" else "BB")})
    assert (altered.status_code, altered.json()["reason"]) == (403, "bad_signature")
    clock.now = local(2026, 10, 19, 7, 30)
    early = client.post("/visits/check-in", json={"token": token, "kiosk_id": "k"})
    assert early.json()["reason"] == "not_yet_valid" and "valid from 08:00" in early.json()["detail"]


def test_a_walk_in_form_error_is_reported_beside_the_field(
    client: TestClient, clock: Clock, kiosk: dict[str, str]
) -> None:
    clock.now = AT_NINE
    form = {"visitor_name": "Sam", "host_id": "bob", "purpose": "Delivery", "kiosk_id": "kiosk-1"}
    bad = client.post(
        "/visits/walk-ins", json={**form, "visitor_name": "", "photo_jpeg_b64": "not base64!"}, headers=kiosk
    )
    assert bad.status_code == 422
    assert {tuple(error["loc"]) for error in bad.json()["detail"]} == {
        ("body", "visitor_name"),
        ("body", "photo_jpeg_b64"),
    }
    unknown_host = client.post("/visits/walk-ins", json={**form, "host_id": "nobody"}, headers=kiosk)
    assert unknown_host.status_code == 404
    delivery = {**form, "company": "Parcels Ltd", "visitor_type": "delivery"}
    made = client.post("/visits/walk-ins", json=delivery, headers=kiosk)
    assert made.status_code == 201 and made.json()["admitted"]
    assert [v["status"] for v in client.get("/visits", params={"day": "2026-10-19"}).json()] == ["checked_in"]


def test_a_blocked_visitor_is_held_for_reception(client: TestClient, clock: Clock, kiosk: dict[str, str]) -> None:
    entry = client.post("/blocklist", json={"company": "acme", "reason": "Unpaid invoices"}).json()
    held = _invite(client)
    assert held["status"] == "held" and "Unpaid invoices" in held["held_reason"]
    clock.now = AT_NINE
    arriving = {"token": held["token"], "kiosk_id": "kiosk-1"}
    waiting = client.post("/visits/check-in", json=arriving, headers=kiosk).json()
    assert waiting["admitted"] is False and "reception" in waiting["message"]
    approved = client.post(f"/visits/{held['id']}/approve").json()
    assert approved["admitted"] and approved["visit"]["status"] == "checked_in"
    assert client.delete(f"/blocklist/{entry['id']}").status_code == 204
    assert client.get("/blocklist").json() == []


def test_the_roll_call_lists_rooms_with_people_by_fresh_readings(
    client: TestClient, clock: Clock, site_database: Database
) -> None:
    clock.now = AT_NINE
    with site_database.sessions.begin() as session:
        session.add(RoomLive(room_id="atlas", people=4, observed_at=local(2026, 10, 19, 8, 58)))
        session.add(RoomLive(room_id="boreal", people=2, observed_at=local(2026, 10, 19, 7)))
        session.add(RoomLive(room_id="cedar", people=0, observed_at=local(2026, 10, 19, 8, 59)))
    roll = client.get("/rollcall").json()
    assert roll["site"] == "Atrium HQ"
    assert [(room["room_id"], room["people"]) for room in roll["rooms"]] == [("atlas", 4)]
    assert "OCCUPIED ROOMS: 1 (4 people counted by sensors)" in client.get("/rollcall.txt").text


def test_a_host_reads_their_own_visitors_visit_only(
    client: TestClient, site_database: Database, settings: Settings
) -> None:
    ann = signed_in(site_database, settings, Role.HOST, "ann", "ann@example.com")
    mine = _invite(client)["id"]
    bobs = _invite(client, host_id="bob", visitor_email="kim@example.org")["id"]
    assert client.get(f"/visits/{mine}", headers=ann).status_code == 200
    refused = client.get(f"/visits/{bobs}", headers=ann)
    assert refused.status_code == 403 and "their own" in refused.json()["detail"]
    assert client.get(f"/visits/{bobs}/qr.png", headers=ann).status_code == 403
    assert client.get("/visits", headers=ann).status_code == 403
    with site_database.sessions() as session:
        readers = {e.actor for e in entries(session, object_type="visit", object_id=mine) if e.action == "visit.read"}
    assert readers == {"user:ann"}
