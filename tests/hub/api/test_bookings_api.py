"""The rooms and bookings API over a real database: status codes, bodies and the reasons given."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.api.deps import utc_now
from hub.runtime import Database
from hub.services.principals import Role
from hub.settings import Settings
from tests.access import bearer, headers_for, make_user, token_for
from tests.databases import ScratchDatabase
from tests.hub.booking_helpers import local

NOW = local(2026, 10, 19, 8)
"""Monday, 08:00 in London (BST, 07:00 UTC)."""
ANN = {"email": "ann@example.com", "name": "Ann Smith"}


@dataclass
class Clock:
    now: datetime = NOW


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(database: ScratchDatabase) -> Settings:
    return Settings(database_url=database.url, booking_check_in_minutes=5)


@pytest.fixture
def client(site_database: Database, settings: Settings, clock: Clock) -> Iterator[TestClient]:
    """Reception's client (``user:rita``), which books and changes rooms for anyone."""
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
def facilities(site_database: Database, settings: Settings) -> dict[str, str]:
    return signed_in(site_database, settings, Role.FACILITIES, "fay")


@pytest.fixture
def ann(site_database: Database, settings: Settings) -> dict[str, str]:
    """Ann, an employee (host) who books for herself."""
    return signed_in(site_database, settings, Role.HOST, "ann", ANN["email"])


def _booking(**changes: Any) -> dict[str, Any]:
    body = {
        "room_id": "atlas",
        "title": "Planning",
        "start": "2026-10-19T09:00:00+01:00",
        "end": "2026-10-19T10:00:00+01:00",
        "organiser": ANN,
        "attendees": ["bob@example.com"],
    }
    return {**body, **changes}


def _create(client: TestClient, **changes: Any) -> dict[str, Any]:
    response = client.post("/bookings", json=_booking(**changes))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_booking_is_created_and_shown_in_utc_and_site_time(client: TestClient) -> None:
    body = _create(client)
    assert body["start"] == "2026-10-19T08:00:00Z"
    assert body["local_start"] == "2026-10-19T09:00:00+01:00"
    assert body["local_end"] == "2026-10-19T10:00:00+01:00"
    assert body["timezone"] == "Europe/London"
    assert (body["room_name"], body["floor_id"], body["status"], body["source"]) == ("Atlas", "ground", "booked", "api")
    assert body["organiser"] == ANN
    assert body["attendees"] == ["bob@example.com"]
    assert client.get(f"/bookings/{body['id']}").json() == body


@pytest.mark.parametrize(
    ("changes", "status", "detail"),
    [
        ({"end": "2026-10-19T08:30:00+01:00"}, 422, "the booking must end after it starts"),
        ({"start": "2026-10-19T07:00:00+01:00"}, 422, "is in the past"),
        ({"room_id": "nowhere"}, 404, "there is no room 'nowhere'"),
        ({"room_id": "cafe"}, 422, "Café cannot be booked"),
        ({"room_id": "fjord", "attendees": ["b@example.com", "c@example.com"]}, 422, "Fjord seats 2"),
        ({"end": "2026-10-20T10:00:01+01:00"}, 422, "at most 24 hours"),
    ],
)
def test_a_refused_booking_says_why(client: TestClient, changes: dict[str, Any], status: int, detail: str) -> None:
    response = client.post("/bookings", json=_booking(**changes))
    assert response.status_code == status
    assert detail in response.json()["detail"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"start": "2026-10-19T09:00:00"}, "start"),
        ({"title": ""}, "title"),
        ({"colour": "red"}, "colour"),
        ({"organiser": {"email": "ann@example.com", "role": "boss"}}, "organiser"),
    ],
)
def test_a_malformed_body_is_a_422_naming_the_field(client: TestClient, changes: dict[str, Any], field: str) -> None:
    response = client.post("/bookings", json=_booking(**changes))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][1] == field
    if field == "start":
        assert "timezone" in response.json()["detail"][0]["msg"]


def test_a_clash_is_a_409_naming_the_other_booking(client: TestClient) -> None:
    _create(client, title="Board review")
    response = client.post(
        "/bookings", json=_booking(start="2026-10-19T09:30:00+01:00", end="2026-10-19T11:00:00+01:00")
    )
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Atlas is already booked then: 'Board review' by Ann Smith <ann@example.com>, "
        "Mon 19 Oct 2026 09:00-10:00 (Europe/London)"
    }


def test_change_cancel_and_book_the_slot_again(client: TestClient) -> None:
    first = _create(client)
    _create(client, title="Later", start="2026-10-19T11:00:00+01:00", end="2026-10-19T12:00:00+01:00")
    moved = client.patch(f"/bookings/{first['id']}", json={"title": "Moved", "end": "2026-10-19T10:30:00+01:00"})
    assert moved.status_code == 200
    assert (moved.json()["title"], moved.json()["local_end"]) == ("Moved", "2026-10-19T10:30:00+01:00")
    clash = client.patch(f"/bookings/{first['id']}", json={"end": "2026-10-19T11:30:00+01:00"})
    assert clash.status_code == 409 and "'Later'" in clash.json()["detail"]
    assert client.patch(f"/bookings/{first['id']}", json={"start": "2026-10-19T09:00:00"}).status_code == 422
    cancelled = client.post(f"/bookings/{first['id']}/cancel")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    _create(client, title="Taken over")
    assert client.get("/bookings/9999").status_code == 404
    assert client.post("/bookings/9999/cancel").json() == {"detail": "there is no booking 9999"}


def test_check_in_extend_and_end_follow_the_clock(client: TestClient, clock: Clock) -> None:
    booking = _create(client)
    path = f"/bookings/{booking['id']}"
    early = client.post(f"{path}/check-in")
    assert early.status_code == 409
    assert "opens at 08:55 (Europe/London), 5 minutes before it starts" in early.json()["detail"]
    clock.now = local(2026, 10, 19, 8, 55)
    checked = client.post(f"{path}/check-in")
    assert (checked.status_code, checked.json()["status"]) == (200, "checked_in")
    clock.now = local(2026, 10, 19, 9, 50)
    extended = client.post(f"{path}/extend", json={"minutes": 15})
    assert (extended.status_code, extended.json()["local_end"]) == (200, "2026-10-19T10:15:00+01:00")
    assert client.post(f"{path}/extend", json={"minutes": 0}).status_code == 422
    clock.now = local(2026, 10, 19, 10)
    ended = client.post(f"{path}/end")
    assert (ended.status_code, ended.json()["status"], ended.json()["local_end"]) == (
        200,
        "ended",
        "2026-10-19T10:00:00+01:00",
    )
    again = client.post(f"{path}/extend", json={"minutes": 15})
    assert (again.status_code, again.json()["detail"]) == (
        409,
        f"booking {booking['id']} has ended; it can no longer be extended",
    )


def test_rooms_list_detail_free_search_and_private_titles(client: TestClient, clock: Clock) -> None:
    _create(client, title="Secret", private=True)
    clock.now = local(2026, 10, 19, 9, 30)
    listed = {room["id"]: room for room in client.get("/rooms", params={"floor": "ground"}).json()}
    assert listed["atlas"]["free_now"] is False and listed["boreal"]["free_now"] is True
    assert listed["atlas"] | {"free_now": None} == {
        "id": "atlas",
        "name": "Atlas",
        "floor_id": "ground",
        "floor_name": "Ground floor",
        "capacity": 8,
        "bookable": True,
        "equipment": ["screen", "video conferencing"],
        "free_now": None,
    }
    detail = client.get("/rooms/atlas").json()
    assert (detail["current"]["title"], detail["current"]["attendees"], detail["next"]) == ("Private meeting", [], None)
    in_room = client.get("/rooms/atlas/bookings", params={"start": "2026-10-19T00:00:00+01:00"}).json()
    assert [b["title"] for b in in_room] == ["Private meeting"]
    free = client.get(
        "/rooms/free",
        params={"end": "2026-10-19T15:00:00+01:00", "people": 8, "equipment": ["screen"]},
    )
    assert [room["id"] for room in free.json()] == ["nova", "delta", "lobby-lounge", "harbor"]
    assert client.get("/rooms/free", params={"people": 8}).status_code == 422
    assert client.get("/rooms/nowhere").json() == {"detail": "there is no room 'nowhere'"}


def test_a_person_sees_their_bookings_and_their_feed(client: TestClient) -> None:
    _create(client, title="Mine")
    _create(client, title="Invited", room_id="boreal", organiser={"email": "bob@example.com"}, attendees=[ANN["email"]])
    _create(client, title="Not mine", room_id="delta", organiser={"email": "bob@example.com"}, attendees=[])
    listed = client.get("/bookings", params={"person": "ann@example.com"})
    assert [b["title"] for b in listed.json()] == ["Mine", "Invited"]
    feed = client.get("/bookings/calendar.ics", params={"person": "ann@example.com"})
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    assert feed.text.count("BEGIN:VEVENT") == 2
    assert client.get("/bookings", params={"person": "nobody"}).status_code == 422


def test_series_create_except_and_cancel(client: TestClient) -> None:
    body = _booking(title="Weekly", rrule="FREQ=WEEKLY;COUNT=4", start="2026-10-19T09:00:00+01:00")
    created = client.post("/series", json=body)
    assert created.status_code == 201, created.text
    series = created.json()
    assert [o["local_start"] for o in series["occurrences"]] == [
        "2026-10-19T09:00:00+01:00",
        "2026-10-26T09:00:00Z",
        "2026-11-02T09:00:00Z",
        "2026-11-09T09:00:00Z",
    ]
    assert (series["timezone"], series["duration_minutes"]) == ("Europe/London", 60)
    clash = client.post("/series", json=body | {"rrule": "FREQ=DAILY;COUNT=10"})
    assert clash.status_code == 409
    assert "already booked on 2 of the series' dates: Mon 19 Oct 2026" in clash.json()["detail"]
    path = f"/series/{series['id']}"
    skip = client.post(f"{path}/exceptions", json={"occurrence_start": "2026-10-26T09:00:00Z", "action": "cancel"})
    assert skip.status_code == 200
    assert skip.json()["exdates"] == ["2026-10-26T09:00:00Z"]
    move = {"occurrence_start": "2026-11-02T09:00:00Z", "action": "move", "start": "2026-11-02T14:00:00Z"}
    assert client.post(f"{path}/exceptions", json=move).status_code == 422
    moved = client.post(f"{path}/exceptions", json=move | {"end": "2026-11-02T15:00:00Z"})
    assert [o["start"] for o in moved.json()["occurrences"]][2] == "2026-11-02T14:00:00Z"
    wrong = client.post(f"{path}/exceptions", json={"occurrence_start": "2026-11-03T09:00:00Z", "action": "cancel"})
    assert wrong.status_code == 404
    ended = client.post(f"{path}/cancel", json={"from_start": "2026-11-02T09:00:00Z"})
    assert [o["status"] for o in ended.json()["occurrences"]] == ["booked", "cancelled", "cancelled", "cancelled"]
    assert ended.json()["cancelled_from"] == "2026-11-02T09:00:00Z"
    assert client.get("/series/999").status_code == 404
    bad_rule = client.post("/series", json=body | {"rrule": "FREQ=MINUTELY"})
    assert (bad_rule.status_code, bad_rule.json()["detail"]) == (
        422,
        "a meeting can repeat DAILY, WEEKLY, MONTHLY or YEARLY, not MINUTELY",
    )


def test_cancel_with_following_ends_the_series_there(client: TestClient) -> None:
    series = client.post("/series", json=_booking(rrule="FREQ=WEEKLY;COUNT=3")).json()
    second = series["occurrences"][1]["id"]
    assert client.post(f"/bookings/{second}/cancel", params={"following": "true"}).json()["status"] == "cancelled"
    statuses = [o["status"] for o in client.get(f"/series/{series['id']}").json()["occurrences"]]
    assert statuses == ["booked", "cancelled", "cancelled"]
    single = _create(client, start="2026-10-20T09:00:00+01:00", end="2026-10-20T10:00:00+01:00")
    refused = client.post(f"/bookings/{single['id']}/cancel", params={"following": "true"})
    assert (refused.status_code, "not part of a series" in refused.json()["detail"]) == (422, True)


def test_a_room_feed_round_trips_through_import(client: TestClient, facilities: dict[str, str]) -> None:
    _create(client)
    _create(client, title="Afternoon", start="2026-10-19T14:00:00+01:00", end="2026-10-19T15:30:00+01:00")
    feed = client.get("/rooms/atlas/calendar.ics")
    assert feed.status_code == 200
    assert feed.headers["content-type"] == "text/calendar; charset=utf-8"
    imported = client.post(
        "/rooms/grove/calendar", content=feed.content, headers={"content-type": "text/calendar", **facilities}
    )
    assert imported.status_code == 201, imported.text
    report = imported.json()
    assert [(b["room_id"], b["start"], b["end"]) for b in report["created"]] == [
        ("grove", "2026-10-19T08:00:00Z", "2026-10-19T09:00:00Z"),
        ("grove", "2026-10-19T13:00:00Z", "2026-10-19T14:30:00Z"),
    ]
    assert (report["series_ids"], report["skipped"]) == ([], [])


def test_a_bad_import_is_a_422_and_books_nothing(client: TestClient, facilities: dict[str, str]) -> None:
    client.headers.update(facilities)
    bad = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nSUMMARY:Broken\r\nDTSTART:soon\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    response = client.post("/rooms/atlas/calendar", content=bad, headers={"content-type": "text/calendar"})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("event 1 ('Broken') UID x: its DTSTART is not valid")
    multipart = client.post("/rooms/atlas/calendar", files={"file": ("a.ics", bad, "text/calendar")})
    assert multipart.status_code == 422
    assert "Content-Type: text/calendar" in multipart.json()["detail"]
    without_organiser = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:y\r\nSUMMARY:Quiet\r\n"
        "DTSTART:20261020T090000Z\r\nDTEND:20261020T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    assert client.post("/rooms/atlas/calendar", content=without_organiser).status_code == 422
    assert client.get("/rooms/atlas/bookings", params={"end": "2026-12-01T00:00:00Z"}).json() == []
    fallback = client.post(
        "/rooms/atlas/calendar", content=without_organiser, params={"organiser_email": "cy@example.com"}
    )
    assert fallback.status_code == 201
    assert fallback.json()["created"][0]["organiser"]["email"] == "cy@example.com"


def test_utilisation_by_day_with_a_floor_filter(client: TestClient, clock: Clock) -> None:
    _create(client)
    clock.now = local(2026, 10, 19, 9, 10)
    report = client.get("/rooms/utilisation", params={"from": "2026-10-19", "to": "2026-10-20", "floor": "ground"})
    assert report.status_code == 200
    body = report.json()
    assert (body["first_day"], body["last_day"], body["timezone"]) == ("2026-10-19", "2026-10-20", "Europe/London")
    atlas = next(room for room in body["rooms"] if room["room_id"] == "atlas")
    assert atlas["total"] == {"booked_hours": 1.0, "released_hours": 0.0, "occupied_hours": 0.0}
    assert [day["day"] for day in atlas["days"]] == ["2026-10-19", "2026-10-20"]
    assert [floor["floor_id"] for floor in body["floors"]] == ["ground"]
    default = client.get("/rooms/utilisation").json()
    assert (default["first_day"], default["last_day"]) == ("2026-10-13", "2026-10-19")
    backwards = client.get("/rooms/utilisation", params={"from": "2026-10-20", "to": "2026-10-19"})
    assert (backwards.status_code, backwards.json()["detail"]) == (
        422,
        "the report must end on or after its first day (20 Oct 2026)",
    )


def test_a_host_books_and_changes_only_their_own_bookings(client: TestClient, ann: dict[str, str]) -> None:
    mine = client.post("/bookings", json=_booking(), headers=ann)
    assert mine.status_code == 201, mine.text
    for_bob = _booking(room_id="boreal", organiser={"email": "bob@example.com"})
    refused = client.post("/bookings", json=for_bob, headers=ann)
    assert refused.status_code == 403 and "their own" in refused.json()["detail"]
    bobs = _create(client, **for_bob)["id"]
    assert client.patch(f"/bookings/{bobs}", json={"title": "Mine now"}, headers=ann).status_code == 403
    assert client.post(f"/bookings/{bobs}/cancel", headers=ann).status_code == 403
    assert client.get(f"/bookings/{bobs}").json()["status"] == "booked"
    renamed = client.patch(f"/bookings/{mine.json()['id']}", json={"title": "Renamed"}, headers=ann)
    assert (renamed.status_code, renamed.json()["title"]) == (200, "Renamed")
    assert client.post(f"/bookings/{mine.json()['id']}/cancel", headers=ann).json()["status"] == "cancelled"


def test_every_booking_change_is_audited_with_its_caller(
    client: TestClient, clock: Clock, ann: dict[str, str], site_database: Database, settings: Settings
) -> None:
    admin = headers_for(site_database, settings)

    def audited(booking_id: int) -> dict[str, str]:
        params = {"object_type": "booking", "object_id": booking_id}
        found = client.get("/audit", params=params, headers=admin)
        assert found.status_code == 200, found.text
        return {entry["action"]: entry["actor"] for entry in found.json()}

    booking = client.post("/bookings", json=_booking(), headers=ann).json()["id"]
    client.patch(f"/bookings/{booking}", json={"title": "Moved"}, headers=ann)
    clock.now = local(2026, 10, 19, 8, 55)
    client.post(f"/bookings/{booking}/check-in", headers=ann)
    clock.now = local(2026, 10, 19, 9, 50)
    client.post(f"/bookings/{booking}/extend", json={"minutes": 15})
    client.post(f"/bookings/{booking}/end")
    assert audited(booking) == {
        "booking.create": "user:ann",
        "booking.update": "user:ann",
        "booking.check_in": "user:ann",
        "booking.extend": "user:rita",
        "booking.end": "user:rita",
    }
    later = _create(client, start="2026-10-19T14:00:00+01:00", end="2026-10-19T15:00:00+01:00")["id"]
    client.post(f"/bookings/{later}/cancel", headers=ann)
    assert audited(later) == {"booking.create": "user:rita", "booking.cancel": "user:ann"}
    assert client.get("/audit", headers=ann).status_code == 403


def test_openapi_documents_the_rooms_and_bookings_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/rooms",
        "/rooms/free",
        "/rooms/utilisation",
        "/rooms/{room_id}",
        "/rooms/{room_id}/bookings",
        "/rooms/{room_id}/calendar.ics",
        "/rooms/{room_id}/calendar",
        "/bookings",
        "/bookings/calendar.ics",
        "/bookings/{booking_id}",
        "/bookings/{booking_id}/cancel",
        "/bookings/{booking_id}/extend",
        "/bookings/{booking_id}/end",
        "/bookings/{booking_id}/check-in",
        "/series",
        "/series/{series_id}",
        "/series/{series_id}/cancel",
        "/series/{series_id}/exceptions",
    } <= set(paths)
    assert "text/calendar" in paths["/rooms/{room_id}/calendar"]["post"]["requestBody"]["content"]
