"""Fixtures for the simulator's tests: an observer on the test broker and fleets run in a thread."""

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devices.site import Building
from firmware_sim.fleet import Fleet, FleetThread
from tests.brokers import TestBroker
from tests.firmware_sim.support import Observer

StartFleet = Callable[..., FleetThread]


@pytest.fixture
def observer(broker: TestBroker) -> Iterator[Observer]:
    """A plain paho client recording every device message of the test site."""
    watching = Observer(broker.endpoint)
    yield watching
    watching.close()


@pytest.fixture
def start_fleet(broker: TestBroker) -> Iterator[StartFleet]:
    """Start a fleet on the test broker in a background thread (stopped at teardown); short interval by default."""
    running: list[FleetThread] = []

    def start(building: Building, **options: Any) -> FleetThread:
        options.setdefault("interval_s", 0.1)
        thread = FleetThread(Fleet(building, broker.endpoint, **options)).start()
        running.append(thread)
        return thread

    yield start
    for thread in running:
        with contextlib.suppress(Exception):
            thread.stop(timeout=10)
