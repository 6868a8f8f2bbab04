"""A hub started in this process over the test's own broker and database."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devices.site import SAMPLE_BUILDING, load_building
from hub.runtime import Database, Hub
from hub.settings import Settings
from hub.store.building_sync import sync_building
from tests.brokers import TestBroker
from tests.databases import ScratchDatabase

StartHub = Callable[..., Hub]


@pytest.fixture
def start_hub(broker: TestBroker, database: ScratchDatabase) -> Iterator[StartHub]:
    """Start a hub (several, for restart tests); every hub started is stopped at the end."""
    started: list[Hub] = []

    def start(building: str = "synthetic:20", **overrides: Any) -> Hub:
        settings = Settings(database_url=database.url, mqtt_url=broker.endpoint.url, building=building, **overrides)
        hub = Hub(settings)
        hub.start()
        started.append(hub)
        return hub

    yield start
    for hub in started:
        hub.stop()


@pytest.fixture
def site_database(database: ScratchDatabase) -> Iterator[Database]:
    """The test's database, migrated and holding the sample building (site zone Europe/London)."""
    opened = Database.open(database.url)
    with opened.sessions.begin() as session:
        sync_building(session, load_building(SAMPLE_BUILDING))
    yield opened
    opened.close()
