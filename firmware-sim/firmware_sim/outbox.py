"""A device's outbox: every message waits here until the broker (or, end to end, the hub) has it.

Messages leave in the order they were made, so a replay after an outage keeps the original
sequence numbers in order. When the outbox is full the oldest message is dropped and counted, as
firmware with a fixed flash ring buffer would.

A device that waits for the hub's confirmation keeps a message the broker acknowledged
(:meth:`Outbox.deliver`) until the hub says it committed it (:meth:`Outbox.confirm`): a broker
killed between autosaves forgets what it had acknowledged. What is sent again, and when:

* **No PUBACK, connection lost** (:meth:`Outbox.connection_lost`): the broker may never have had
  it, so it goes again on the next connection, in order. This is all that a device not waiting
  for the hub ever resends.
* **PUBACK, connection lost**: nothing. The broker has it (a graceful restart keeps it on disk),
  so it keeps waiting for the hub's confirmation instead of being sent on every reconnect.
* **PUBACK, a gap** (:meth:`Outbox.overdue`): the hub confirmed a message the broker acknowledged
  *later*, yet this one is still unconfirmed after the confirmation timeout. The hub reads a
  device's messages in order, so it has moved past this one: the broker lost it (killed before
  its autosave) or lost the confirmation the hub sent. Either way it goes again; a repeat is
  dropped by the hub and confirmed again. The confirmation of a message sent more than once
  shows only that the hub went past its *first* copy (it may be that copy it confirms): taking
  it for the last copy would mistake a hub that is merely behind for one that skipped.
* **PUBACK, silence** (:meth:`Outbox.probe`, timed by the device): no confirmation at all for a
  while, connected (none can come while away). Only the waiting message the broker acknowledged
  last goes again, as a probe: a hub that is down or catching up gets one message, not all of
  them, and once the probe is confirmed (whichever copy) everything older still waiting falls
  under the gap rule, so a loss at the end of a burst, with nothing after it to show the gap,
  is found too.

The device sets the timeouts (firmware_sim.device: 5 s, and for silence 5 s doubling up to 60 s
while nothing is confirmed).
"""

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from devices.topics import Channel

DEFAULT_LIMIT = 10_000


@dataclass(slots=True, eq=False)
class Outgoing:
    """One encoded message and where it is in its journey to the broker."""

    seq: int
    channel: Channel
    topic: str
    payload: bytes
    retain: bool = False
    sent: bool = False
    """Handed to the current connection, PUBACK not yet received (paho's in-flight)."""
    attempts: int = 0
    acked: bool = False
    """Done with: acknowledged by the broker or, end to end, confirmed by the hub."""
    dropped: bool = False
    delivered_at: float | None = None
    """When the broker acknowledged it, while the device waits for the hub's confirmation."""
    delivery: int = 0
    """The rank of that acknowledgement among the outbox's (0: none)."""
    first_delivery: int = 0
    """The rank of its first acknowledgement: a confirmation may answer that copy, not the last one."""

    @property
    def pending(self) -> bool:
        """Whether it is to be sent: not done with, not in flight, not waiting for the hub."""
        return not (self.acked or self.sent or self.dropped) and self.delivered_at is None


class Outbox:
    """Messages not yet done with, oldest first; see the module docstring for what is sent again."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        if limit < 1:
            raise ValueError("an outbox holds at least one message")
        self.limit = limit
        self.dropped = 0
        self._queue: deque[Outgoing] = deque()
        self._next = 0
        """Messages before this index were offered to the current connection."""
        self._again: deque[Outgoing] = deque()
        """Messages behind ``_next`` to send again on this connection (gap and silence rules)."""
        self._awaiting: deque[tuple[int, Outgoing]] = deque()
        """(delivery rank, message) in the order the broker acknowledged them; stale entries are skipped."""
        self._deliveries = 0
        self._confirmed_rank = 0
        """The highest delivery rank the hub has confirmed."""

    def __len__(self) -> int:
        return len(self._queue)

    def __iter__(self) -> Iterator[Outgoing]:
        """The waiting messages, oldest first."""
        return iter(self._queue)

    @property
    def unsent(self) -> int:
        """Messages not yet offered to the current connection (some may turn out to need no sending)."""
        return len(self._queue) - self._next + len(self._again)

    def put(self, message: Outgoing) -> Outgoing | None:
        """Add a message; returns the oldest one if it had to be dropped to make room."""
        self._queue.append(message)
        if len(self._queue) <= self.limit:
            return None
        oldest = self._queue.popleft()
        self._next = max(0, self._next - 1)
        oldest.dropped = True
        self.dropped += 1
        return oldest

    def take(self) -> Outgoing | None:
        """The next message to send on this connection, or None when there is none."""
        while self._again:
            message = self._again.popleft()
            if message.pending:
                return self._hand_over(message)
        while self._next < len(self._queue):
            message = self._queue[self._next]
            self._next += 1
            if message.pending:
                return self._hand_over(message)
        return None

    def ack(self, message: Outgoing) -> None:
        """The broker has the message and that is enough: forget it (and any done ones behind it)."""
        message.sent = False
        message.acked = True
        self._forget_done()

    def deliver(self, message: Outgoing, at: float) -> None:
        """The broker has the message, but it stays until the hub confirms it (end to end)."""
        message.sent = False
        if message.acked or message.dropped:
            return  # the hub's confirmation overtook the PUBACK
        self._deliveries += 1
        message.delivered_at = at
        message.delivery = self._deliveries
        message.first_delivery = message.first_delivery or self._deliveries
        self._awaiting.append((message.delivery, message))

    def confirm(self, covers: Callable[[int], bool]) -> int:
        """The hub committed the messages whose sequence numbers ``covers``: forget them; returns how many."""
        confirmed = 0
        for message in self._queue:
            if not message.acked and covers(message.seq):
                message.acked = True
                message.sent = False
                self._confirmed_rank = max(self._confirmed_rank, message.first_delivery)
                confirmed += 1
        self._forget_done()
        return confirmed

    def oldest_delivered(self) -> Outgoing | None:
        """The message the broker acknowledged longest ago that the hub has not confirmed, if any."""
        awaiting = self._awaiting
        while awaiting and not _waiting(*awaiting[0]):
            awaiting.popleft()
        return awaiting[0][1] if awaiting else None

    def overdue(self, now: float, timeout: float) -> int:
        """Gap rule: send again what the hub went past without confirming for ``timeout``; returns how many."""
        queued = 0
        while (oldest := self.oldest_delivered()) is not None:
            assert oldest.delivered_at is not None
            if oldest.delivery >= self._confirmed_rank or now - oldest.delivered_at < timeout:
                break
            self._awaiting.popleft()
            self._send_again(oldest)
            queued += 1
        return queued

    def probe(self) -> Outgoing | None:
        """Silence rule: send the waiting message first acknowledged last again; returns it (None: nothing waits)."""
        if self.oldest_delivered() is None:
            return None
        newest = max((message for rank, message in self._awaiting if _waiting(rank, message)), key=_first_delivery)
        self._send_again(newest)
        return newest

    def connection_lost(self) -> None:
        """What the lost connection had in flight (no PUBACK) goes again; what the broker took keeps waiting."""
        for message in self._queue:
            message.sent = False
        self._again.clear()
        self._next = 0

    def _hand_over(self, message: Outgoing) -> Outgoing:
        message.sent = True
        message.attempts += 1
        return message

    def _send_again(self, message: Outgoing) -> None:
        message.delivered_at = None  # its entry in _awaiting goes stale
        self._again.append(message)

    def _forget_done(self) -> None:
        while self._queue and self._queue[0].acked:
            self._queue.popleft()
            self._next = max(0, self._next - 1)


def _first_delivery(message: Outgoing) -> int:
    return message.first_delivery


def _waiting(rank: int, message: Outgoing) -> bool:
    """Whether an ``_awaiting`` entry still stands: the message waits for the hub since that delivery."""
    return message.delivered_at is not None and message.delivery == rank and not (message.acked or message.dropped)
