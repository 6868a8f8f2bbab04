"""Applies the fault rules to what devices say and to the passing of time, turning faults into tickets.

The decisions are hub.services.fault_rules' (pure); this module keeps each rule's memory per asset in
``fault_states`` (written only when it changes) and opens, annotates or resolves tickets through
hub.services.tickets. A reading replayed from a device's buffer, older than what the rule last saw, is
not judged again.
"""

import logging
from collections.abc import Callable, Collection, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from devices.kinds import DeviceKind
from devices.payloads import TELEMETRY_MODELS
from hub.scheduler import JobFunction
from hub.services import tickets
from hub.services.fault_rules import (
    Change,
    FaultRules,
    OfflineRule,
    Rule,
    RuleState,
    default_title,
    load_rules,
    on_availability,
    on_reading,
    on_tick,
)
from hub.services.reactions import BatchReaction, NewMessage, Reactions
from hub.settings import Settings
from hub.store.models import Device
from hub.store.ticket_models import Asset, FaultState, TicketSource

log = logging.getLogger(__name__)


def _state(row: FaultState | None) -> RuleState:
    if row is None:
        return RuleState()
    return RuleState(
        active=row.active,
        since=row.since,
        pending_since=row.pending_since,
        cleared_since=row.cleared_since,
        data=dict(row.state),
    )


def _save(
    session: Session, row: FaultState | None, asset_id: str, fault_type: str, state: RuleState, at: datetime
) -> FaultState:
    if row is None:
        row = FaultState(asset_id=asset_id, fault_type=fault_type)
        session.add(row)
    row.active = state.active
    row.since = state.since
    row.pending_since = state.pending_since
    row.cleared_since = state.cleared_since
    row.state = dict(state.data)
    row.updated_at = at
    return row


def _act(
    session: Session,
    rules: FaultRules,
    *,
    kind: str,
    asset_id: str,
    fault_type: str,
    rule: Rule,
    change: Change,
    now: datetime,
    detail: str = "",
) -> None:
    if change is Change.FIRED:
        summary = default_title(kind, fault_type, rule, asset_id)
        ticket = tickets.raise_fault(
            session,
            asset_id=asset_id,
            fault_type=fault_type,
            summary=summary + (f": {detail}" if detail else ""),
            source=TicketSource.SENSOR,
            now=now,
            priority=rule.priority,
            policy=rules.policy,
        )
        log.info("fault %s on %s: ticket %d (%d occurrences)", fault_type, asset_id, ticket.id, ticket.occurrences)
    elif change is Change.CLEARED:
        tickets.clear_fault(session, asset_id=asset_id, fault_type=fault_type, now=now, resolve=rule.auto_resolve)
        log.info("fault %s on %s cleared", fault_type, asset_id)


def _states(session: Session, asset_id: str) -> dict[str, FaultState]:
    return {
        row.fault_type: row for row in session.scalars(sa.select(FaultState).where(FaultState.asset_id == asset_id))
    }


def _states_of(session: Session, asset_ids: Collection[str]) -> dict[tuple[str, str], FaultState]:
    """Every rule's memory for these assets, by (asset, fault type): one query for a batch."""
    if not asset_ids:
        return {}
    rows = session.scalars(sa.select(FaultState).where(FaultState.asset_id.in_(sorted(asset_ids))))
    return {(row.asset_id, row.fault_type): row for row in rows}


def on_telemetry(rules: FaultRules) -> BatchReaction:
    """The reaction to a batch of devices' telemetry: judge each reading by its kind's rules, in order."""

    def react(session: Session, news: Sequence[NewMessage], now: datetime) -> None:
        by_kind = {kind: list(rules.reading_rules(kind)) for kind in {new.message.kind for new in news}}
        judged = [(new, by_kind[new.message.kind]) for new in news if by_kind[new.message.kind]]
        states = _states_of(session, {new.device_id for new, _ in judged})
        for new, kind_rules in judged:
            reading = new.message.model_dump(mode="json")
            at = min(new.message.ts, now)
            for fault_type, rule in kind_rules:
                row = states.get((new.device_id, fault_type))
                if row is not None and at < row.updated_at:
                    continue  # replayed from the device's buffer: older than what this rule has seen
                before = _state(row)
                after, change = on_reading(rule, before, reading, at)
                if after != before:
                    states[new.device_id, fault_type] = _save(session, row, new.device_id, fault_type, after, at)
                _act(
                    session,
                    rules,
                    kind=new.message.kind.value,
                    asset_id=new.device_id,
                    fault_type=fault_type,
                    rule=rule,
                    change=change,
                    now=now,
                )

    return react


def check_offline(session: Session, rules: FaultRules, now: datetime) -> None:
    """Devices offline longer than their kind's rule allows open a ticket; those back clear it."""
    by_kind = rules.offline_rules()
    if not by_kind:
        return
    fault_types = {fault_type for fault_type, _ in by_kind.values()}
    active = sa.select(FaultState.asset_id).where(FaultState.fault_type.in_(fault_types), FaultState.active)
    devices = session.scalars(
        sa.select(Device).where(
            Device.kind.in_(list(by_kind)),
            sa.or_(sa.and_(Device.online.is_(False), Device.in_building), Device.id.in_(active)),
        )
    ).unique()
    for device in devices:
        fault_type, rule = by_kind[device.kind]
        rows = _states(session, device.id)
        row = rows.get(fault_type)
        before = _state(row)
        after, change = on_availability(
            rule, before, online=device.online, offline_since=device.availability_changed_at, now=now
        )
        if after != before:
            _save(session, row, device.id, fault_type, after, now)
        _act(
            session,
            rules,
            kind=device.kind,
            asset_id=device.id,
            fault_type=fault_type,
            rule=rule,
            change=change,
            now=now,
        )


def check_pending(session: Session, rules: FaultRules, now: datetime) -> None:
    """Duration rules whose time has come without a new reading fire (or clear) now."""
    rows = session.execute(
        sa.select(FaultState, Asset.kind)
        .join(Asset, Asset.id == FaultState.asset_id)
        .where(
            sa.or_(
                sa.and_(FaultState.active.is_(False), FaultState.pending_since.is_not(None)),
                sa.and_(FaultState.active, FaultState.cleared_since.is_not(None)),
            )
        )
    ).all()
    for row, kind in rows:
        if kind not in DeviceKind.__members__.values():
            continue
        rule = rules.find(kind, row.fault_type)
        if rule is None or isinstance(rule, OfflineRule):
            continue
        before = _state(row)
        after, change = on_tick(rule, before, now)
        if after != before:
            _save(session, row, row.asset_id, row.fault_type, after, row.updated_at)
        _act(
            session,
            rules,
            kind=kind,
            asset_id=row.asset_id,
            fault_type=row.fault_type,
            rule=rule,
            change=change,
            now=now,
        )


def check_faults(rules: FaultRules) -> Callable[[Session, datetime], int]:
    """The timed job: offline and duration rules, then escalation of tickets nobody acknowledged."""

    def run(session: Session, now: datetime) -> int:
        check_offline(session, rules, now)
        check_pending(session, rules, now)
        return tickets.escalate_overdue(session, now, policy=rules.policy)

    return run


def install(reactions: Reactions, jobs: list[tuple[str, float, JobFunction]], settings: Settings) -> FaultRules:
    """Load the rules (a bad file stops the hub with its line and reason) and register the reaction and job."""
    rules = load_rules(settings.fault_rules_file)
    reactions.on_batch(TELEMETRY_MODELS.values(), "fault rules", on_telemetry(rules))
    jobs.append(("fault rules and ticket escalation", settings.fault_check_every_s, check_faults(rules)))
    return rules


FLOODING = "flooding"
"""Fault type of a device that sends more than its rate limit (see hub.services.rate_limit)."""


def report_flooding(rules: FaultRules) -> Callable[[Session, set[str], datetime], None]:
    """What the ingest calls, in its batch's transaction, for devices that went over their rate in it.

    One ticket per flooding device: each further batch adds an occurrence, never a ticket. A failure here
    is logged and must not cost the batch its messages, so it runs in a savepoint.
    """

    def report(session: Session, device_ids: set[str], now: datetime) -> None:
        for device_id in sorted(device_ids):
            try:
                with session.begin_nested():
                    tickets.raise_fault(
                        session,
                        asset_id=device_id,
                        fault_type=FLOODING,
                        summary=f"{device_id} sends more messages than its rate limit allows",
                        source=TicketSource.SENSOR,
                        now=now,
                        policy=rules.policy,
                    )
            except Exception:
                log.exception("could not open the flooding ticket for %s", device_id)

    return report
