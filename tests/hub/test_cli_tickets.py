"""``atrium tickets`` over a real database: list, show, acknowledge, start, resolve, close, comment."""

from datetime import UTC, datetime

from typer.testing import CliRunner

from hub.cli import app
from hub.runtime import Database
from hub.services import tickets
from tests.databases import ScratchDatabase

runner = CliRunner()


def _run(database: ScratchDatabase, *args: str) -> tuple[int, str]:
    result = runner.invoke(
        app, ["tickets", *args, "--database-url", database.url], env={"COLUMNS": "200"}, terminal_width=200
    )
    return result.exit_code, result.output


def test_a_ticket_worked_from_the_command_line(site_database: Database, database: ScratchDatabase) -> None:
    with site_database.sessions.begin() as session:
        number = tickets.open_ticket(
            session, title="Projector flickers", source="staff", room_id="atlas", now=datetime.now(UTC)
        ).id
    code, out = _run(database, "list")
    assert code == 0 and "Projector flickers" in out
    assert _run(database, "ack", str(number), "--as", "kim")[0] == 0
    assert _run(database, "start", str(number))[0] == 0
    assert _run(database, "comment", str(number), "new lamp fitted")[0] == 0
    assert _run(database, "resolve", str(number), "--note", "lamp")[0] == 0
    assert _run(database, "close", str(number))[1].strip() == f"ticket {number} is closed"
    code, out = _run(database, "start", str(number))
    assert code == 2 and "from closed to in_progress" in out
    code, out = _run(database, "show", str(number))
    assert code == 0 and "new lamp fitted" in out and "open -> acknowledged" in out and "kim" in out
    code, out = _run(database, "show", "999999")
    assert code == 2 and "does not exist" in out
