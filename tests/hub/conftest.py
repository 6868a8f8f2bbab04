"""A hub started in this process over the test's own broker and database."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hub.runtime import Hub
from hub.settings import Settings
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
