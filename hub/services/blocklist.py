"""The block list reception keeps: names, emails or companies whose visits wait for reception's approval."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.errors import Invalid, NotFound
from hub.store import audit
from hub.store.visit_models import BlockListEntry


def _name_key(name: str | None) -> str:
    """Names compare case-insensitively, with runs of spaces as one."""
    return " ".join((name or "").split()).casefold()


def add_entry(
    session: Session,
    *,
    name: str | None,
    email: str | None,
    company: str | None,
    reason: str,
    actor: str,
    now: datetime,
) -> BlockListEntry:
    """Add an entry; at least one of name, email and company is needed."""
    name, email, company = (value.strip() if value and value.strip() else None for value in (name, email, company))
    if name is None and email is None and company is None:
        raise Invalid("a block list entry needs a name, an email or a company")
    if not reason.strip():
        raise Invalid("give a reason, so reception knows why the visitor is held")
    entry = BlockListEntry(
        name=name,
        email=email.lower() if email else None,
        company=company,
        reason=reason.strip(),
        created_at=now,
        created_by=actor,
    )
    session.add(entry)
    session.flush()
    audit.record(session, actor=actor, action="blocklist.add", object_type="blocklist", object_id=entry.id, now=now)
    return entry


def list_entries(session: Session) -> Sequence[BlockListEntry]:
    return session.scalars(sa.select(BlockListEntry).order_by(BlockListEntry.id)).all()


def remove_entry(session: Session, *, entry_id: int, actor: str, now: datetime) -> None:
    entry = session.get(BlockListEntry, entry_id)
    if entry is None:
        raise NotFound(f"there is no block list entry {entry_id}")
    session.delete(entry)
    audit.record(session, actor=actor, action="blocklist.remove", object_type="blocklist", object_id=entry_id, now=now)


@dataclass(frozen=True, slots=True)
class BlockMatch:
    """A block list entry and the field of the visitor that matched it."""

    entry: BlockListEntry
    field: str

    @property
    def reason(self) -> str:
        """Why a visit is held, without repeating the visitor's personal data."""
        return f"matches block list entry {self.entry.id} ({self.field}): {self.entry.reason}"[:200]


def find_match(session: Session, *, name: str, email: str | None, company: str | None) -> BlockMatch | None:
    """The first entry matching the visitor: name case-insensitive, email exact (any case), company."""
    wanted_name, wanted_company = _name_key(name), _name_key(company)
    wanted_email = email.strip().lower() if email else None
    for entry in list_entries(session):
        if entry.name and _name_key(entry.name) == wanted_name:
            return BlockMatch(entry, "name")
        if entry.email and wanted_email and entry.email == wanted_email:
            return BlockMatch(entry, "email")
        if entry.company and wanted_company and _name_key(entry.company) == wanted_company:
            return BlockMatch(entry, "company")
    return None
