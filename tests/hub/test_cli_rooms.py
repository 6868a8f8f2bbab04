"""``atrium rooms`` over a real database: the report a facilities manager reads, clear refusals, panel URLs."""

from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from hub.api.app import create_app
from hub.cli import app
from hub.runtime import Database
from hub.services import bookings
from hub.settings import Settings
from tests.databases import ScratchDatabase
from tests.hub.booking_helpers import book, local

runner = CliRunner()
NOW = local(2026, 10, 19, 8)


@pytest.fixture
def booked(site_database: Database) -> Database:
    with site_database.sessions.begin() as session:
        book(session, local(2026, 10, 19, 9), local(2026, 10, 19, 11), now=NOW)
        no_show = book(session, local(2026, 10, 19, 14), local(2026, 10, 19, 15), now=NOW, room_id="boreal")
        book(session, local(2026, 10, 19, 9), local(2026, 10, 19, 10, 30), now=NOW, room_id="delta")
    with site_database.sessions.begin() as session:
        bookings.release_booking(session, booking_id=no_show.id, now=local(2026, 10, 19, 14, 10))
    return site_database


def _run(database: ScratchDatabase, *args: str) -> tuple[int, str]:
    result = runner.invoke(
        app, ["rooms", "report", "--database-url", database.url, *args], env={"COLUMNS": "160"}, terminal_width=160
    )
    return result.exit_code, result.output


def _row(output: str, name: str) -> list[str]:
    """The cells of the table row that has ``name`` in a cell of its own."""
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if line.startswith("│") and name in cells:
            return cells
    raise AssertionError(f"no row for {name!r} in:\n{output}")


def test_the_report_shows_rooms_and_floors(booked: Database, database: ScratchDatabase) -> None:
    code, output = _run(database, "--from", "2026-10-19", "--to", "2026-10-19")
    assert code == 0, output
    assert "Meeting rooms, Mon 19 Oct 2026 to Mon 19 Oct 2026 (Europe/London)" in output
    assert _row(output, "Atlas") == ["ground", "Atlas", "8", "2.0", "0.0", "0.0", "0%"]
    assert _row(output, "Boreal") == ["ground", "Boreal", "4", "1.0", "1.0", "0.0", "0%"]
    assert _row(output, "Delta") == ["first", "Delta", "10", "1.5", "0.0", "0.0", "0%"]
    assert _row(output, "Ground floor") == ["Ground floor", "3.0", "1.0", "0.0", "0%"]
    assert _row(output, "Third floor") == ["Third floor", "0.0", "0.0", "0.0", "-"]


def test_the_report_for_one_floor_day_by_day(booked: Database, database: ScratchDatabase) -> None:
    code, output = _run(database, "--from", "2026-10-18", "--to", "2026-10-19", "--floor", "first", "--daily")
    assert code == 0, output
    assert "Atlas" not in output
    assert _row(output, "Sun 18 Oct") == ["First floor", "Sun 18 Oct", "0.0", "0.0", "0.0", "-"]
    assert _row(output, "Mon 19 Oct") == ["First floor", "Mon 19 Oct", "1.5", "0.0", "0.0", "0%"]


@pytest.mark.parametrize(
    ("args", "code", "sentence"),
    [
        (["--from", "2026-10-20", "--to", "2026-10-19"], 2, "the report must end on or after its first day"),
        (["--floor", "attic"], 1, "no meeting rooms on floor 'attic'"),
        (["--from", "19/10/2026"], 2, "Invalid value for '--from'"),
    ],
)
def test_bad_options_are_refused_with_one_sentence(
    booked: Database, database: ScratchDatabase, args: list[str], code: int, sentence: str
) -> None:
    exit_code, output = _run(database, *args)
    assert exit_code == code
    assert sentence in " ".join(output.split())
    assert "Traceback" not in output


def test_a_panel_url_carries_a_key_that_opens_its_own_room_only(
    site_database: Database, database: ScratchDatabase
) -> None:
    result = runner.invoke(
        app,
        ["rooms", "panel-url", "atlas", "--host", "https://hub.example.com"],
        env={"ATRIUM_DATABASE_URL": database.url},
    )
    assert result.exit_code == 0, result.output
    url = urlsplit(result.stdout.strip())
    assert (url.scheme, url.netloc, url.path) == ("https", "hub.example.com", "/panel/atlas")
    [token] = parse_qs(url.query)["token"]
    with TestClient(create_app(Settings(database_url=database.url))) as client:
        shown = client.get("/panel/atlas/state", params={"token": token})
        assert (shown.status_code, shown.json()["room_name"]) == (200, "Atlas")
        refused = client.get("/panel/boreal/state", params={"token": token})
        assert refused.status_code == 403 and "atlas" in refused.json()["detail"]
