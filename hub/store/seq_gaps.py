"""Sequence gaps: numbers missing from what a device said, found in the stored messages themselves.

A device numbers all its messages with one counter, so a hole between two stored numbers is a
message lost on the way, or one still to come in a replay. A hole is *settled* once the message
after it was received more than a grace period ago; before that a replay may still fill it. A jump
wider than ``max_span`` is a counter that was reset or renumbered (firmware replaced, a simulated
fleet that starts its counter at the clock), not a loss, and is not reported.
"""

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.store.models import DeviceMessage

FROM_THE_FIRST = -1
"""A floor below every sequence number (they start at 0): scan a device from its first message."""


@dataclass(frozen=True, slots=True)
class SeqGap:
    """Sequence numbers ``first`` to ``last`` (both included) that never arrived."""

    first: int
    last: int

    @property
    def missing(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True, slots=True)
class Hole:
    """Two stored numbers with none between them: ``after`` was received at ``received_at``."""

    before: int
    after: int
    received_at: datetime


@dataclass(frozen=True, slots=True)
class GapScan:
    """One device's holes above a sequence number."""

    settled: list[SeqGap]
    """Holes older than the grace period, oldest first."""
    unsettled: bool
    """Whether a hole is too fresh to judge yet (look again later)."""
    floor: int | None
    """Everything up to this number is stored: the next scan may start here (None: nothing stored)."""


@dataclass(slots=True)
class Stored:
    """What a scan found of one device: its holes in order, and its highest stored number."""

    holes: list[Hole] = field(default_factory=list)
    top: int | None = None


def find_holes(session: Session, floors: Mapping[str, int | None]) -> dict[str, Stored]:
    """The holes in each device's stored numbers from its floor (None: its first) on, in one query.

    The floors travel as one JSON parameter, so the statement is compiled once whatever the number of
    devices; the database walks the (device, seq) index from each floor and a window finds the holes,
    so only holes (and each device's highest number) come back.
    """
    if not floors:
        return {}
    wanted = _floors_table(session, {device: FROM_THE_FIRST if f is None else f for device, f in floors.items()})
    seq = DeviceMessage.seq
    device = DeviceMessage.device_id
    stored = (
        sa.select(
            DeviceMessage.device_id,
            seq.label("seq"),
            sa.func.lag(seq).over(partition_by=device, order_by=seq).label("previous"),
            sa.func.lead(seq).over(partition_by=device, order_by=seq).label("next"),
            DeviceMessage.received_at,
        )
        .join(wanted, sa.and_(DeviceMessage.device_id == wanted.c.device_id, seq >= wanted.c.floor))
        .subquery()
    )
    rows = session.execute(
        sa.select(stored.c.device_id, stored.c.previous, stored.c.seq, stored.c.next, stored.c.received_at)
        .where(sa.or_(stored.c.seq - stored.c.previous > 1, stored.c.next.is_(None)))
        .order_by(stored.c.device_id, stored.c.seq)
    )
    found: dict[str, Stored] = defaultdict(Stored)
    for device_id, before, after, following, received_at in rows:
        scanned = found[device_id]
        if before is not None and after - before > 1:
            scanned.holes.append(Hole(before, after, received_at))
        if following is None:
            scanned.top = after
    return dict(found)


def _floors_table(session: Session, floors: Mapping[str, int]) -> sa.Subquery:
    """(device_id, floor) rows from one JSON object parameter: json_each on SQLite, json_each_text on PostgreSQL."""
    document = json.dumps(floors)
    if session.get_bind().dialect.name == "postgresql":
        pairs = sa.func.json_each_text(sa.cast(sa.literal(document), sa.JSON)).table_valued("key", "value")
        floor = sa.cast(pairs.c.value, sa.BigInteger)
        return sa.select(pairs.c.key.label("device_id"), floor.label("floor")).subquery()
    pairs = sa.func.json_each(sa.literal(document)).table_valued("key", "value")
    return sa.select(pairs.c.key.label("device_id"), pairs.c.value.label("floor")).subquery()


def judge(stored: Stored, *, settled_before: datetime, max_span: int) -> GapScan:
    """What a device's holes mean now."""
    settled: list[SeqGap] = []
    unsettled = False
    floor = stored.top
    counted = False
    for hole in stored.holes:
        if hole.after - hole.before - 1 > max_span:
            continue
        if not counted:
            floor, counted = hole.before, True
        if hole.received_at <= settled_before:
            settled.append(SeqGap(hole.before + 1, hole.after - 1))
        else:
            unsettled = True
    return GapScan(settled=settled, unsettled=unsettled, floor=floor)


def scan_gaps(
    session: Session, device_id: str, *, since_seq: int | None, settled_before: datetime, max_span: int
) -> GapScan:
    """The holes in ``device_id``'s stored sequence numbers from ``since_seq`` (or its first) on."""
    stored = find_holes(session, {device_id: since_seq}).get(device_id, Stored())
    return judge(stored, settled_before=settled_before, max_span=max_span)
