"""``atrium rollcall`` over a real database, as text and as JSON."""

import json

from typer.testing import CliRunner

from hub.cli import app
from hub.runtime import Database
from hub.services import visit_arrivals, visits
from tests.databases import ScratchDatabase
from tests.hub.visit_helpers import AT_NINE, RULES, invite, with_people

runner = CliRunner()


def test_the_roll_call_lists_checked_in_visitors(site_database: Database, database: ScratchDatabase) -> None:
    with_people(site_database)
    with site_database.sessions.begin() as session:
        token = visits.invitation_token(invite(session), RULES)
        invite(session, name="Not Here Yet", email="later@example.org")
    with site_database.sessions.begin() as session:
        visit_arrivals.check_in(
            session, rules=RULES, token=token, kiosk_id="kiosk-1", signature=None, photo_jpeg=None, now=AT_NINE
        )
    text = runner.invoke(app, ["rollcall", "--database-url", database.url])
    assert text.exit_code == 0, text.output
    assert "ROLL CALL - Atrium HQ" in text.output and "VISITORS ON SITE: 1" in text.output
    assert "Lee Visitor (Acme) - host Ann Smith, in since 09:00" in text.output
    assert "Not Here Yet" not in text.output
    as_json = runner.invoke(app, ["rollcall", "--format", "json", "--database-url", database.url])
    assert as_json.exit_code == 0, as_json.output
    call = json.loads(as_json.output)
    assert [visitor["visitor_name"] for visitor in call["visitors"]] == ["Lee Visitor"]
    assert call["visitors"][0]["checked_in_at"] == "2026-10-19T08:00:00+00:00"


def test_a_bad_format_is_refused() -> None:
    result = runner.invoke(app, ["rollcall", "--format", "pdf"])
    assert result.exit_code == 2
