"""``atrium backup`` and ``atrium restore`` round trip on SQLite and PostgreSQL: what was there comes back,
what came after the backup goes, and bad files are refused with a reason."""

from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from hub.cli import app
from hub.runtime import Database
from hub.store.booking_models import Booking
from tests.databases import ScratchDatabase
from tests.hub.booking_helpers import book, local

runner = CliRunner()
NOW = local(2026, 10, 19, 8)


def _bookings(db: Database) -> list[tuple[str, str]]:
    with db.sessions() as session:
        rows = session.execute(sa.select(Booking.room_id, Booking.title).order_by(Booking.id)).all()
    return [(room, title) for room, title in rows]


def test_a_restore_brings_back_exactly_what_the_backup_held(
    site_database: Database, database: ScratchDatabase, tmp_path: Path
) -> None:
    with site_database.sessions.begin() as session:
        book(session, local(2026, 10, 19, 9), local(2026, 10, 19, 10), now=NOW, title="Kept")
    backup_file = tmp_path / "atrium.backup"

    made = runner.invoke(app, ["backup", str(backup_file), "--database-url", database.url])
    assert made.exit_code == 0, made.output
    assert "backed up" in made.output and backup_file.stat().st_size > 0

    with site_database.sessions.begin() as session:
        book(session, local(2026, 10, 19, 11), local(2026, 10, 19, 12), now=NOW, title="After the backup")
    assert [title for _, title in _bookings(site_database)] == ["Kept", "After the backup"]
    site_database.close()

    restored = runner.invoke(app, ["restore", str(backup_file), "--database-url", database.url, "--yes"])
    assert restored.exit_code == 0, restored.output

    reopened = Database.open(database.url)
    try:
        assert _bookings(reopened) == [("atlas", "Kept")]
        with reopened.sessions() as session:
            assert session.scalar(sa.text("SELECT count(*) FROM devices")) == 152
    finally:
        reopened.close()


def test_restoring_something_that_is_not_a_backup_is_refused_and_changes_nothing(
    site_database: Database, database: ScratchDatabase, tmp_path: Path
) -> None:
    with site_database.sessions.begin() as session:
        book(session, local(2026, 10, 19, 9), local(2026, 10, 19, 10), now=NOW, title="Untouched")
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"this is not a database")

    result = runner.invoke(app, ["restore", str(junk), "--database-url", database.url, "--yes"])

    assert result.exit_code == 1
    assert "atrium:" in result.output
    assert [title for _, title in _bookings(site_database)] == ["Untouched"]


def test_restore_without_a_file_says_so(database: ScratchDatabase, tmp_path: Path) -> None:
    result = runner.invoke(app, ["restore", str(tmp_path / "missing"), "--database-url", database.url, "--yes"])
    assert result.exit_code == 1
    assert "no backup file" in result.output
