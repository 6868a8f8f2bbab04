"""Sequence gaps: numbers missing from what a device said, found in the stored messages themselves.

A device numbers all its messages with one counter, so a hole between two stored numbers is a
message lost on the way, or one still to come in a replay. A hole is *settled* once the message
after it was received more than a grace period ago; before that a replay may still fill it. A jump
wider than ``max_span`` is a counter that was reset or renumbered (firmware replaced, a simulated
fleet that starts its counter at the clock), not a loss, and is not reported.
"""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.store.models import DeviceMessage


@dataclass(frozen=True, slots=True)
class SeqGap:
    """Sequence numbers ``first`` to ``last`` (both included) that never arrived."""

    first: int
    last: int

    @property
    def missing(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True, slots=True)
class GapScan:
    """One device's holes above a sequence number."""

    settled: list[SeqGap]
    """Holes older than the grace period, oldest first."""
    unsettled: bool
    """Whether a hole is too fresh to judge yet (look again later)."""
    floor: int | None
    """Everything up to this number is stored: the next scan may start here (None: nothing stored)."""


def scan_gaps(
    session: Session, device_id: str, *, since_seq: int | None, settled_before: datetime, max_span: int
) -> GapScan:
    """The holes in ``device_id``'s stored sequence numbers from ``since_seq`` (or its first) on.

    The database finds the holes (a window over the (device, seq) index), so only holes come back.
    """
    seq = DeviceMessage.seq
    previous = sa.func.lag(seq).over(order_by=seq)
    stored = sa.select(seq.label("seq"), previous.label("previous"), DeviceMessage.received_at).where(
        DeviceMessage.device_id == device_id
    )
    if since_seq is not None:
        stored = stored.where(seq >= since_seq)
    rows = stored.subquery()
    holes = session.execute(
        sa.select(rows.c.previous, rows.c.seq, rows.c.received_at)
        .where(rows.c.seq - rows.c.previous > 1)
        .order_by(rows.c.seq)
    ).all()
    top = session.scalar(sa.select(sa.func.max(seq)).where(DeviceMessage.device_id == device_id))
    settled: list[SeqGap] = []
    unsettled = False
    floor = top
    for before, after, received_at in holes:
        if after - before - 1 > max_span:
            continue
        if floor == top:
            floor = before
        if received_at <= settled_before:
            settled.append(SeqGap(before + 1, after - 1))
        else:
            unsettled = True
    return GapScan(settled=settled, unsettled=unsettled, floor=floor)
