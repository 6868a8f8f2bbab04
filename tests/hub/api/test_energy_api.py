"""``GET /energy`` and ``GET /energy/after-hours`` over the hand-computed fixture, and clear refusals."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.runtime import Database
from hub.services.principals import Role
from hub.settings import Settings
from tests.access import headers_for
from tests.databases import ScratchDatabase
from tests.hub.energy_fixture import add_occupancy, load_energy_fixture


@pytest.fixture
def client(site_database: Database, database: ScratchDatabase) -> Iterator[TestClient]:
    load_energy_fixture(site_database)
    add_occupancy(site_database)
    settings = Settings(database_url=database.url, energy_office_hours="07:00-19:00", energy_after_hours_min_kwh=0.5)
    facilities = headers_for(site_database, settings, Role.FACILITIES)
    with TestClient(create_app(settings), headers=facilities) as test_client:
        yield test_client


def test_floors_by_local_day_and_a_rooms_hours_in_site_time(client: TestClient) -> None:
    answer = client.get("/energy", params={"by": "floor", "period": "day", "from": "2025-06-10", "to": "2025-06-11"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["timezone"], body["total_kwh"]) == ("Europe/London", 10.75)
    ground = next(s for s in body["series"] if s["id"] == "ground")
    assert [(b["start"], b["kwh"]) for b in ground["buckets"]] == [
        ("2025-06-10T00:00:00+01:00", 7.75),
        ("2025-06-11T00:00:00+01:00", 1.0),
    ]
    body = client.get("/energy", params={"by": "room", "period": "hour", "from": "2025-06-10"}).json()
    atlas = next(s for s in body["series"] if s["id"] == "atlas")
    used = [(b["start"][11:16], round(b["kwh"], 6)) for b in atlas["buckets"] if b["kwh"]]
    assert used == [("10:00", 2.0), ("11:00", 1.5), ("12:00", 1.0), ("13:00", 1.0), ("14:00", 1.0), ("15:00", 0.25)]
    assert len(atlas["buckets"]) == 24


def test_after_hours_in_empty_rooms(client: TestClient) -> None:
    body = client.get("/energy/after-hours", params={"from": "2025-06-10", "to": "2025-06-11"}).json()
    assert body["office_hours"] == "07:00-19:00"
    assert [(h["room_id"], h["hour_start"], h["evidence"]) for h in body["hours"]] == [
        ("cedar", "2025-06-10T20:00:00+01:00", "sensor"),
        ("cedar", "2025-06-10T21:00:00+01:00", "sensor"),
        ("boreal", "2025-06-11T00:00:00+01:00", "room_live"),
    ]
    assert body["total_kwh"] == 3.0


BAD_QUERIES = [
    ({"by": "building"}, "room"),
    ({"period": "week"}, "hour"),
    ({"from": "2025-06-11", "to": "2025-06-01"}, "on or after its first day"),
    ({"period": "hour", "from": "2025-01-01", "to": "2025-06-01"}, "at most 31 days"),
    ({"from": "yesterday"}, "date"),
]


def test_bad_queries_get_a_422_with_the_reason(client: TestClient) -> None:
    for params, reason in BAD_QUERIES:
        answer = client.get("/energy", params=params)
        assert answer.status_code == 422, params
        assert reason in str(answer.json()["detail"]), params
