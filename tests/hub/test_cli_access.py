"""``atrium users`` and ``atrium keys`` over a real database: accounts that sign in, keys that work until revoked."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.runtime import Database
from hub.services import api_keys, users
from tests.databases import ScratchDatabase

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)
runner = CliRunner()


def _run(database: ScratchDatabase, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(
        app, [*args, "--database-url", database.url], input=stdin, env={"COLUMNS": "200"}, terminal_width=200
    )
    return result.exit_code, result.output


def test_an_account_made_on_the_command_line_signs_in_until_switched_off(
    site_database: Database, database: ScratchDatabase, tmp_path: Path
) -> None:
    secret = tmp_path / "password"
    secret.write_text("a quiet evening in\n")
    code, out = _run(
        database, "users", "add", "kim", "--role", "facilities", "--role", "host", "--password-file", str(secret)
    )
    assert code == 0 and "facilities, host" in out and "a quiet evening in" not in out
    with site_database.sessions() as session:
        assert users.authenticate(session, "kim", "a quiet evening in") is not None
    assert _run(database, "users", "add", "kim", "--role", "host", "--password-file", str(secret))[0] == 2
    code, out = _run(database, "users", "add", "lee", "--role", "admin")  # no terminal: a password is made
    made = out.split("shown once): ")[1].split()[0]
    with site_database.sessions() as session:
        assert users.authenticate(session, "lee", made) is not None
    assert _run(database, "users", "set-roles", "kim", "--role", "reception")[1].strip() == "kim: reception"
    assert _run(database, "users", "disable", "kim")[0] == 0
    with site_database.sessions() as session:
        assert users.authenticate(session, "kim", "a quiet evening in") is None
    code, out = _run(database, "users", "list")
    assert code == 0 and "kim" in out and "lee" in out and "a quiet evening in" not in out


def test_a_key_written_to_a_file_works_until_revoked(
    site_database: Database, database: ScratchDatabase, tmp_path: Path
) -> None:
    key_file = tmp_path / "kiosk.key"
    code, out = _run(database, "keys", "create", "kiosk", "lobby", "--output", str(key_file))
    assert code == 0 and str(key_file) in out
    key = key_file.read_text().strip()
    assert key_file.stat().st_mode & 0o777 == 0o600 and key not in out
    with site_database.sessions() as session:
        found = api_keys.find_active_key(session, key)
        assert found is not None and found.kind == "kiosk"
    code, out = _run(database, "keys", "list")
    assert code == 0 and "lobby" in out and key not in out
    assert _run(database, "keys", "revoke", str(found.id))[0] == 0
    with site_database.sessions() as session:
        assert api_keys.find_active_key(session, key) is None
    code, out = _run(database, "keys", "create", "panel", "a panel", "--room", "nowhere")
    assert code == 2 and "no room 'nowhere'" in out
