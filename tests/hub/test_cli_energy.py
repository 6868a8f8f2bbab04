"""``atrium energy report`` over a real database: the hand-computed fixture as a facilities manager reads it."""

from typer.testing import CliRunner

from hub.cli import app
from hub.runtime import Database
from tests.databases import ScratchDatabase
from tests.hub.energy_fixture import add_occupancy, load_energy_fixture

runner = CliRunner()


def _run(database: ScratchDatabase, *args: str) -> tuple[int, str]:
    result = runner.invoke(
        app, ["energy", "report", "--database-url", database.url, *args], env={"COLUMNS": "160"}, terminal_width=160
    )
    return result.exit_code, result.output


def _row(output: str, name: str) -> list[str]:
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if line.startswith("│") and name in cells:
            return cells
    raise AssertionError(f"no row for {name!r} in:\n{output}")


def test_floors_day_by_day_rooms_after_hours_and_a_refusal(site_database: Database, database: ScratchDatabase) -> None:
    load_energy_fixture(site_database)
    add_occupancy(site_database)
    code, output = _run(
        database, "--by", "floor", "--day", "--from", "2025-06-10", "--to", "2025-06-11", "--after-hours"
    )
    assert code == 0, output
    assert _row(output, "Ground floor") == ["Ground floor", "7.75", "1.00", "8.75"]
    assert _row(output, "First floor") == ["First floor", "2.00", "0.00", "2.00"]
    assert _row(output, "All") == ["All", "9.75", "1.00", "10.75"]
    assert "Cedar" in output and "Tue 10 Jun 20:00" in output and "room_live" in output
    code, output = _run(database, "--from", "2025-06-10", "--to", "2025-06-10")
    assert code == 0, output
    assert _row(output, "Atlas") == ["Atlas", "6.75"]
    code, output = _run(database, "--from", "2025-06-11", "--to", "2025-06-01")
    assert code == 2
    assert "on or after its first day" in output
