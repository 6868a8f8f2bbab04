"""Writes an ingest batch in one transaction: messages once each, registry updates, dead letters, counters."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from devices.kinds import DeviceKind
from hub.services.ingest import DUPLICATES, STORED, BatchPlan, MessageRow, Registry
from hub.services.reactions import NewMessage, Reactions
from hub.store.db import dialect_insert
from hub.store.models import Device, DeviceMessage, IngestCounter, RejectedMessage

DEAD_LETTER_PAYLOAD_BYTES = 4096
"""How much of a refused payload is kept for inspection."""
COUNTER_WORKER = "atrium_counter_worker"
"""Session info key: which worker's counter rows a session adds to (see count_as)."""


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What a committed batch did."""

    stored: int
    duplicates: int
    rejected: int


def write_batch(
    session: Session,
    plan: BatchPlan,
    *,
    dead_letter_limit: int,
    reactions: Reactions | None = None,
    now: datetime | None = None,
) -> BatchResult:
    """Apply ``plan`` inside the caller's transaction; the caller commits, then acknowledges.

    ``reactions`` run for the messages stored for the first time, in the same transaction.
    """
    new_rows = _insert_messages(session, plan)
    stored = len(new_rows)
    duplicates = len(plan.rows) - stored + plan.in_batch_duplicates
    _update_devices(session, plan)
    if plan.rejects:
        _keep_dead_letters(session, plan, dead_letter_limit)
    counters = plan.counters.copy()
    if reactions:
        news = [NewMessage(row.device_id, row.message, row.received_at) for row in new_rows]
        counters.update(reactions.run(session, news, now or datetime.now(UTC)))
    counters[STORED] += stored
    counters[DUPLICATES] += duplicates
    _add_to_counters(session, {name: n for name, n in counters.items() if n})
    return BatchResult(stored=stored, duplicates=duplicates, rejected=len(plan.rejects))


_MESSAGES = cast(sa.Table, DeviceMessage.__table__)


def _insert_messages(session: Session, plan: BatchPlan) -> list[MessageRow]:
    """Insert rows, skipping (device, seq) pairs already stored; returns the rows that were new.

    One statement executed for many rows (SQLAlchemy sends them as multi-row INSERTs), so it is
    compiled once per process rather than once per batch.
    """
    if not plan.rows:
        return []
    statement = (
        dialect_insert(session)(_MESSAGES)
        .on_conflict_do_nothing(index_elements=["device_id", "seq"])
        .returning(_MESSAGES.c.device_id, _MESSAGES.c.seq)
    )
    rows = [
        {
            "device_id": row.device_id,
            "seq": row.seq,
            "channel": row.channel,
            "device_ts": row.device_ts,
            "received_at": row.received_at,
            "data": row.data,
        }
        for row in sorted(plan.rows, key=lambda r: (r.device_id, r.seq))  # one lock order for all workers
    ]
    inserted = {(device_id, seq) for device_id, seq in session.connection().execute(statement, rows)}
    return [row for row in plan.rows if (row.device_id, row.seq) in inserted]


_DEVICES = cast(sa.Table, Device.__table__)


def _param(name: str, column: sa.Column[object]) -> sa.BindParameter[object]:
    return sa.bindparam(name, type_=column.type)


_c = _DEVICES.c
_HEARD = (
    sa.update(_DEVICES)
    .where(_c.id == sa.bindparam("b_id"))
    .values(
        last_seen=_param("b_last_seen", _c.last_seen),
        first_seen=sa.func.coalesce(_c.first_seen, _param("b_last_seen", _c.last_seen)),
        last_seq=sa.case(
            (
                sa.or_(_c.last_seq.is_(None), _c.last_seq < _param("b_max_seq", _c.last_seq)),
                _param("b_max_seq", _c.last_seq),
            ),
            else_=_c.last_seq,
        ),
        online=sa.func.coalesce(_param("b_online", _c.online), _c.online),
        availability_changed_at=sa.func.coalesce(
            _param("b_availability_changed_at", _c.availability_changed_at), _c.availability_changed_at
        ),
        firmware=sa.func.coalesce(_param("b_firmware", _c.firmware), _c.firmware),
        report_interval_s=sa.func.coalesce(_param("b_report_interval_s", _c.report_interval_s), _c.report_interval_s),
        liveness_s=sa.func.coalesce(_param("b_liveness_s", _c.liveness_s), _c.liveness_s),
        expires_at=sa.func.coalesce(_param("b_expires_at", _c.expires_at), _c.expires_at),
    )
)
"""What a batch teaches the registry, one statement for all its devices (absent values keep the stored ones)."""


def _update_devices(session: Session, plan: BatchPlan) -> None:
    if not plan.devices:
        return
    rows = [
        {
            "b_id": device_id,
            "b_last_seen": update.last_seen,
            "b_max_seq": update.max_seq,
            "b_online": update.online,
            "b_availability_changed_at": update.availability_changed_at,
            "b_firmware": update.state.firmware if update.state else None,
            "b_report_interval_s": update.state.report_interval_s if update.state else None,
            "b_liveness_s": update.state.liveness_s if update.state else None,
            "b_expires_at": update.expires_at,
        }
        for device_id, update in sorted(plan.devices.items())  # one lock order for all workers: no deadlock
    ]
    session.connection().execute(_HEARD, rows)


def _storable_text(text: str, limit: int) -> str:
    """Text from outside, made fit for a text column: PostgreSQL refuses NUL characters, so they are spelled out."""
    return text.replace("\x00", "\\x00")[:limit]


def _keep_dead_letters(session: Session, plan: BatchPlan, limit: int) -> None:
    session.execute(
        sa.insert(RejectedMessage),
        [
            {
                "received_at": rejected.raw.received_at,
                "topic": _storable_text(rejected.raw.topic, 255),
                "reason": rejected.reason.value,
                "detail": _storable_text(rejected.detail, 500),
                "payload": rejected.raw.payload[:DEAD_LETTER_PAYLOAD_BYTES],
                "payload_size": len(rejected.raw.payload),
            }
            for rejected in plan.rejects
        ],
    )
    oldest_kept = (
        sa.select(RejectedMessage.id).order_by(RejectedMessage.id.desc()).offset(limit - 1).limit(1).scalar_subquery()
    )
    session.execute(sa.delete(RejectedMessage).where(RejectedMessage.id < oldest_kept))


def _add_to_counters(session: Session, increments: Mapping[str, int]) -> None:
    if not increments:
        return
    worker = str(session.info.get(COUNTER_WORKER, ""))
    insert = dialect_insert(session)
    statement = insert(IngestCounter).values(
        [{"name": name, "worker": worker, "count": n} for name, n in sorted(increments.items())]
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["name", "worker"], set_={"count": IngestCounter.count + statement.excluded.count}
        )
    )


def add_to_counters(session: Session, increments: Mapping[str, int]) -> None:
    """Add to (or, with negative numbers, take from) ingest counters in the caller's transaction."""
    _add_to_counters(session, increments)


def count_as(sessions: sessionmaker[Session], worker: str) -> None:
    """Make ingest batches written through ``sessions`` add to ``worker``'s own counter rows."""
    sessions.configure(info={COUNTER_WORKER: worker})


def read_counters(session: Session) -> dict[str, int]:
    """All ingest counters by name, summed over the workers."""
    total = sa.cast(sa.func.sum(IngestCounter.count), sa.BigInteger)
    query = sa.select(IngestCounter.name, total).group_by(IngestCounter.name)
    return {name: int(count) for name, count in session.execute(query)}


def read_counters_by_worker(session: Session) -> dict[str, dict[str, int]]:
    """Each worker's own counters by name ("" is a hub that runs alone)."""
    counters: dict[str, dict[str, int]] = {}
    rows = session.execute(sa.select(IngestCounter.worker, IngestCounter.name, IngestCounter.count))
    for worker, name, count in rows:
        counters.setdefault(worker, {})[name] = count
    return counters


def load_registry(session: Session, site_id: str) -> Registry:
    """The device kinds the ingest judges messages against: devices of the current building only."""
    rows = session.execute(sa.select(Device.id, Device.kind, Device.liveness_s).where(Device.in_building)).all()
    kinds = {device_id: DeviceKind(kind) for device_id, kind, _ in rows}
    liveness = {device_id: seconds for device_id, _, seconds in rows if seconds is not None}
    return Registry(site_id=site_id, kinds=kinds, liveness_s=liveness)


def mark_silent_devices_offline(session: Session, now: datetime) -> int:
    """Devices not heard from within their liveness window go offline; returns how many did."""
    silent = (
        sa.update(Device)
        .where(Device.online.is_(True), Device.expires_at < now)
        .values(online=False, availability_changed_at=now)
        .returning(Device.id)
    )
    return len(session.execute(silent).all())
