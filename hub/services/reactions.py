"""Reactions to what devices say: domain handlers that run once for each newly stored message.

They run inside the ingest batch's transaction, after the message itself is stored, so their
effects (a booking from a door display's button, a ticket from a smoke alarm) commit together with
the message and happen exactly once: a redelivered duplicate is not new, so it reacts to nothing.
A reaction that is refused or fails is rolled back alone (SAVEPOINTs), counted and logged, and the
batch goes on.
"""

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
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


class Reactions:
    """Handlers registered per payload model of the device contract, one small function each."""

    def __init__(self) -> None:
        self._handlers: dict[type[Envelope], list[tuple[str, Reaction]]] = defaultdict(list)

    def on(self, payload: type[Envelope], name: str, handler: Reaction) -> None:
        """Call ``handler`` for every new message decoded as ``payload``."""
        self._handlers[payload].append((name, handler))

    def __bool__(self) -> bool:
        return bool(self._handlers)

    def run(self, session: Session, messages: Iterable[NewMessage], now: datetime) -> Counter[str]:
        """React to each message; returns counters of refused and failed reactions by name.

        A message's handlers share one savepoint (savepoints cost as much as small handlers); only when one
        of them refuses or fails are they rolled back and run again, each in its own savepoint, so the
        others' effects stay and the culprit is counted by name.
        """
        outcomes: Counter[str] = Counter()
        for new in messages:
            handlers = self._handlers.get(type(new.message), ())
            if len(handlers) > 1:
                try:
                    with session.begin_nested():
                        for _, handler in handlers:
                            handler(session, new, now)
                    continue
                except Exception:
                    pass  # run them one by one below, to keep the good ones and name the bad one
            for name, handler in handlers:
                try:
                    with session.begin_nested():
                        handler(session, new, now)
                except AtriumError as refused:
                    outcomes[REACTION_REFUSED_PREFIX + name] += 1
                    log.info("%s refused for %s seq %d: %s", name, new.device_id, new.message.seq, refused)
                except Exception:  # a bug in one reaction must not stop the ingest
                    outcomes[REACTION_FAILED_PREFIX + name] += 1
                    log.exception("%s failed for %s seq %d", name, new.device_id, new.message.seq)
        return outcomes
