"""Two hub workers over one PostgreSQL database and a real Mosquitto share a fleet's burst, each message once."""

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from devices.site import synthetic_building
from firmware_sim.fleet import Fleet, FleetThread
from hub.leader import current_leader
from hub.runtime import Hub
from hub.settings import Settings
from hub.store.db import create_engine
from hub.store.journal import read_counters, read_counters_by_worker
from hub.store.models import DeviceMessage
from hub.store.outbox import OutboxMessage, enqueue
from hub.workers import WorkerSupervisor
from tests.brokers import TestBroker
from tests.databases import ScratchDatabase, create_test_database
from tests.helpers import wait_for

DEVICES = 40
PER_DEVICE = 25
GROUP = "atrium-test"

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

StartWorker = Callable[[int], Hub]


@pytest.fixture
def start_worker(broker: TestBroker, tmp_path: Path) -> Iterator[StartWorker]:
    """Start hub worker N (in this process) on a shared PostgreSQL database; all are stopped at the end."""
    started: list[Hub] = []
    with create_test_database("postgres", tmp_path) as database:

        def start(index: int, **overrides: Any) -> Hub:
            hub = Hub(worker_settings(database, broker, index, **overrides))
            hub.start()
            started.append(hub)
            return hub

        yield start
        for hub in started:
            hub.stop()


def worker_settings(database: ScratchDatabase, broker: TestBroker, index: int, **overrides: Any) -> Settings:
    return Settings(
        database_url=database.url,
        mqtt_url=broker.endpoint.url,
        building=f"synthetic:{DEVICES}",
        shared_group=GROUP,
        worker=index,
        leader_check_s=0.2,
        batch_wait_ms=10,
        **overrides,
    )


def stored_seqs(hub: Hub, channel: str | None = None) -> dict[str, list[int]]:
    """Each device's stored sequence numbers, on one channel or (None) on all."""
    assert hub.database is not None
    query = sa.select(DeviceMessage.device_id, DeviceMessage.seq).order_by(DeviceMessage.device_id, DeviceMessage.seq)
    if channel is not None:
        query = query.where(DeviceMessage.channel == channel)
    seqs: dict[str, list[int]] = {}
    with hub.database.sessions() as session:
        for device_id, seq in session.execute(query):
            seqs.setdefault(device_id, []).append(seq)
    return seqs


def leading(*hubs: Hub) -> list[Hub]:
    return [hub for hub in hubs if hub.leader is not None and hub.leader.is_leader()]


def job_runs(hub: Hub) -> int:
    return hub.scheduler.runs if hub.scheduler is not None else 0


def test_two_workers_store_a_fleets_burst_exactly_once_and_only_the_leader_runs_jobs(
    broker: TestBroker, start_worker: StartWorker
) -> None:
    first, second = start_worker(0), start_worker(1)
    assert [hub.client_id for hub in leading(first, second)] == ["atrium-hub-fleet-w0"]

    fleet = Fleet(synthetic_building(DEVICES), broker.endpoint, interval_s=0.02, messages_per_device=PER_DEVICE)
    finished = FleetThread(fleet).start().join(timeout=120)
    assert finished.acknowledged >= DEVICES * PER_DEVICE

    expected = DEVICES * PER_DEVICE
    wait_for(lambda: sum(map(len, stored_seqs(first, "telemetry").values())) >= expected, timeout=60, what="the burst")
    telemetry = stored_seqs(first, "telemetry")
    assert len(telemetry) == DEVICES and all(len(s) == PER_DEVICE for s in telemetry.values())
    seqs = stored_seqs(first)
    stored = sum(len(s) for s in seqs.values())
    # Once each: per device one counter across channels, from 0 with no gap and no repeat.
    for device_id, device_seqs in seqs.items():
        assert device_seqs == list(range(len(device_seqs))), device_id

    assert first.database is not None
    with first.database.sessions() as session:
        by_worker = read_counters_by_worker(session)
        totals = read_counters(session)
    assert by_worker["atrium-hub-fleet-w0"]["stored"] > 0, "the first worker took part"
    assert by_worker["atrium-hub-fleet-w1"]["stored"] > 0, "the second worker took part"
    assert totals["stored"] == stored == sum(counters.get("stored", 0) for counters in by_worker.values())

    assert job_runs(first) > 0
    assert job_runs(second) == 0, "a follower runs no job"


@pytest.mark.faults
def test_when_the_leader_goes_the_other_worker_takes_over_within_seconds_and_runs_the_jobs(
    start_worker: StartWorker,
) -> None:
    first, second = start_worker(0), start_worker(1)
    wait_for(lambda: job_runs(first) > 0, what="the leader running its jobs")
    assert leading(first, second) == [first]
    assert job_runs(second) == 0

    first.stop()  # its lock connection closes with it, as it would if the process died
    wait_for(lambda: leading(second) == [second], timeout=5, what="the other worker taking the lead")
    ran = job_runs(second)
    wait_for(lambda: job_runs(second) > ran + 3, timeout=10, what="the new leader running the jobs")

    again = start_worker(0)  # the first worker comes back: it follows, the lead stays where it is
    ran_again = job_runs(again)
    wait_for(lambda: job_runs(second) > ran + 6, timeout=10, what="the leader going on")
    assert leading(again, second) == [second]
    assert job_runs(again) == ran_again == 0


def test_what_a_follower_enqueues_the_leader_publishes_at_once_not_at_its_next_poll(
    start_worker: StartWorker,
) -> None:
    first, second = start_worker(0), start_worker(1)
    wait_for(lambda: leading(first, second) == [first], what="the first worker leading")
    assert first.relay is not None and second.database is not None
    follower_database = second.database
    first.relay.poll_s = 60.0
    time.sleep(1.5)  # the relay's wait under the old poll ends; from now on only a wake-up makes it publish
    with follower_database.sessions.begin() as session:
        enqueue(session, topic="atrium/v1/hq/nowhere/command", payload=b"{}", now=datetime.now(UTC))

    def published() -> bool:
        with follower_database.sessions() as session:
            return session.scalar(sa.select(OutboxMessage.published_at).order_by(OutboxMessage.id.desc())) is not None

    wait_for(published, timeout=10, what="the leader publishing the follower's message")


@pytest.mark.faults
def test_atrium_hub_workers_restarts_a_killed_leader_and_the_other_worker_leads_meanwhile(
    broker: TestBroker, tmp_path: Path
) -> None:
    with create_test_database("postgres", tmp_path) as database:
        settings = Settings(database_url=database.url, mqtt_url=broker.endpoint.url, building="synthetic:5", workers=2)
        supervisor = WorkerSupervisor(settings, count=2, api=False, group=GROUP)
        engine = create_engine(database.url)
        try:
            supervisor.start()
            watching = threading.Thread(target=supervisor.watch, kwargs={"poll_s": 0.2}, daemon=True)
            watching.start()

            def leader() -> str | None:
                with sa.orm.Session(engine) as session:
                    return current_leader(session)

            def candidates() -> set[str]:
                """Workers whose election connection is up: both must be, or nobody is there to take over."""
                with engine.connect() as connection:
                    names = connection.scalars(
                        sa.text(
                            "SELECT application_name FROM pg_stat_activity"
                            " WHERE datname = current_database() AND application_name LIKE 'atrium-hub-fleet-w%'"
                        )
                    )
                    return set(names)

            wait_for(lambda: len(candidates()) == 2, timeout=60, what="both workers standing for election")
            first = wait_for(leader, timeout=60, what="a worker leading")
            assert first is not None and first.startswith("atrium-hub-fleet-w"), first
            index = int(first.rsplit("-w", 1)[1])
            killed = supervisor.pids()[index]
            os.kill(killed, signal.SIGKILL)
            other = wait_for(lambda: (name := leader()) not in (None, first) and name, timeout=10, what="takeover")
            assert other == f"atrium-hub-fleet-w{1 - index}"
            wait_for(lambda: supervisor.pids().get(index) not in (None, killed), timeout=10, what="the restart")
        finally:
            supervisor.stop()
            engine.dispose()
