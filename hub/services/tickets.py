"""Maintenance tickets (work orders): opened by fault rules, panels, QR forms, staff and schedules.

One not-done ticket per (asset, fault type) is a database guarantee (a partial unique index): a fault
raised again while its ticket is open adds an occurrence, even when two hub workers race to open it.
Every change is written to the ticket's history and the audit log in the caller's transaction, and
people are notified (through the outbox) when a ticket opens, escalates or resolves.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.errors import Conflict, Invalid, NotFound
from hub.services.notifications import NotificationKind, notify
from hub.store import audit
from hub.store.models import Room, Site
from hub.store.ticket_models import (
    DONE_STATUSES,
    Asset,
    Ticket,
    TicketEvent,
    TicketPriority,
    TicketSource,
    TicketStatus,
)

HUB_ACTOR = "hub"
DEFAULT_TEAM = "facilities"
REPORTED = "reported"
"""The fault type of a problem a person reported (panel button, QR form, staff)."""

TRANSITIONS: Mapping[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.OPEN: frozenset({TicketStatus.ACKNOWLEDGED, TicketStatus.RESOLVED}),
    TicketStatus.ACKNOWLEDGED: frozenset({TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED}),
    TicketStatus.IN_PROGRESS: frozenset({TicketStatus.ON_HOLD, TicketStatus.RESOLVED}),
    TicketStatus.ON_HOLD: frozenset({TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED}),
    TicketStatus.RESOLVED: frozenset({TicketStatus.CLOSED, TicketStatus.OPEN}),
    TicketStatus.CLOSED: frozenset(),
}
"""Where a person may move a ticket from each status; a fault that clears resolves it from any open status."""


@dataclass(frozen=True)
class Sla:
    """How soon a ticket must be acknowledged and resolved."""

    acknowledge_within: timedelta
    resolve_within: timedelta


DEFAULT_SLAS: Mapping[TicketPriority, Sla] = {
    TicketPriority.CRITICAL: Sla(timedelta(minutes=5), timedelta(hours=4)),
    TicketPriority.HIGH: Sla(timedelta(minutes=30), timedelta(days=1)),
    TicketPriority.MEDIUM: Sla(timedelta(hours=4), timedelta(days=3)),
    TicketPriority.LOW: Sla(timedelta(days=1), timedelta(days=7)),
}


@dataclass(frozen=True)
class FaultTypePolicy:
    """What a fault type's tickets get unless the caller says otherwise."""

    priority: TicketPriority = TicketPriority.MEDIUM
    sla: Sla | None = None
    """Overrides the priority's SLA for this fault type."""


@dataclass(frozen=True)
class TicketPolicy:
    """Priorities and SLAs by fault type, from the rules file (see hub.services.fault_rules)."""

    slas: Mapping[TicketPriority, Sla] = field(default_factory=lambda: dict(DEFAULT_SLAS))
    fault_types: Mapping[str, FaultTypePolicy] = field(default_factory=dict)
    team: str = DEFAULT_TEAM

    def priority_for(self, fault_type: str, given: TicketPriority | str | None = None) -> TicketPriority:
        if given is not None:
            return TicketPriority(given)
        known = self.fault_types.get(fault_type)
        return known.priority if known is not None else TicketPriority.MEDIUM

    def sla_for(self, fault_type: str, priority: TicketPriority) -> Sla:
        known = self.fault_types.get(fault_type)
        if known is not None and known.sla is not None:
            return known.sla
        return self.slas.get(priority, DEFAULT_SLAS[priority])


DEFAULT_POLICY = TicketPolicy()


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} does not exist")
    return ticket


def get_asset(session: Session, asset_id: str) -> Asset:
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise NotFound(f"asset {asset_id!r} does not exist")
    return asset


def open_ticket_for(session: Session, *, asset_id: str, fault_type: str) -> Ticket | None:
    """The ticket still being worked on for this asset and fault, if any."""
    return session.scalars(
        sa.select(Ticket).where(
            Ticket.asset_id == asset_id, Ticket.fault_type == fault_type, Ticket.status.notin_(DONE_STATUSES)
        )
    ).one_or_none()


def history(session: Session, ticket_id: int) -> Sequence[TicketEvent]:
    """A ticket's events, oldest first."""
    return session.scalars(
        sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.at, TicketEvent.id)
    ).all()


def list_tickets(
    session: Session,
    *,
    status: Sequence[str] | None = None,
    priority: str | None = None,
    asset_id: str | None = None,
    room_id: str | None = None,
    open_only: bool = False,
    limit: int = 200,
    offset: int = 0,
) -> Sequence[Ticket]:
    """Tickets, newest first, filtered."""
    query = sa.select(Ticket).order_by(Ticket.opened_at.desc(), Ticket.id.desc()).limit(limit).offset(offset)
    if status:
        query = query.where(Ticket.status.in_(list(status)))
    if open_only:
        query = query.where(Ticket.status.notin_(DONE_STATUSES))
    if priority is not None:
        query = query.where(Ticket.priority == priority)
    if asset_id is not None:
        query = query.where(Ticket.asset_id == asset_id)
    if room_id is not None:
        query = query.where(Ticket.room_id == room_id)
    return session.scalars(query).all()


def add_event(
    session: Session,
    ticket: Ticket,
    *,
    kind: str,
    actor: str,
    now: datetime,
    text: str | None = None,
    detail: dict[str, Any] | None = None,
) -> TicketEvent:
    """One line of history, audited with the same action name."""
    event = TicketEvent(ticket_id=ticket.id, at=now, actor=actor, kind=kind, text=text, detail=detail or {})
    session.add(event)
    audit.record(
        session,
        actor=actor,
        action=f"ticket.{kind}",
        object_type="ticket",
        object_id=ticket.id,
        now=now,
        detail={"status": ticket.status, **(detail or {})},
    )
    return event


def _notify(session: Session, ticket: Ticket, kind: NotificationKind, subject: str, text: str, now: datetime) -> None:
    site = session.scalars(sa.select(Site.id).order_by(Site.id).limit(1)).first()
    if site is None:
        return
    notify(
        session,
        site_id=site,
        kind=kind,
        to=ticket.assignee or ticket.team or DEFAULT_TEAM,
        subject=subject,
        text=text,
        room_id=ticket.room_id,
        now=now,
    )


def _create(
    session: Session,
    *,
    title: str,
    source: TicketSource | str,
    now: datetime,
    asset_id: str | None,
    room_id: str | None,
    fault_type: str,
    priority: TicketPriority | str | None,
    description: str | None,
    actor: str,
    policy: TicketPolicy,
) -> Ticket:
    chosen = policy.priority_for(fault_type, priority)
    sla = policy.sla_for(fault_type, chosen)
    ticket = Ticket(
        asset_id=asset_id,
        room_id=room_id,
        fault_type=fault_type,
        title=title[:200],
        description=description,
        priority=chosen.value,
        status=TicketStatus.OPEN.value,
        source=TicketSource(source).value,
        team=policy.team,
        opened_at=now,
        ack_due_at=now + sla.acknowledge_within,
        resolve_due_at=now + sla.resolve_within,
        escalation_level=0,
        occurrences=1,
        last_occurrence_at=now,
    )
    session.add(ticket)
    session.flush()
    add_event(
        session,
        ticket,
        kind="opened",
        actor=actor,
        now=now,
        text=description or title,
        detail={"source": ticket.source, "priority": ticket.priority, "fault_type": fault_type},
    )
    where = f" ({ticket.room_id})" if ticket.room_id else ""
    _notify(
        session,
        ticket,
        NotificationKind.TICKET_OPENED,
        f"[{ticket.priority}] {ticket.title}{where}",
        description or title,
        now,
    )
    return ticket


def _add_occurrence(session: Session, ticket: Ticket, *, summary: str, actor: str, now: datetime) -> Ticket:
    ticket.occurrences += 1
    ticket.last_occurrence_at = now
    add_event(
        session,
        ticket,
        kind="occurrence",
        actor=actor,
        now=now,
        text=summary,
        detail={"occurrences": ticket.occurrences},
    )
    return ticket


def _asset_room(session: Session, asset_id: str | None, room_id: str | None) -> str | None:
    if asset_id is None:
        return room_id
    asset = get_asset(session, asset_id)
    return room_id or asset.room_id


def _open_once(
    session: Session,
    *,
    asset_id: str,
    fault_type: str,
    summary: str,
    actor: str,
    now: datetime,
    create: dict[str, Any],
) -> Ticket:
    """Add an occurrence to the open ticket, or open one; a racing worker's insert becomes an occurrence."""
    existing = open_ticket_for(session, asset_id=asset_id, fault_type=fault_type)
    if existing is not None:
        return _add_occurrence(session, existing, summary=summary, actor=actor, now=now)
    try:
        with session.begin_nested():
            return _create(session, asset_id=asset_id, fault_type=fault_type, now=now, actor=actor, **create)
    except IntegrityError:
        existing = open_ticket_for(session, asset_id=asset_id, fault_type=fault_type)
        if existing is None:
            raise
        return _add_occurrence(session, existing, summary=summary, actor=actor, now=now)


def raise_fault(
    session: Session,
    *,
    asset_id: str,
    fault_type: str,
    summary: str,
    source: TicketSource | str,
    now: datetime,
    priority: TicketPriority | str | None = None,
    policy: TicketPolicy = DEFAULT_POLICY,
) -> Ticket:
    """A fault fired on an asset: open its ticket, or add an occurrence to the one still open."""
    room_id = _asset_room(session, asset_id, None)
    return _open_once(
        session,
        asset_id=asset_id,
        fault_type=fault_type,
        summary=summary,
        actor=HUB_ACTOR,
        now=now,
        create={
            "title": summary,
            "source": source,
            "room_id": room_id,
            "priority": priority,
            "description": None,
            "policy": policy,
        },
    )


def clear_fault(session: Session, *, asset_id: str, fault_type: str, now: datetime, resolve: bool) -> Ticket | None:
    """The asset recovered from the fault: note it on the open ticket and, if ``resolve``, resolve it."""
    ticket = open_ticket_for(session, asset_id=asset_id, fault_type=fault_type)
    if ticket is None:
        return None
    add_event(session, ticket, kind="recovered", actor=HUB_ACTOR, now=now, text=f"{fault_type} cleared")
    if resolve:
        _set_status(session, ticket, TicketStatus.RESOLVED, actor=HUB_ACTOR, now=now, note="resolved automatically")
    return ticket


def open_ticket(
    session: Session,
    *,
    title: str,
    source: TicketSource | str,
    now: datetime,
    asset_id: str | None = None,
    room_id: str | None = None,
    fault_type: str = REPORTED,
    priority: TicketPriority | str | None = None,
    reporter: str | None = None,
    description: str | None = None,
    policy: TicketPolicy = DEFAULT_POLICY,
) -> Ticket:
    """A ticket a person (or a schedule) opens; a repeat report on an asset adds to its open ticket."""
    if not title.strip():
        raise Invalid("a ticket needs a title")
    if room_id is not None and session.get(Room, room_id) is None:
        raise NotFound(f"room {room_id!r} does not exist")
    room_id = _asset_room(session, asset_id, room_id)
    actor = reporter or str(TicketSource(source).value)
    create: dict[str, Any] = {
        "title": title.strip(),
        "source": source,
        "room_id": room_id,
        "priority": priority,
        "description": description,
        "policy": policy,
    }
    if asset_id is None:
        return _create(session, asset_id=None, fault_type=fault_type, now=now, actor=actor, **create)
    return _open_once(
        session,
        asset_id=asset_id,
        fault_type=fault_type,
        summary=description or title,
        actor=actor,
        now=now,
        create=create,
    )


def _set_status(
    session: Session,
    ticket: Ticket,
    to: TicketStatus,
    *,
    actor: str,
    now: datetime,
    note: str | None,
    policy: TicketPolicy = DEFAULT_POLICY,
) -> None:
    before = ticket.status
    ticket.status = to.value
    if to is TicketStatus.ACKNOWLEDGED or (to is TicketStatus.IN_PROGRESS and ticket.acknowledged_at is None):
        ticket.acknowledged_at = ticket.acknowledged_at or now
        ticket.ack_due_at = None
    elif to is TicketStatus.RESOLVED:
        ticket.resolved_at = now
        ticket.ack_due_at = None
    elif to is TicketStatus.CLOSED:
        ticket.closed_at = now
    elif to is TicketStatus.OPEN:
        ticket.resolved_at = None
        ticket.acknowledged_at = None
        chosen = TicketPriority(ticket.priority)
        sla = policy.sla_for(ticket.fault_type, chosen)
        ticket.ack_due_at = now + sla.acknowledge_within
    add_event(
        session, ticket, kind="transition", actor=actor, now=now, text=note, detail={"from": before, "to": to.value}
    )
    if to is TicketStatus.RESOLVED:
        _notify(
            session,
            ticket,
            NotificationKind.TICKET_RESOLVED,
            f"Resolved: {ticket.title}",
            note or f"ticket {ticket.id} resolved by {actor}",
            now,
        )


def transition(
    session: Session,
    ticket_id: int,
    to: TicketStatus | str,
    *,
    actor: str,
    now: datetime,
    note: str | None = None,
    policy: TicketPolicy = DEFAULT_POLICY,
) -> Ticket:
    """Move a ticket along its flow; a move the flow does not allow is a Conflict naming both statuses."""
    ticket = get_ticket(session, ticket_id)
    try:
        target = TicketStatus(to)
    except ValueError:
        known = ", ".join(s.value for s in TicketStatus)
        raise Invalid(f"unknown ticket status {to!r} (known: {known})") from None
    current = TicketStatus(ticket.status)
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "nothing: it is final"
        raise Conflict(f"ticket {ticket.id} cannot go from {current.value} to {target.value} (allowed: {allowed})")
    if target is TicketStatus.OPEN and ticket.asset_id is not None:
        other = open_ticket_for(session, asset_id=ticket.asset_id, fault_type=ticket.fault_type)
        if other is not None:
            raise Conflict(f"ticket {other.id} is already open for {ticket.asset_id} {ticket.fault_type}")
    _set_status(session, ticket, target, actor=actor, now=now, note=note, policy=policy)
    return ticket


def comment(session: Session, ticket_id: int, text: str, *, actor: str, now: datetime) -> TicketEvent:
    """Add a comment to a ticket's history."""
    if not text.strip():
        raise Invalid("a comment needs some text")
    ticket = get_ticket(session, ticket_id)
    return add_event(session, ticket, kind="comment", actor=actor, now=now, text=text.strip())


def assign(
    session: Session,
    ticket_id: int,
    *,
    actor: str,
    now: datetime,
    assignee: str | None = None,
    team: str | None = None,
) -> Ticket:
    """Give a ticket to a person and/or a team."""
    ticket = get_ticket(session, ticket_id)
    if ticket.status == TicketStatus.CLOSED.value:
        raise Conflict(f"ticket {ticket.id} is closed")
    if assignee is None and team is None:
        raise Invalid("give an assignee, a team or both")
    if assignee is not None:
        ticket.assignee = assignee.strip() or None
    if team is not None:
        ticket.team = team.strip() or None
    add_event(
        session,
        ticket,
        kind="assigned",
        actor=actor,
        now=now,
        detail={"assignee": ticket.assignee, "team": ticket.team},
    )
    return ticket


def escalate_overdue(session: Session, now: datetime, *, policy: TicketPolicy = DEFAULT_POLICY) -> int:
    """The timed job: escalate each open ticket nobody acknowledged in time; returns how many escalated."""
    overdue = session.scalars(
        sa.select(Ticket)
        .where(Ticket.status == TicketStatus.OPEN.value, Ticket.ack_due_at.is_not(None), Ticket.ack_due_at <= now)
        .with_for_update(skip_locked=True)
    ).all()
    for ticket in overdue:
        ticket.escalation_level += 1
        sla = policy.sla_for(ticket.fault_type, TicketPriority(ticket.priority))
        ticket.ack_due_at = now + sla.acknowledge_within
        add_event(
            session,
            ticket,
            kind="escalated",
            actor=HUB_ACTOR,
            now=now,
            text=f"not acknowledged in time (level {ticket.escalation_level})",
            detail={"level": ticket.escalation_level},
        )
        _notify(
            session,
            ticket,
            NotificationKind.TICKET_ESCALATED,
            f"Escalated (level {ticket.escalation_level}): [{ticket.priority}] {ticket.title}",
            f"ticket {ticket.id} has not been acknowledged since {ticket.opened_at:%Y-%m-%d %H:%M} UTC",
            now,
        )
    return len(overdue)
