"""End-to-end acknowledgement: after each commit, tell every device which of its messages the hub holds.

QoS 1 stops at the broker, and a broker hard-killed between autosaves forgets messages it had
already acknowledged to their device. So a device keeps every message in its outbox until the hub
itself confirms it with a ``committed`` command (devices.payloads.Committed) on the device's
command topic, listing the sequence numbers of the batch as ranges (a replay can arrive out of
order). Repeats the hub already held are confirmed again, so a device whose confirmation was lost
is answered when it sends again.

The confirmation is published straight after the batch commits, at QoS 1, and NOT through the
transactional outbox: that would write one row per device per batch (doubling the ingest's writes
for 500 devices) to guard a message whose loss costs only a resend, which the store drops as a
repeat and confirms again. QoS 1, not 0, because a device is often away just when the hub
confirms (a broker restart drops every client at once, and the hub may be back first): the
broker keeps the confirmation in the device's session and hands it over on its return. At QoS 0
each one lost cost a resend: 41,741 of them in 20 broker restarts (bench/README.md, faults).
It is not retained.
"""

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from devices.codec import encode
from devices.payloads import MAX_COMMITTED_RANGES, Committed, seq_ranges
from devices.topics import Channel, device_topic
from hub.services.ingest import BatchPlan

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes], object]
"""Sends a payload to a topic at QoS 1 (hub.mqtt.connection.HubConnection.publish)."""


class CommitConfirmations:
    """The ingest pipeline's ``after_commit``: one ``committed`` per device of each committed batch."""

    def __init__(self, *, site_id: str, publish: Publish) -> None:
        self.site_id = site_id
        self.publish = publish
        self.sent = 0
        """Confirmations published since start."""

    def __call__(self, plans: Sequence[BatchPlan]) -> None:
        """Confirm the rows of ``plans`` (just committed); never raises into the ingest thread."""
        try:
            self._confirm(plans)
        except Exception:  # a failed confirmation only means a resend; the ingest must go on
            log.exception("could not publish commit confirmations")

    def _confirm(self, plans: Sequence[BatchPlan]) -> None:
        seqs: dict[str, set[int]] = {}
        for plan in plans:
            for row in plan.rows:
                seqs.setdefault(row.device_id, set()).add(row.seq)
        now = datetime.now(UTC)
        for device_id, numbers in seqs.items():
            ranges = seq_ranges(numbers)
            for start in range(0, len(ranges), MAX_COMMITTED_RANGES):
                part = ranges[start : start + MAX_COMMITTED_RANGES]
                command = Committed(id=f"committed-{part[-1][1]}", ts=now, ranges=part)
                self.publish(device_topic(self.site_id, device_id, Channel.COMMAND), encode(command))
                self.sent += 1
