"""Fixtures that start real parts: a broker on a free port, a SQLite file and a PostgreSQL database."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.brokers import TestBroker, start_test_broker
from tests.databases import DATABASE_KINDS, ScratchDatabase, create_test_database

# One site secret for the whole run, so tests (and their hubs, in this process or as child processes) never
# race to create var/secret.key in the working directory when pytest runs them side by side (-n).
os.environ.setdefault("ATRIUM_SECRET_KEY", "5e" * 32)


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


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless chromium driven by Playwright (its own browser download is not used).

    Module-scoped: Playwright's sync API keeps an event loop running in the main thread while it is open,
    which would break later tests that run asyncio themselves (the kiosk's, the CLI's)."""
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield launched
        launched.close()
