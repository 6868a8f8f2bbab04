"""Batches written to a real database (SQLite file and PostgreSQL): once per message, bounded dead letters."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from devices.site import synthetic_building
from devices.topics import ONLINE, Channel, device_topic
from hub.runtime import Database
from hub.services.ingest import RawMessage, classify, plan_batch
from hub.store.building_sync import sync_building
from hub.store.journal import load_registry, write_batch
from hub.store.models import Device, DeviceMessage, RejectedMessage
from hub.store.registry import ingest_totals
from tests.databases import ScratchDatabase
from tests.helpers import environment_payload

BUILDING = synthetic_building(10, site_id="fleet")
ENV_DEVICE = "dev-00001"  # the second device of every synthetic room is an environment sensor


@pytest.fixture
def db(database: ScratchDatabase) -> Iterator[Database]:
    opened = Database.open(database.url)
    with opened.sessions.begin() as session:
        sync_building(session, BUILDING)
    yield opened
    opened.close()


def write(db: Database, messages: list[tuple[str, bytes]], *, dead_letter_limit: int = 100) -> None:
    with db.sessions() as session:
        registry = load_registry(session, "fleet")
    now = datetime.now(UTC)
    results = [classify(RawMessage(t, p, now), registry, max_bytes=4096) for t, p in messages]
    with db.sessions.begin() as session:
        write_batch(session, plan_batch(results, liveness_s=registry.liveness_s), dead_letter_limit=dead_letter_limit)


def telemetry(seq: int) -> tuple[str, bytes]:
    return device_topic("fleet", ENV_DEVICE, Channel.TELEMETRY), environment_payload(ENV_DEVICE, seq)


def test_a_message_redelivered_in_a_later_batch_is_stored_once_and_counted_as_duplicate(db: Database) -> None:
    write(db, [telemetry(0), telemetry(1)])
    write(db, [telemetry(1), telemetry(2)])
    with db.sessions() as session:
        seqs = session.scalars(sa.select(DeviceMessage.seq).order_by(DeviceMessage.seq)).all()
        totals = ingest_totals(session)
        device = session.get(Device, ENV_DEVICE)
    assert seqs == [0, 1, 2]
    assert totals["received"] == 4
    assert totals["stored"] == 3
    assert totals["duplicates"] == 1
    assert device is not None and device.last_seq == 2 and device.first_seen is not None


def test_last_seq_never_goes_back_when_an_old_buffer_replays(db: Database) -> None:
    write(db, [telemetry(10)])
    write(db, [telemetry(3)])
    with db.sessions() as session:
        device = session.get(Device, ENV_DEVICE)
    assert device is not None and device.last_seq == 10


def test_availability_marks_the_device_online(db: Database) -> None:
    write(db, [(device_topic("fleet", ENV_DEVICE, Channel.AVAILABILITY), ONLINE)])
    with db.sessions() as session:
        device = session.get(Device, ENV_DEVICE)
    assert device is not None and device.online is True and device.availability_changed_at is not None


def test_dead_letters_keep_the_newest_up_to_the_limit_and_counters_keep_everything(db: Database) -> None:
    bad_topic = device_topic("fleet", "ghost", Channel.TELEMETRY)
    for batch in range(3):
        write(db, [(bad_topic, f"bad {batch}-{i}".encode()) for i in range(60)], dead_letter_limit=100)
    with db.sessions() as session:
        kept = session.scalars(sa.select(RejectedMessage.payload).order_by(RejectedMessage.id)).all()
        totals = ingest_totals(session)
    assert len(kept) == 100
    assert kept[-1] == b"bad 2-59"
    assert totals["rejected"] == 180
    assert totals["rejected_by_reason"] == {"unknown_device": 180}


def test_a_device_removed_from_the_building_is_retired_and_no_longer_accepted(db: Database) -> None:
    smaller = synthetic_building(5, site_id="fleet")
    with db.sessions.begin() as session:
        sync_building(session, smaller)
    with db.sessions() as session:
        registry = load_registry(session, "fleet")
        retired = session.get(Device, "dev-00009")
    assert "dev-00009" not in registry.kinds
    assert "dev-00004" in registry.kinds
    assert retired is not None and retired.in_building is False
