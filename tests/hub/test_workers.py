"""Hub workers scaled out: one leads the timed jobs at a time, and another takes over when it goes."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from hub.cli import app
from hub.errors import ConfigError
from hub.leader import FileLockLeader, PostgresLeader, current_leader
from hub.settings import Settings
from hub.store.db import create_engine
from hub.workers import worker_client_id
from tests.databases import ScratchDatabase, create_test_database
from tests.helpers import wait_for

CHECK_S = 0.2


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[ScratchDatabase]:
    """A fresh PostgreSQL database (skipped without a server)."""
    with create_test_database("postgres", tmp_path) as db:
        yield db


def leaders(*elections: FileLockLeader | PostgresLeader) -> list[str]:
    return [election.name for election in elections if election.is_leader()]


def test_one_hub_on_a_sqlite_file_leads_and_a_second_follows_until_the_first_goes(tmp_path: Path) -> None:
    path = tmp_path / "atrium.db.leader"
    first = FileLockLeader(path, name="first", check_every_s=CHECK_S)
    second = FileLockLeader(path, name="second", check_every_s=CHECK_S)
    first.start()
    second.start()
    try:
        assert leaders(first, second) == ["first"]
        first.stop()
        wait_for(lambda: second.is_leader(), timeout=5, what="the second hub taking the lead")
        assert leaders(first, second) == ["second"]
    finally:
        first.stop()
        second.stop()


@pytest.mark.postgres
def test_the_advisory_lock_has_one_holder_and_passes_on_when_its_connection_drops(postgres: ScratchDatabase) -> None:
    engine = create_engine(postgres.url)
    first = PostgresLeader(engine.url, name="atrium-hub-hq-w0", check_every_s=CHECK_S)
    second = PostgresLeader(engine.url, name="atrium-hub-hq-w1", check_every_s=CHECK_S)
    first.start()
    second.start()
    try:
        assert leaders(first, second) == ["atrium-hub-hq-w0"]
        with engine.begin() as connection:
            assert current_leader(sa.orm.Session(connection)) == "atrium-hub-hq-w0"
            # The leader's connection drops (its process died, a network cut): PostgreSQL frees the lock.
            connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = 'atrium-hub-hq-w0' AND datname = current_database()"
                )
            )
        wait_for(lambda: second.is_leader(), timeout=5, what="the follower taking the lead")
        wait_for(lambda: not first.is_leader(), timeout=5, what="the old leader knowing it lost the lead")
        with sa.orm.Session(engine) as session:
            assert not first.fence(session), "a job the old leader still starts is fenced off"
            assert second.fence(session)
            assert current_leader(session) == "atrium-hub-hq-w1"
        assert leaders(first, second) == ["atrium-hub-hq-w1"], "the old leader stays a follower"
    finally:
        first.stop()
        second.stop()
        engine.dispose()


def test_a_hub_in_a_shared_group_needs_a_stable_client_id_of_its_own() -> None:
    assert worker_client_id(Settings(shared_group="g", worker=3), "hq") == "atrium-hub-hq-w3"
    assert worker_client_id(Settings(shared_group="g", client_id="mine"), "hq") == "mine"
    assert worker_client_id(Settings(), "hq") == "atrium-hub-hq"
    with pytest.raises(ConfigError, match="ATRIUM_WORKER"):
        worker_client_id(Settings(shared_group="g"), "hq")


def test_several_workers_on_sqlite_are_refused_with_the_reason(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["hub", "--workers", "2", "--database-url", f"sqlite:///{tmp_path / 'a.db'}", "--mqtt-url", "mqtt://x:1"],
    )
    assert result.exit_code == 2
    assert "several hub workers need PostgreSQL" in " ".join(result.output.split())
