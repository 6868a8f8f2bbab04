"""Signing in, sessions that end, keys that are revoked, throttled guessing, and secrets kept out of logs."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.runtime import Database
from hub.services.access_tokens import issue_access_token, token_key
from hub.services.principals import Role
from hub.settings import Settings
from hub.store.auth_models import User
from tests.access import TEST_PASSWORD, bearer, headers_for, make_user, token_for
from tests.databases import ScratchDatabase

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@dataclass
class Api:
    client: TestClient
    database: Database
    settings: Settings
    admin: dict[str, str]


@pytest.fixture
def api(site_database: Database, database: ScratchDatabase) -> Iterator[Api]:
    settings = Settings(database_url=database.url, login_max_failures=3, secret_key="ab" * 32)
    with TestClient(create_app(settings)) as client:
        yield Api(client, site_database, settings, headers_for(site_database, settings))


def _sign_in(api: Api, username: str, password: str) -> tuple[int, dict[str, object]]:
    answer = api.client.post("/auth/token", data={"username": username, "password": password})
    return answer.status_code, answer.json()


def test_a_person_signs_in_and_the_token_says_who_they_are(api: Api) -> None:
    make_user(api.database, Role.RECEPTION, Role.HOST, username="rita", email="rita@example.org")
    status, answer = _sign_in(api, "rita", TEST_PASSWORD)
    assert status == 200 and answer["token_type"] == "bearer"
    assert answer["expires_in"] == api.settings.access_token_minutes * 60
    me = api.client.get("/auth/me", headers=bearer(str(answer["access_token"]))).json()
    assert me == {
        "actor": "user:rita", "kind": "user", "name": "rita", "roles": ["host", "reception"],
        "email": "rita@example.org", "room_id": None,
    }  # fmt: skip


def test_a_wrong_password_or_name_is_one_401_and_guessing_is_throttled(api: Api) -> None:
    make_user(api.database, Role.HOST, username="hal")
    for guess in ("password1", "letmein123", "hal2026!!"):
        answer = api.client.post("/auth/token", data={"username": "hal", "password": guess})
        assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Bearer"
        assert answer.json()["detail"] == "wrong username or password"
    assert _sign_in(api, "nobody", "whatever123")[1]["detail"] == "wrong username or password"
    blocked = api.client.post("/auth/token", data={"username": "hal", "password": TEST_PASSWORD})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    make_user(api.database, Role.HOST, username="holly")
    assert _sign_in(api, "holly", TEST_PASSWORD)[0] == 200, "one name's guesses do not lock out another"


def test_passwords_are_kept_only_as_a_slow_hash(api: Api) -> None:
    created = api.client.post(
        "/users", headers=api.admin, json={"username": "sam", "password": "a long passphrase", "roles": ["facilities"]}
    )
    assert created.status_code == 201 and "password" not in created.text
    with api.database.sessions() as session:
        stored = session.query(User).filter_by(username="sam").one().password_hash
    assert stored.startswith("$argon2") and "a long passphrase" not in stored
    assert _sign_in(api, "sam", "a long passphrase")[0] == 200


@pytest.mark.parametrize(
    ("change", "body"),
    [("switch off", {"active": False}), ("new roles", {"roles": ["host"]})],
)
def test_switching_a_user_off_or_changing_their_roles_ends_their_sessions(
    api: Api, change: str, body: dict[str, object]
) -> None:
    user = make_user(api.database, Role.FACILITIES)
    token = token_for(api.settings, user)
    assert api.client.get("/tickets", headers=bearer(token)).status_code == 200
    assert api.client.patch(f"/users/{user.id}", headers=api.admin, json=body).status_code == 200
    refused = api.client.get("/tickets", headers=bearer(token))
    assert refused.status_code == 401, change


def test_a_password_change_ends_the_old_sessions_and_needs_the_current_password(api: Api) -> None:
    user = make_user(api.database, Role.HOST, username="pat")
    old = bearer(token_for(api.settings, user))
    wrong = api.client.post("/auth/password", headers=old, json={"current_password": "nope", "new_password": "x" * 12})
    assert wrong.status_code == 403
    changed = api.client.post(
        "/auth/password", headers=old, json={"current_password": TEST_PASSWORD, "new_password": "a new passphrase"}
    )
    assert changed.status_code == 204
    assert api.client.get("/auth/me", headers=old).status_code == 401
    assert _sign_in(api, "pat", TEST_PASSWORD)[0] == 401
    assert _sign_in(api, "pat", "a new passphrase")[0] == 200


def test_expired_and_forged_tokens_are_refused(api: Api) -> None:
    user = make_user(api.database, Role.ADMIN)
    key = token_key(bytes.fromhex(str(api.settings.secret_key)))
    expired = issue_access_token(key, user, now=datetime.now(UTC) - timedelta(hours=2), lifetime=timedelta(hours=1))
    forged = issue_access_token(b"not the site's key", user, now=datetime.now(UTC), lifetime=timedelta(hours=1))
    unsigned = jwt.encode({"sub": str(user.id), "aud": "atrium-api"}, key="", algorithm="none")
    for token, reason in [
        (expired, "expired"),
        (forged, "not valid"),
        (unsigned, "not valid"),
        ("garbage", "not valid"),
    ]:
        answer = api.client.get("/users", headers=bearer(token))
        assert answer.status_code == 401 and reason in answer.json()["detail"]


def test_an_admin_makes_a_key_shown_once_and_revokes_it(api: Api) -> None:
    made = api.client.post("/keys", headers=api.admin, json={"kind": "integration", "name": "facility sync"})
    assert made.status_code == 201
    key, key_id = made.json()["key"], made.json()["id"]
    assert api.client.get("/tickets", headers=bearer(key)).status_code == 200
    listed = api.client.get("/keys", headers=api.admin)
    assert key not in listed.text and key[:12] in listed.text
    assert api.client.post(f"/keys/{key_id}/revoke", headers=api.admin).status_code == 200
    refused = api.client.get("/tickets", headers=bearer(key))
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    log = api.client.get("/audit", headers=api.admin, params={"object_type": "api_key", "object_id": key_id}).json()
    assert [entry["action"] for entry in log] == ["key.revoke", "key.create"]
    assert all(key not in str(entry) for entry in log)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"kind": "panel", "name": "p"}, "needs its room"),
        ({"kind": "panel", "name": "p", "room_id": "nowhere"}, "no room"),
        ({"kind": "kiosk", "name": "k", "room_id": "atlas"}, "only panel keys"),
    ],
)
def test_a_key_that_makes_no_sense_is_refused_saying_why(api: Api, body: dict[str, str], detail: str) -> None:
    answer = api.client.post("/keys", headers=api.admin, json=body)
    assert answer.status_code in (404, 422) and detail in answer.json()["detail"]


def test_user_changes_are_audited_without_secrets_and_bad_ones_refused(api: Api) -> None:
    weak = api.client.post("/users", headers=api.admin, json={"username": "w", "password": "short", "roles": ["host"]})
    assert weak.status_code == 422
    unknown = {"username": "u", "password": "long enough pw", "roles": ["kiosk"]}
    assert api.client.post("/users", headers=api.admin, json=unknown).status_code == 422
    body = {"username": "dana", "password": "long enough pw", "roles": ["host"]}
    created = api.client.post("/users", headers=api.admin, json=body)
    assert api.client.post("/users", headers=api.admin, json=body).status_code == 409
    log = api.client.get(
        "/audit", headers=api.admin, params={"object_type": "user", "object_id": created.json()["id"]}
    ).json()
    assert [entry["action"] for entry in log] == ["user.create"]
    assert log[0]["actor"].startswith("user:") and "long enough pw" not in str(log)
