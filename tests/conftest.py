"""Fixtures that start real parts: a broker on a free port, a SQLite file and a PostgreSQL database."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.brokers import TestBroker, start_test_broker
from tests.databases import DATABASE_KINDS, ScratchDatabase, create_test_database


@pytest.fixture
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestBroker]:
    """A broker of this test's own (mosquitto where installed), so the test may kill or restart it."""
    running = start_test_broker(tmp_path_factory.mktemp("broker"))
    yield running
    running.kill()


@pytest.fixture(params=DATABASE_KINDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ScratchDatabase]:
    """An empty database: a SQLite file, then a fresh PostgreSQL database (skipped without a server)."""
    with create_test_database(request.param, tmp_path) as db:
        yield db
