"""Every route of the OpenAPI document refuses callers it does not name and lets in those it does.

The walk reads each operation's ``x-atrium-roles`` and calls it as nobody, then as each role in turn
(people by access token, kiosks, panels and integrations by API key). Nobody gets 401 (except on
public routes), a role not named gets 403, and a role named gets neither, nor a 5xx. Dummy ids are
used, so a named role's answer is mostly a 404 or 422: the point is that the gate let it through.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hub.api.access import ACCESS_EXTENSION, PUBLIC_ROLE
from hub.api.app import create_app
from hub.runtime import Database
from hub.services.principals import Role
from hub.settings import Settings
from hub.store.auth_models import KeyKind, User
from tests.access import bearer, issue_key, make_user, token_for
from tests.databases import ScratchDatabase

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

PANEL_ROOM = "atlas"
OTHER_ROOM = "lobby-lounge"
PATH_VALUES = {"room_id": PANEL_ROOM, "asset_id": "atlas-env"}
DUMMY_ID = "999999"
STREAMING = {("get", "/panel/{room_id}/events")}
"""Answered with an endless stream once let in: only its refusals are walked here (test_panel covers the rest)."""


@dataclass
class Walk:
    """The app and one caller per role: people (a new token each call: a walked sign-out ends the last) and keys."""

    client: TestClient
    settings: Settings
    people: dict[Role, User]
    keys: dict[Role, str]

    def headers(self, role: Role) -> dict[str, str]:
        if role in self.keys:
            return bearer(self.keys[role])
        return bearer(token_for(self.settings, self.people[role]))


@pytest.fixture
def walk(site_database: Database, database: ScratchDatabase) -> Iterator[Walk]:
    settings = Settings(database_url=database.url)
    people = {role: make_user(site_database, role) for role in (Role.ADMIN, Role.FACILITIES, Role.RECEPTION, Role.HOST)}
    keys = {
        Role.KIOSK: issue_key(site_database, KeyKind.KIOSK, name="lobby kiosk"),
        Role.PANEL: issue_key(site_database, KeyKind.PANEL, name="atlas panel", room_id=PANEL_ROOM),
        Role.INTEGRATION: issue_key(site_database, KeyKind.INTEGRATION, name="calendar sync"),
    }
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Walk(client, settings, people, keys)


def _operations(client: TestClient) -> list[tuple[str, str, list[str]]]:
    document = client.get("/openapi.json").json()
    return [
        (method, path, operation[ACCESS_EXTENSION])
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda match: PATH_VALUES.get(match.group(1), DUMMY_ID), path)


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    body: dict[str, Any] = {"json": {}} if method in {"post", "patch", "put"} else {}
    status: int = client.request(method.upper(), _url(path), headers=headers, **body).status_code
    return status


def test_every_route_declares_who_may_call_it(walk: Walk) -> None:
    client = walk.client
    operations = _operations(client)
    assert len(operations) > 90
    public = sorted(f"{method.upper()} {path}" for method, path, roles in operations if roles == [PUBLIC_ROLE])
    assert public == [
        "GET /facilities",
        "GET /health",
        "GET /report/{asset_id}",
        "POST /auth/token",
        "POST /report/{asset_id}",
    ]


def test_every_route_refuses_nobody_and_the_wrong_roles_and_lets_the_right_ones_in(
    walk: Walk,
) -> None:
    client = walk.client
    wrong: list[str] = []
    for method, path, roles in _operations(client):
        where = f"{method.upper()} {path}"
        anonymous = _call(client, method, path, {})
        if roles == [PUBLIC_ROLE]:
            if anonymous in (401, 403) and not path.startswith("/report"):
                wrong.append(f"{where}: public, yet {anonymous} to nobody")
            continue
        if anonymous != 401:
            wrong.append(f"{where}: {anonymous} to nobody, not 401")
        for role in Role:
            allowed = str(role) in roles
            if allowed and (method, path) in STREAMING:
                continue
            status = _call(client, method, path, walk.headers(role))
            if allowed and (status in (401, 403) or status >= 500):
                wrong.append(f"{where}: {status} to {role}, which it names")
            if not allowed and status != 403:
                wrong.append(f"{where}: {status} to {role}, which it does not name")
    assert wrong == [], "\n".join(wrong)


def test_a_panel_key_acts_on_its_own_room_only(walk: Walk) -> None:
    client = walk.client
    panel = walk.headers(Role.PANEL)
    assert client.get(f"/panel/{PANEL_ROOM}/state", headers=panel).status_code == 200
    for method, path in [
        ("GET", f"/panel/{OTHER_ROOM}/state"),
        ("GET", f"/panel/{OTHER_ROOM}"),
        ("GET", f"/panel/{OTHER_ROOM}/events"),
        ("POST", f"/panel/{OTHER_ROOM}/press"),
        ("POST", f"/panel/{OTHER_ROOM}/cleaned"),
    ]:
        answer = client.request(method, path, headers=panel, json={"button": "book_now"})
        assert answer.status_code == 403, (method, path)
        assert PANEL_ROOM in answer.json()["detail"]
    query_token = panel["Authorization"].removeprefix("Bearer ")
    assert client.get(f"/panel/{OTHER_ROOM}/state", params={"token": query_token}).status_code == 403
    assert client.get(f"/panel/{PANEL_ROOM}/state", params={"token": query_token}).status_code == 200


def test_a_query_token_is_taken_only_where_a_panel_may_call(
    walk: Walk,
) -> None:
    client = walk.client
    admin_token = token_for(walk.settings, walk.people[Role.ADMIN])
    assert client.get("/users", params={"token": admin_token}).status_code == 401
    assert client.get(f"/panel/{PANEL_ROOM}/state", params={"token": admin_token}).status_code == 200
