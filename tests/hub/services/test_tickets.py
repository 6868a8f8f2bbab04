"""Tickets on a real database: one open ticket per asset and fault, the flow, escalation, the register."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from devices.site import SAMPLE_BUILDING, load_building
from hub.errors import Conflict
from hub.runtime import Database
from hub.services import tickets
from hub.services.assets import sync_assets
from hub.services.tickets import Sla, TicketPolicy
from hub.store.audit import entries
from hub.store.outbox import OutboxMessage
from hub.store.ticket_models import EQUIPMENT_KIND, Asset, Ticket, TicketPriority, TicketSource, TicketStatus

NOW = datetime(2026, 10, 19, 9, 0, tzinfo=UTC)
PRINTER = "reception-printer-1"


@pytest.fixture
def db(site_database: Database) -> Database:
    with site_database.sessions.begin() as session:
        sync_assets(session, load_building(SAMPLE_BUILDING))
    return site_database


def test_the_register_holds_devices_and_room_equipment(db: Database) -> None:
    with db.sessions() as session:
        printer = session.get(Asset, PRINTER)
        assert printer is not None and (printer.kind, printer.room_id) == ("badge_printer", "reception")
        kiosk = session.get(Asset, "reception/kiosk")
        assert kiosk is not None and (kiosk.kind, kiosk.name) == (EQUIPMENT_KIND, "kiosk")


def test_a_repeated_fault_adds_occurrences_to_one_ticket(db: Database) -> None:
    with db.sessions.begin() as session:
        first = tickets.raise_fault(
            session, asset_id=PRINTER, fault_type="jam", summary="jam", source=TicketSource.SENSOR, now=NOW
        )
        again = tickets.raise_fault(
            session,
            asset_id=PRINTER,
            fault_type="jam",
            summary="jam",
            source=TicketSource.SENSOR,
            now=NOW + timedelta(minutes=1),
        )
        assert again.id == first.id and again.occurrences == 2
        assert first.room_id == "reception"
        kinds = [event.kind for event in tickets.history(session, first.id)]
        assert kinds == ["opened", "occurrence"]
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 1  # notified on open only
        assert [e.action for e in entries(session, object_type="ticket")] == ["ticket.occurrence", "ticket.opened"]


def test_the_database_refuses_a_second_open_ticket_for_the_same_fault(db: Database) -> None:
    with db.sessions.begin() as session:
        tickets.raise_fault(session, asset_id=PRINTER, fault_type="jam", summary="jam", source="sensor", now=NOW)
    row = {
        "asset_id": PRINTER,
        "fault_type": "jam",
        "title": "a second one",
        "priority": "high",
        "status": "acknowledged",
        "source": "sensor",
        "opened_at": NOW,
        "escalation_level": 0,
        "occurrences": 1,
        "last_occurrence_at": NOW,
    }
    with pytest.raises(IntegrityError), db.sessions.begin() as session:
        session.execute(sa.insert(Ticket).values(**row))
    with db.sessions.begin() as session:  # once resolved, a new one may open
        session.execute(sa.update(Ticket).values(status="resolved"))
        session.execute(sa.insert(Ticket).values(**row))


def test_the_flow_refuses_closed_to_in_progress(db: Database) -> None:
    with db.sessions.begin() as session:
        ticket = tickets.open_ticket(session, title="Projector flickers", source="staff", now=NOW, room_id="atlas")
        for status in ("acknowledged", "in_progress", "on_hold", "in_progress", "resolved", "closed"):
            tickets.transition(session, ticket.id, status, actor="sam", now=NOW)
        with pytest.raises(Conflict, match="from closed to in_progress"):
            tickets.transition(session, ticket.id, TicketStatus.IN_PROGRESS, actor="sam", now=NOW)
        assert ticket.acknowledged_at == NOW and ticket.closed_at == NOW


def test_unacknowledged_tickets_escalate_again_each_sla_period(db: Database) -> None:
    policy = TicketPolicy(slas={TicketPriority.HIGH: Sla(timedelta(minutes=30), timedelta(hours=4))})
    with db.sessions.begin() as session:
        ticket = tickets.raise_fault(
            session,
            asset_id=PRINTER,
            fault_type="jam",
            summary="jam",
            source="sensor",
            now=NOW,
            priority="high",
            policy=policy,
        )
        assert ticket.ack_due_at == NOW + timedelta(minutes=30)
        assert tickets.escalate_overdue(session, NOW + timedelta(minutes=29), policy=policy) == 0
        assert tickets.escalate_overdue(session, NOW + timedelta(minutes=30), policy=policy) == 1
        assert ticket.escalation_level == 1 and ticket.ack_due_at == NOW + timedelta(minutes=60)
        assert tickets.escalate_overdue(session, NOW + timedelta(minutes=45), policy=policy) == 0
        assert tickets.escalate_overdue(session, NOW + timedelta(minutes=61), policy=policy) == 1
        tickets.transition(session, ticket.id, "acknowledged", actor="sam", now=NOW + timedelta(minutes=62))
        assert tickets.escalate_overdue(session, NOW + timedelta(days=1), policy=policy) == 0
        assert ticket.escalation_level == 2


def test_a_cleared_fault_resolves_its_ticket_if_the_rule_says_so(db: Database) -> None:
    with db.sessions.begin() as session:
        ticket = tickets.raise_fault(
            session, asset_id=PRINTER, fault_type="jam", summary="jam", source="sensor", now=NOW
        )
        tickets.clear_fault(session, asset_id=PRINTER, fault_type="jam", now=NOW, resolve=False)
        assert ticket.status == "open"
        tickets.clear_fault(session, asset_id=PRINTER, fault_type="jam", now=NOW, resolve=True)
        assert ticket.status == "resolved"
        assert [e.kind for e in tickets.history(session, ticket.id)] == [
            "opened",
            "recovered",
            "recovered",
            "transition",
        ]
