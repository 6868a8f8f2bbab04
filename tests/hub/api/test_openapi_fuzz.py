"""schemathesis against the OpenAPI document: generated requests to every route, as admin, never a 5xx,
and every answer matches the document. ``SCHEMATHESIS_EXAMPLES`` sets the examples per route (CI: a few;
``make fuzz-api``: 50, plus the coverage phase's boundary values)."""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from devices.site import SAMPLE_BUILDING, load_building
from hub.api.app import create_app
from hub.runtime import Database
from hub.services.principals import Role
from hub.settings import Settings
from hub.store.auth_models import User
from hub.store.building_sync import sync_building
from tests.access import bearer, make_user, token_for

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "3"))
SKIPPED = {("GET", "/panel/{room_id}/events")}
"""An endless event stream once let in (tests/hub/api/test_panel.py covers it)."""

FULL = os.environ.get("SCHEMATHESIS_FULL") == "1"
"""Also run schemathesis' coverage phase (every boundary value of every parameter): ``make fuzz-api``."""

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(Settings(secret_key="ab" * 32)))
if not FULL:
    schema.config.phases.update(phases=["examples", "fuzzing"])


@dataclass
class Target:
    client: TestClient
    settings: Settings
    admin: User


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    path: Path = tmp_path_factory.mktemp("schemathesis") / "atrium.db"
    app_settings = Settings(database_url=f"sqlite:///{path}", secret_key="ab" * 32)
    database = Database.open(app_settings.database_url)
    with database.sessions.begin() as session:
        sync_building(session, load_building(SAMPLE_BUILDING))
    admin = make_user(database, Role.ADMIN, email="admin@example.org")
    with TestClient(create_app(app_settings), raise_server_exceptions=False) as client:
        yield Target(client, app_settings, admin)
    database.close()


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_get_no_5xx_and_answers_match_the_document(target: Target, case: Any) -> None:
    if (case.method.upper(), case.path) in SKIPPED:
        pytest.skip("endless stream")
    headers = {**dict(case.headers or {}), **bearer(token_for(target.settings, target.admin))}
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    response = target.client.request(**kwargs)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
