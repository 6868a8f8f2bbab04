"""A device's outbox: every message waits here until the broker (or, end to end, the hub) has it.

Messages leave in the order they were made, so a replay after an outage keeps the original
sequence numbers in order. A device that waits for the hub's confirmation (:meth:`Outbox.confirm`)
keeps a message the broker acknowledged (:meth:`Outbox.deliver`) until the hub says it committed
it: a broker killed between autosaves forgets what it had acknowledged. When the outbox is full
the oldest message is dropped and counted, as firmware with a fixed flash ring buffer would.
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
    """Handed to the current connection (cleared when a connection is lost)."""
    attempts: int = 0
    acked: bool = False
    """Done with: acknowledged by the broker or, end to end, confirmed by the hub."""
    dropped: bool = False
    delivered_at: float | None = None
    """When the broker acknowledged it, while the device waits for the hub's confirmation."""


class Outbox:
    """Unacknowledged messages, oldest first; the messages already sent form a prefix."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        if limit < 1:
            raise ValueError("an outbox holds at least one message")
        self.limit = limit
        self.dropped = 0
        self._queue: deque[Outgoing] = deque()
        self._sent = 0

    def __len__(self) -> int:
        return len(self._queue)

    def __iter__(self) -> Iterator[Outgoing]:
        """The waiting messages, oldest first."""
        return iter(self._queue)

    @property
    def unsent(self) -> int:
        """Messages not yet handed to the current connection."""
        return len(self._queue) - self._sent

    def put(self, message: Outgoing) -> Outgoing | None:
        """Add a message; returns the oldest one if it had to be dropped to make room."""
        self._queue.append(message)
        if len(self._queue) <= self.limit:
            return None
        oldest = self._queue.popleft()
        if self._sent:
            self._sent -= 1
        oldest.dropped = True
        self.dropped += 1
        return oldest

    def take(self) -> Outgoing | None:
        """The next message to send on this connection, in order, or None when all are sent."""
        while self._sent < len(self._queue):
            message = self._queue[self._sent]
            self._sent += 1
            if not message.acked:
                message.sent = True
                message.attempts += 1
                return message
        return None

    def ack(self, message: Outgoing) -> None:
        """The broker has the message: forget it (and any acknowledged ones behind it)."""
        message.acked = True
        self._forget_done()

    def deliver(self, message: Outgoing, at: float) -> None:
        """The broker has the message, but it stays until the hub confirms it (end to end)."""
        message.delivered_at = at

    def confirm(self, covers: Callable[[int], bool]) -> int:
        """The hub committed the messages whose sequence numbers ``covers``: forget them; returns how many."""
        confirmed = 0
        for message in self._queue:
            if not message.acked and covers(message.seq):
                message.acked = True
                confirmed += 1
        self._forget_done()
        return confirmed

    def oldest_unconfirmed(self) -> Outgoing | None:
        """The oldest message still waiting, if any."""
        return next((message for message in self._queue if not message.acked), None)

    def requeue(self) -> None:
        """Send everything not yet done with again: the connection is gone, or the hub never confirmed."""
        for message in self._queue:
            message.sent = False
            message.delivered_at = None
        self._sent = 0

    def _forget_done(self) -> None:
        while self._queue and self._queue[0].acked:
            self._queue.popleft()
            self._sent = max(0, self._sent - 1)
