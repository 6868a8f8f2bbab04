"""Badge print jobs in a real database with the clock passed in: printer choice, results, failover, retention."""

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from devices.codec import decode_command
from devices.kinds import DeviceKind
from devices.payloads import PrintBadge, PrintJobFinished, PrintJobStatus
from devices.topics import Channel, device_topic, hub_notifications_topic
from hub.errors import Invalid, NotFound
from hub.runtime import Database
from hub.services.badges import (
    SEE_RECEPTION,
    BadgeFacts,
    BadgeStatus,
    badge_png,
    badge_status,
    badge_zpl,
    fail_over_stalled_jobs,
    on_print_job_finished,
    purge_badge_personal_data,
    request_badge,
)
from hub.services.reactions import NewMessage
from hub.store.models import Device, DeviceMessage
from hub.store.outbox import OutboxMessage

NOW = datetime(2030, 1, 7, 9, tzinfo=UTC)
P1, P2 = "reception-printer-1", "reception-printer-2"
FACTS = BadgeFacts(
    visit_id=7,
    visitor_name="Ada Lovelace",
    company="Analytical Engines",
    host_name="Charles Babbage",
    visitor_type="contractor",
    day=date(2030, 1, 7),
    checkout_token="ATR1.test-token",
)
_seq = iter(range(1, 10_000))


def set_online(db: Database, **online: bool) -> None:
    with db.sessions.begin() as session:
        for device_id, is_online in online.items():
            session.get_one(Device, device_id.replace("_", "-")).online = is_online


def report(db: Database, printer: str, *, jammed: bool = False, paper: str = "ok") -> None:
    """A status report from a printer, as the ingest stores it."""
    with db.sessions.begin() as session:
        session.add(
            DeviceMessage(
                device_id=printer,
                seq=next(_seq),
                channel=Channel.TELEMETRY.value,
                device_ts=NOW,
                received_at=NOW,
                data={"kind": "badge_printer", "paper": paper, "ribbon": "ok", "jammed": jammed, "prints_total": 1},
            )
        )


def request(db: Database, *, facts: BadgeFacts = FACTS, kiosk_id: str | None = "reception") -> BadgeStatus:
    with db.sessions.begin() as session:
        return request_badge(session, site_id="hq", facts=facts, kiosk_id=kiosk_id, now=NOW)


def status(db: Database, visit_id: int = FACTS.visit_id) -> BadgeStatus | None:
    with db.sessions() as session:
        return badge_status(session, visit_id)


def sent_to(db: Database, printer: str) -> list[PrintBadge]:
    with db.sessions() as session:
        topic = device_topic("hq", printer, Channel.COMMAND)
        payloads = session.scalars(sa.select(OutboxMessage.payload).where(OutboxMessage.topic == topic)).all()
    commands = [decode_command(p) for p in payloads]
    assert all(isinstance(c, PrintBadge) for c in commands)
    return commands  # type: ignore[return-value]


def notifications(db: Database) -> list[dict[str, Any]]:
    with db.sessions() as session:
        topic = hub_notifications_topic("hq")
        payloads = session.scalars(
            sa.select(OutboxMessage.payload).where(OutboxMessage.topic == topic).order_by(OutboxMessage.id)
        ).all()
    return [json.loads(p) for p in payloads]


def finish(
    db: Database, printer: str, command_id: str, printed: bool, error: str | None = None, at: datetime = NOW
) -> None:
    result = PrintJobFinished(
        v=1,
        device_id=printer,
        seq=next(_seq),
        ts=at,
        kind=DeviceKind.BADGE_PRINTER,
        event="print_job_finished",
        job_id=command_id,
        status=PrintJobStatus.PRINTED if printed else PrintJobStatus.FAILED,
        error=error,
    )
    with db.sessions.begin() as session:
        on_print_job_finished(session, NewMessage(printer, result, at), at)


def sweep(db: Database, at: datetime, timeout_s: float = 20) -> int:
    with db.sessions.begin() as session:
        return fail_over_stalled_jobs(session, at, timeout_s=timeout_s)


@pytest.fixture
def db(site_database: Database) -> Database:
    set_online(site_database, reception_printer_1=True, reception_printer_2=True)
    return site_database


def test_a_badge_goes_to_the_first_reception_printer_and_the_visitor_is_told_where(db: Database) -> None:
    started = request(db)
    assert started.status == "sent"
    assert (started.printer_id, started.printer_name, started.location) == (P1, "Reception printer 1", "Reception")
    assert started.message == "Your badge is printing at Reception printer 1, Reception."
    [command] = sent_to(db, P1)
    assert command.job_id == f"{started.job_id}.1"
    assert "^FDAda Lovelace^FS" in command.zpl
    finish(db, P1, command.job_id, printed=True)
    done = status(db)
    assert done is not None and done.status == "printed" and done.failovers == 0
    assert done.message == "Your badge is ready at Reception printer 1, Reception."


def test_a_visit_without_a_badge_has_no_status(db: Database) -> None:
    assert status(db, 12345) is None


def test_printers_offline_or_reporting_a_fault_are_passed_over(db: Database) -> None:
    set_online(db, reception_printer_1=False)
    assert request(db).printer_id == P2
    set_online(db, reception_printer_1=True)
    report(db, P1, jammed=True)
    assert request(db).printer_id == P2
    report(db, P1)  # cleared: a report saying all is well
    report(db, P2, paper="out")
    assert request(db).printer_id == P1


def test_a_failed_print_moves_to_the_other_printer_and_reception_is_told(db: Database) -> None:
    started = request(db)
    finish(db, P1, f"{started.job_id}.1", printed=False, error="paper jam")
    moved = status(db)
    assert moved is not None
    assert (moved.status, moved.printer_id, moved.failovers) == ("sent", P2, 1)
    assert moved.message == "Your badge is printing at Reception printer 2, Reception."
    assert [c.job_id for c in sent_to(db, P2)] == [f"{started.job_id}.2"]
    [note] = notifications(db)
    assert (note["kind"], note["to"], note["room_id"]) == ("badge_printer_failed", "reception", "reception")
    assert "paper jam" in note["subject"] and "Reception printer 2" in note["text"]
    finish(db, P2, f"{started.job_id}.2", printed=True)
    done = status(db)
    assert done is not None and (done.status, done.printer_id, done.failovers) == ("printed", P2, 1)


def test_with_no_printer_left_the_visitor_is_sent_to_reception(db: Database) -> None:
    started = request(db)
    finish(db, P1, f"{started.job_id}.1", printed=False, error="paper jam")
    finish(db, P2, f"{started.job_id}.2", printed=False, error="out of paper")
    failed = status(db)
    assert failed is not None
    assert (failed.status, failed.printer_id, failed.message) == ("failed", None, SEE_RECEPTION)
    assert [n["kind"] for n in notifications(db)] == ["badge_printer_failed", "badge_not_printed"]
    assert "Ada Lovelace" in notifications(db)[-1]["subject"]


def test_with_no_working_printer_at_all_the_badge_fails_at_once(db: Database) -> None:
    set_online(db, reception_printer_1=False, reception_printer_2=False)
    failed = request(db)
    assert (failed.status, failed.message) == ("failed", SEE_RECEPTION)
    assert [n["kind"] for n in notifications(db)] == ["badge_not_printed"]


def test_a_result_acts_once_and_stale_or_foreign_results_change_nothing(db: Database) -> None:
    started = request(db)
    first = f"{started.job_id}.1"
    finish(db, P1, first, printed=False, error="paper jam")
    finish(db, P1, first, printed=False, error="paper jam")  # replayed with a new sequence number
    after = status(db)
    assert after is not None and (after.printer_id, after.failovers) == (P2, 1)
    assert len(sent_to(db, P2)) == 1 and len(notifications(db)) == 1
    with pytest.raises(Invalid):
        finish(db, P1, f"{started.job_id}.2", printed=True)  # attempt 2 went to the other printer
    with pytest.raises(NotFound):
        finish(db, P1, "0123456789abcdef0123456789abcdef.1", printed=True)
    with pytest.raises(NotFound):
        finish(db, P1, "not-a-job", printed=True)
    finish(db, P2, f"{started.job_id}.2", printed=True)
    finish(db, P2, f"{started.job_id}.2", printed=False, error="paper jam")  # too late to matter
    done = status(db)
    assert done is not None and done.status == "printed"


def test_a_silent_printer_is_failed_over_after_the_timeout(db: Database) -> None:
    request(db)
    assert sweep(db, NOW + timedelta(seconds=19)) == 0
    assert sweep(db, NOW + timedelta(seconds=21)) == 1
    moved = status(db)
    assert moved is not None and (moved.printer_id, moved.failovers) == (P2, 1)
    assert "did not answer within 20 s" in notifications(db)[0]["subject"]
    assert sweep(db, NOW + timedelta(seconds=40)) == 0  # the second attempt has its own 20 s
    assert sweep(db, NOW + timedelta(seconds=60)) == 1
    failed = status(db)
    assert failed is not None and failed.status == "failed"


def test_a_printer_that_goes_offline_is_failed_over_without_waiting(db: Database) -> None:
    request(db)
    set_online(db, reception_printer_1=False)
    assert sweep(db, NOW + timedelta(seconds=1)) == 1
    moved = status(db)
    assert moved is not None and moved.printer_id == P2
    assert "went offline" in notifications(db)[0]["subject"]


def test_the_badge_can_be_read_back_until_retention_blanks_it(db: Database) -> None:
    request(db)
    with db.sessions.begin() as session:
        assert badge_zpl(session, FACTS.visit_id, actor="reception", now=NOW).startswith("^XA")
        assert badge_png(session, FACTS.visit_id, actor="reception", now=NOW).startswith(b"\x89PNG")
        assert purge_badge_personal_data(session, [FACTS.visit_id, 999]) == 1
        assert purge_badge_personal_data(session, [FACTS.visit_id]) == 0
    with db.sessions() as session, pytest.raises(NotFound, match="retention"):
        badge_png(session, FACTS.visit_id, actor="reception", now=NOW)
    kept = status(db)
    assert kept is not None and kept.status == "sent"
