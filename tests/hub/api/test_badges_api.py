"""The badge routes over a real database: status for the kiosk, PNG and ZPL for reception, reasons for 404s."""

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image

from hub.api.app import create_app
from hub.runtime import Database
from hub.services.badges import BadgeFacts, purge_badge_personal_data, request_badge
from hub.services.principals import Role
from hub.settings import Settings
from hub.store import audit
from hub.store.auth_models import KeyKind
from hub.store.models import Device
from tests.access import bearer, issue_key, make_user, token_for
from tests.databases import ScratchDatabase

NOW = datetime(2030, 1, 7, 9, tzinfo=UTC)
FACTS = BadgeFacts(
    visit_id=42,
    visitor_name="Katherine Johnson",
    company=None,
    host_name="Dorothy Vaughan",
    visitor_type="interview",
    day=date(2030, 1, 7),
    checkout_token="ATR1.api-test-token",
)


@pytest.fixture
def settings(database: ScratchDatabase) -> Settings:
    return Settings(database_url=database.url)


@pytest.fixture
def client(site_database: Database, settings: Settings) -> Iterator[TestClient]:
    """The reception kiosk's client, with its key."""
    with site_database.sessions.begin() as session:
        session.get_one(Device, "reception-printer-2").online = True
        request_badge(session, site_id="hq", facts=FACTS, kiosk_id="reception", now=NOW)
    kiosk = bearer(issue_key(site_database, KeyKind.KIOSK, name="lobby kiosk"))
    with TestClient(create_app(settings), headers=kiosk) as test_client:
        yield test_client


@pytest.fixture
def reception(site_database: Database, settings: Settings) -> dict[str, str]:
    """A receptionist's header: ``user:rita``."""
    return bearer(token_for(settings, make_user(site_database, Role.RECEPTION, username="rita")))


def test_the_kiosk_reads_where_the_badge_is_printing(client: TestClient) -> None:
    response = client.get("/visits/42/badge")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"job_id", "status", "printer_id", "printer_name", "location", "message", "failovers"}
    assert (body["status"], body["printer_name"], body["location"]) == ("sent", "Reception printer 2", "Reception")
    assert body["message"] == "Your badge is printing at Reception printer 2, Reception."


def test_reception_gets_the_badge_as_png_and_zpl_and_each_read_is_audited(
    client: TestClient, reception: dict[str, str], site_database: Database
) -> None:
    png = client.get("/visits/42/badge.png", headers=reception)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(png.content))
    assert [code.text for code in zxingcpp.read_barcodes(image)] == [FACTS.checkout_token]
    zpl = client.get("/visits/42/badge.zpl", headers=reception)
    assert zpl.status_code == 200 and zpl.headers["content-type"].startswith("application/zpl")
    assert "^FDKatherine Johnson^FS" in zpl.text
    with site_database.sessions() as session:
        found = sorted((e.action, e.actor) for e in audit.entries(session, object_type="visit", object_id=42))
    assert [action for action, _ in found] == ["badge.print", "badge.read_png", "badge.read_zpl"]
    assert [actor for action, actor in found if action.startswith("badge.read")] == ["user:rita", "user:rita"]


@pytest.mark.parametrize("path", ["/visits/7/badge", "/visits/7/badge.png", "/visits/7/badge.zpl"])
def test_a_visit_without_a_badge_is_a_404_that_says_so(
    client: TestClient, reception: dict[str, str], path: str
) -> None:
    response = client.get(path, headers=reception)
    assert response.status_code == 404
    assert response.json() == {"detail": "visit 7 has no badge"}


@pytest.mark.parametrize("visit", ["abc", "0", "-1", "99999999999999999999999"])
def test_a_malformed_visit_id_is_refused(client: TestClient, visit: str) -> None:
    assert client.get(f"/visits/{visit}/badge").status_code == 422


def test_a_purged_badge_is_gone_but_its_status_remains(
    client: TestClient, reception: dict[str, str], site_database: Database
) -> None:
    with site_database.sessions.begin() as session:
        purge_badge_personal_data(session, [42])
    response = client.get("/visits/42/badge.png", headers=reception)
    assert response.status_code == 404
    assert "retention" in response.json()["detail"]
    assert client.get("/visits/42/badge").json()["status"] == "sent"
