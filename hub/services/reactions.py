"""Reactions to what devices say: domain handlers that run once for each newly stored message.

They run inside the ingest batch's transaction, after the messages themselves are stored, so their
effects (a booking from a door display's button, a ticket from a smoke alarm) commit together with
the message and happen exactly once: a redelivered duplicate is not new, so it reacts to nothing.
A reaction that is refused or fails is rolled back alone (SAVEPOINTs), counted and logged, and the
batch goes on.

A handler takes a whole batch's messages of its types at once (``on_batch``), so it can load what
it needs for all of them in one query instead of one per message (or one message at a time:
``on``). Each handler gets one savepoint per batch; only when it refuses or fails is that rolled back
and the handler run again a message at a time, each in its own savepoint, so a bad message loses
its own effects and no other's, and is counted by the handler's name.
"""

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from devices.payloads import Envelope
from hub.errors import AtriumError

log = logging.getLogger(__name__)

REACTION_REFUSED_PREFIX = "reaction_refused:"
REACTION_FAILED_PREFIX = "reaction_failed:"


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A device message stored for the first time."""

    device_id: str
    message: Envelope
    received_at: datetime


Reaction = Callable[[Session, NewMessage, datetime], None]
BatchReaction = Callable[[Session, Sequence[NewMessage], datetime], None]
"""Reacts to a batch's new messages of its payload types, in the order they came; the effects must be
those of taking them one at a time (the fallback after a failure does just that)."""


@dataclass(frozen=True, slots=True)
class _Handler:
    name: str
    payloads: frozenset[type[Envelope]]
    react: BatchReaction


def one_at_a_time(handler: Reaction) -> BatchReaction:
    """A batch reaction that calls a per-message ``handler`` for each message in turn."""

    def react(session: Session, news: Sequence[NewMessage], now: datetime) -> None:
        for new in news:
            handler(session, new, now)

    return react


class Reactions:
    """Handlers registered per payload model of the device contract, one small function each.

    Handlers run one after the other in the order they were registered, each over the batch's
    messages of its types in the order they came.
    """

    def __init__(self) -> None:
        self._handlers: list[_Handler] = []

    def on(self, payload: type[Envelope], name: str, handler: Reaction) -> None:
        """Call ``handler`` for every new message decoded as ``payload``."""
        self.on_batch(payload, name, one_at_a_time(handler))

    def on_batch(self, payloads: type[Envelope] | Iterable[type[Envelope]], name: str, handler: BatchReaction) -> None:
        """Call ``handler`` once per batch with its new messages decoded as one of ``payloads``."""
        kinds = frozenset([payloads] if isinstance(payloads, type) else payloads)
        self._handlers.append(_Handler(name, kinds, handler))

    def __bool__(self) -> bool:
        return bool(self._handlers)

    def run(self, session: Session, messages: Iterable[NewMessage], now: datetime) -> Counter[str]:
        """React to the messages; returns counters of refused and failed reactions by name."""
        news = list(messages)
        outcomes: Counter[str] = Counter()
        for handler in self._handlers:
            mine = [new for new in news if type(new.message) in handler.payloads]
            if not mine:
                continue
            if len(mine) > 1:
                try:
                    with session.begin_nested():
                        handler.react(session, mine, now)
                    continue
                except Exception:
                    pass  # run it again a message at a time, to keep the good ones and name the bad one
            for new in mine:
                self._run_one(session, handler, new, now, outcomes)
        return outcomes

    @staticmethod
    def _run_one(session: Session, handler: _Handler, new: NewMessage, now: datetime, outcomes: Counter[str]) -> None:
        try:
            with session.begin_nested():
                handler.react(session, [new], now)
        except AtriumError as refused:
            outcomes[REACTION_REFUSED_PREFIX + handler.name] += 1
            log.info("%s refused for %s seq %d: %s", handler.name, new.device_id, new.message.seq, refused)
        except Exception:  # a bug in one reaction must not stop the ingest
            outcomes[REACTION_FAILED_PREFIX + handler.name] += 1
            log.exception("%s failed for %s seq %d", handler.name, new.device_id, new.message.seq)
