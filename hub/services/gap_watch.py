"""Counts the messages missing from devices' sequences (ingest counter ``gaps``), and un-counts filled ones.

A timed job on the leading hub. It remembers, per device, the number up to which nothing is
missing, so a device that lost nothing is looked at only from there; devices with a hole are
looked at again every run until a replay fills it. One run is two reads whatever the fleet's size:
every device's highest number, then one windowed query over the devices that said something new.
The counter is set to the number of messages missing now, so a hole filled later leaves it; a hub
taking the lead starts over and corrects it.
"""

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.store.journal import add_to_counters, read_counters
from hub.store.models import Device
from hub.store.seq_gaps import SeqGap, Stored, find_holes, judge

GAPS = "gaps"
"""The ingest counter of messages missing now (below each device's highest stored number)."""


class GapWatch:
    """The job ``run(session, now)``; ``missing`` is what it found last."""

    def __init__(self, *, grace_s: float, max_span: int) -> None:
        self.grace = timedelta(seconds=grace_s)
        self.max_span = max_span
        self.missing: dict[str, list[SeqGap]] = {}
        self._floors: dict[str, int] = {}
        self._unsettled: set[str] = set()

    def run(self, session: Session, now: datetime) -> int:
        """Look at the devices that said something new or have holes; returns the messages missing now."""
        heard = session.execute(sa.select(Device.id, Device.last_seq).where(Device.last_seq.is_not(None)))
        floors: dict[str, int | None] = {}
        for device_id, top in heard:
            floor = self._floors.get(device_id)
            quiet = floor is not None and top is not None and floor >= top
            if not quiet or device_id in self.missing or device_id in self._unsettled:
                floors[device_id] = floor
        found = find_holes(session, floors)
        settled_before = now - self.grace
        for device_id in floors:
            scan = judge(found.get(device_id, Stored()), settled_before=settled_before, max_span=self.max_span)
            if scan.floor is not None:
                self._floors[device_id] = scan.floor
            self._remember(device_id, scan.settled, scan.unsettled)
        total = sum(gap.missing for gaps in self.missing.values() for gap in gaps)
        counted = read_counters(session).get(GAPS, 0)
        if total != counted:
            add_to_counters(session, {GAPS: total - counted})
        return total

    def _remember(self, device_id: str, settled: list[SeqGap], unsettled: bool) -> None:
        if settled:
            self.missing[device_id] = settled
        else:
            self.missing.pop(device_id, None)
        if unsettled:
            self._unsettled.add(device_id)
        else:
            self._unsettled.discard(device_id)
