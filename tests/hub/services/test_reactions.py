"""Reactions run once per newly stored message, in the batch's transaction; a failing one is rolled back alone."""

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from devices.payloads import EnvironmentTelemetry
from devices.site import synthetic_building
from devices.topics import Channel, device_topic
from hub.errors import Conflict
from hub.runtime import Database
from hub.services.assets import sync_assets
from hub.services.fault_rules import load_rules
from hub.services.fault_watch import on_telemetry
from hub.services.ingest import RawMessage, classify, plan_batch
from hub.services.reactions import NewMessage, Reactions
from hub.store.building_sync import sync_building
from hub.store.journal import add_to_counters, load_registry, read_counters, write_batch
from hub.store.models import Floor
from hub.store.registry import ingest_totals
from hub.store.ticket_models import Ticket
from tests.databases import ScratchDatabase
from tests.helpers import environment_payload

ENV = "dev-00001"


@pytest.fixture
def db(database: ScratchDatabase) -> Iterator[Database]:
    opened = Database.open(database.url)
    with opened.sessions.begin() as session:
        building = synthetic_building(10, site_id="fleet")
        sync_building(session, building)
        sync_assets(session, building)
    yield opened
    opened.close()


def ingest(db: Database, seqs: list[int], reactions: Reactions) -> None:
    with db.sessions() as session:
        registry = load_registry(session, "fleet")
    now = datetime.now(UTC)
    raw = [RawMessage(device_topic("fleet", ENV, Channel.TELEMETRY), environment_payload(ENV, s), now) for s in seqs]
    plan = plan_batch([classify(r, registry, max_bytes=4096) for r in raw], liveness_s={})
    with db.sessions.begin() as session:
        write_batch(session, plan, dead_letter_limit=100, reactions=reactions, now=now)


def rename_floor(session: Session, new: NewMessage, _now: datetime) -> None:
    """A stand-in effect that writes: it renames a floor after the reading."""
    session.execute(sa.update(Floor).where(Floor.id == "floor-00").values(name=f"seen {new.message.seq}"))


def test_a_reaction_runs_once_per_new_message_and_never_for_a_redelivery(db: Database) -> None:
    seen: list[int] = []
    reactions = Reactions()
    reactions.on(EnvironmentTelemetry, "remember", lambda _s, new, _now: seen.append(new.message.seq))
    ingest(db, [1, 2], reactions)
    ingest(db, [2, 3], reactions)
    assert seen == [1, 2, 3]


def test_a_refused_reaction_is_rolled_back_alone_and_counted_while_the_batch_commits(db: Database) -> None:
    def refuse_odd(session: Session, new: NewMessage, now: datetime) -> None:
        rename_floor(session, new, now)
        if new.message.seq % 2:
            raise Conflict("odd readings are refused")

    reactions = Reactions()
    reactions.on(EnvironmentTelemetry, "refuse odd", refuse_odd)
    ingest(db, [2, 3], reactions)
    with db.sessions() as session:
        floor = session.get(Floor, "floor-00")
        totals = ingest_totals(session)
        counters = read_counters(session)
    assert floor is not None and floor.name == "seen 2"  # the refused seq 3 rename was rolled back
    assert totals["stored"] == 2
    assert counters["reaction_refused:refuse odd"] == 1


def test_a_crashing_reaction_does_not_stop_the_ingest(db: Database) -> None:
    def crash(_session: Session, _new: NewMessage, _now: datetime) -> None:
        raise RuntimeError("a bug")

    reactions = Reactions()
    reactions.on(EnvironmentTelemetry, "buggy", crash)
    ingest(db, [5], reactions)
    with db.sessions() as session:
        counters = read_counters(session)
    assert counters["stored"] == 1
    assert counters["reaction_failed:buggy"] == 1


def test_when_one_of_a_messages_reactions_fails_the_others_still_take_effect(db: Database) -> None:
    def crash_on_seven(_session: Session, new: NewMessage, _now: datetime) -> None:
        if new.message.seq == 7:
            raise RuntimeError("a bug")

    reactions = Reactions()
    reactions.on(EnvironmentTelemetry, "rename", rename_floor)
    reactions.on(EnvironmentTelemetry, "buggy on seven", crash_on_seven)
    ingest(db, [6, 7], reactions)
    with db.sessions() as session:
        floor = session.get(Floor, "floor-00")
        counters = read_counters(session)
    assert floor is not None and floor.name == "seen 7", "the good reaction to seq 7 kept its effect"
    assert counters["reaction_failed:buggy on seven"] == 1
    assert "reaction_failed:rename" not in counters


def test_a_batch_reaction_takes_the_batch_at_once_and_a_bad_message_loses_only_its_own_effects(db: Database) -> None:
    calls: list[list[int]] = []

    def note_each(session: Session, news: Sequence[NewMessage], _now: datetime) -> None:
        calls.append([new.message.seq for new in news])
        for new in news:
            add_to_counters(session, {f"seen {new.message.seq}": 1})
            if new.message.seq == 12:
                raise RuntimeError("a bug")

    reactions = Reactions()
    reactions.on_batch(EnvironmentTelemetry, "note", note_each)
    ingest(db, [11, 12, 13], reactions)
    with db.sessions() as session:
        counters = read_counters(session)
    assert calls[0] == [11, 12, 13], "the whole batch at once, in order"
    assert (counters["seen 11"], counters["seen 13"]) == (1, 1), "the good messages' effects, once each"
    assert "seen 12" not in counters
    assert counters["reaction_failed:note"] == 1


def test_a_rule_counts_a_devices_readings_within_one_batch_as_one_at_a_time(db: Database) -> None:
    reactions = Reactions()
    reactions.on_batch(EnvironmentTelemetry, "fault rules", on_telemetry(load_rules()))
    ingest(db, list(range(1, 11)), reactions)  # ten identical readings: the shipped stuck rule fires at ten
    ingest(db, [11], reactions)
    with db.sessions() as session:
        stuck = session.scalars(sa.select(Ticket).where(Ticket.asset_id == ENV, Ticket.fault_type == "stuck")).all()
    assert [ticket.occurrences for ticket in stuck] == [1]
