"""Visitor badges: print jobs sent to the site's badge printers, followed to a result, failed over when needed.

A job goes to the best working printer (online, not reporting a jam or an empty roll or ribbon; in the
kiosk's room, else at reception). Each attempt carries its own command id (``<job>.<attempt>``), so a
late or replayed result of an earlier attempt cannot move the job again. A printer that reports a
failure, goes offline or does not answer in time hands the job to the next printer, and reception is
told; with no printer left the job fails and the visitor is sent to reception.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from devices.base import AtriumModel
from devices.codec import encode
from devices.kinds import DeviceKind
from devices.payloads import Level, PrintBadge, PrintJobFinished, PrintJobStatus
from devices.topics import Channel, device_topic
from hub.errors import Invalid, NotFound
from hub.services.badge_render import BadgeFacts, render_png, render_zpl
from hub.services.notifications import NotificationKind, notify
from hub.services.reactions import NewMessage
from hub.store import audit
from hub.store.badge_models import PrintJob
from hub.store.models import Device, Room
from hub.store.outbox import enqueue
from hub.store.registry import latest_message

__all__ = [
    "BadgeFacts",
    "BadgeStatus",
    "badge_png",
    "badge_status",
    "badge_zpl",
    "fail_over_stalled_jobs",
    "on_print_job_finished",
    "purge_badge_personal_data",
    "request_badge",
]

log = logging.getLogger(__name__)

BadgeJobStatus = Literal["queued", "sent", "printed", "failed"]
QUEUED: BadgeJobStatus = "queued"
SENT: BadgeJobStatus = "sent"
PRINTED: BadgeJobStatus = "printed"
FAILED: BadgeJobStatus = "failed"
ACTIVE = (QUEUED, SENT)

RECEPTION = "reception"
"""Who badge problems are told to (the notification's ``to``)."""
SEE_RECEPTION = "We could not print your badge. Please see reception."
NO_PRINTER = "no badge printer is working"


class BadgeStatus(AtriumModel):
    """Where a visit's badge is: what the kiosk polls and shows the visitor."""

    job_id: str
    status: BadgeJobStatus
    printer_id: str | None
    printer_name: str | None
    location: str | None
    message: str
    failovers: int


@dataclass(frozen=True, slots=True)
class Printer:
    """A badge printer as a visitor is told about it."""

    id: str
    name: str
    room_id: str | None
    location: str | None
    """The room's name."""


def printer_name(device_id: str) -> str:
    """A readable name from a device id: ``reception-printer-2`` is "Reception printer 2"."""
    return device_id.replace("-", " ").capitalize()


def _printer(device: Device) -> Printer:
    room = device.room
    return Printer(device.id, printer_name(device.id), device.room_id, room.name if room is not None else None)


# Asking for a badge


def request_badge(
    session: Session, *, site_id: str, facts: BadgeFacts, kiosk_id: str | None, now: datetime
) -> BadgeStatus:
    """Render the badge and send it to the best badge printer of the site, inside the caller's transaction."""
    job = PrintJob(
        id=uuid.uuid4().hex,
        visit_id=facts.visit_id,
        site_id=site_id,
        kiosk_id=kiosk_id,
        status=QUEUED,
        tried=[],
        attempts=0,
        failovers=0,
        zpl=render_zpl(facts),
        facts=facts.to_json(),
        created_at=now,
    )
    session.add(job)
    printer = choose_printer(session, kiosk_id=kiosk_id)
    if printer is None:
        _give_up(session, job, reason=NO_PRINTER, now=now)
    else:
        _send(session, job, printer, now)
    audit.record(
        session,
        actor=kiosk_id or "hub",
        action="badge.print",
        object_type="visit",
        object_id=facts.visit_id,
        now=now,
        detail={"job_id": job.id, "printer_id": job.printer_id, "status": job.status},
    )
    session.flush()
    return _status(session, job)


def choose_printer(session: Session, *, kiosk_id: str | None, exclude: Iterable[str] = ()) -> Printer | None:
    """The best working badge printer: in the kiosk's room first, then at reception, then any; by id within each."""
    query = (
        sa.select(Device)
        .where(Device.kind == DeviceKind.BADGE_PRINTER.value, Device.in_building, Device.online.is_(True))
        .order_by(Device.id)
    )
    excluded = list(exclude)
    if excluded:
        query = query.where(Device.id.not_in(excluded))
    candidates = [device for device in session.scalars(query).unique() if not known_faulted(session, device.id)]
    if not candidates:
        return None
    kiosk_room = _kiosk_room(session, kiosk_id)

    def rank(device: Device) -> tuple[bool, bool]:
        return (kiosk_room is None or device.room_id != kiosk_room, not _at_reception(device))

    return _printer(min(candidates, key=rank))


def known_faulted(session: Session, printer_id: str) -> bool:
    """Whether the printer's latest status report says it cannot print (jammed, out of labels or ribbon)."""
    report = latest_message(session, printer_id, Channel.TELEMETRY.value)
    if report is None:
        return False
    data = report.data
    return data.get("jammed") is True or Level.OUT.value in (data.get("paper"), data.get("ribbon"))


def _kiosk_room(session: Session, kiosk_id: str | None) -> str | None:
    """The room a kiosk stands in: a registered device's room, or the kiosk id naming a room."""
    if kiosk_id is None:
        return None
    device = session.get(Device, kiosk_id)
    if device is not None:
        return device.room_id
    return kiosk_id if session.get(Room, kiosk_id) is not None else None


def _at_reception(device: Device) -> bool:
    room = device.room
    return room is not None and (RECEPTION in room.id.lower() or RECEPTION in room.name.lower())


def _send(session: Session, job: PrintJob, printer: Printer, now: datetime) -> None:
    """Send the job's next attempt to ``printer`` through the outbox."""
    assert job.zpl is not None
    job.attempts += 1
    job.tried = [*job.tried, printer.id]
    job.printer_id = printer.id
    job.status = SENT
    job.sent_at = now
    command_id = f"{job.id}.{job.attempts}"
    command = PrintBadge(id=command_id, ts=now, job_id=command_id, zpl=job.zpl)
    enqueue(session, topic=device_topic(job.site_id, printer.id, Channel.COMMAND), payload=encode(command), now=now)
    log.info("badge job %s attempt %d sent to %s", job.id, job.attempts, printer.id)


# Following the result


def on_print_job_finished(session: Session, new: NewMessage, now: datetime) -> None:
    """Reaction to a printer's result: printed ends the job, failed hands it to the next printer."""
    result = new.message
    assert isinstance(result, PrintJobFinished)
    job_id, _, attempt_text = result.job_id.partition(".")
    job = session.get(PrintJob, job_id, with_for_update=True) if attempt_text.isdigit() else None
    if job is None:
        raise NotFound(f"{new.device_id} finished print job {result.job_id!r}, which the hub never sent")
    attempt = int(attempt_text)
    if not 1 <= attempt <= len(job.tried) or job.tried[attempt - 1] != new.device_id:
        raise Invalid(f"{new.device_id} reported print job {result.job_id!r}, which was not sent to it")
    if job.status not in ACTIVE:
        log.info("badge job %s is %s already; result of attempt %d ignored", job.id, job.status, attempt)
        return
    if result.status is PrintJobStatus.PRINTED:
        # A late success of an earlier attempt still means a badge lies on that printer.
        job.status = PRINTED
        job.printer_id = new.device_id
        job.finished_at = now
        log.info("badge job %s printed on %s", job.id, new.device_id)
        return
    if attempt != job.attempts:
        log.info("badge job %s: failure of superseded attempt %d ignored", job.id, attempt)
        return
    _fail_over(session, job, reason=result.error or "print failed", now=now)


def fail_over_stalled_jobs(session: Session, now: datetime, *, timeout_s: float) -> int:
    """Move jobs whose printer went offline, or did not answer within ``timeout_s``; returns how many moved."""
    gone = sa.select(Device.id).where(sa.or_(Device.online.is_(False), sa.not_(Device.in_building)))
    stalled = (
        sa.select(PrintJob)
        .where(
            PrintJob.status == SENT,
            sa.or_(PrintJob.sent_at < now - timedelta(seconds=timeout_s), PrintJob.printer_id.in_(gone)),
        )
        .order_by(PrintJob.created_at)
        .with_for_update(skip_locked=True)
    )
    jobs = session.scalars(stalled).all()
    for job in jobs:
        device = session.get(Device, job.printer_id) if job.printer_id else None
        if device is not None and (device.online is False or not device.in_building):
            reason = "went offline"
        else:
            reason = f"did not answer within {timeout_s:g} s"
        _fail_over(session, job, reason=reason, now=now)
    return len(jobs)


def _fail_over(session: Session, job: PrintJob, *, reason: str, now: datetime) -> None:
    """Hand the job to the next working printer not tried yet, telling reception; or give up."""
    failed = job.printer_id or "?"
    job.error = f"{failed}: {reason}"[:500]
    following = choose_printer(session, kiosk_id=job.kiosk_id, exclude=job.tried) if job.zpl else None
    if following is None:
        _give_up(session, job, reason=f"{printer_name(failed)} {reason}", now=now)
        return
    job.failovers += 1
    _send(session, job, following, now)
    failed_device = session.get(Device, failed)
    notify(
        session,
        site_id=job.site_id,
        kind=NotificationKind.BADGE_PRINTER_FAILED,
        to=RECEPTION,
        subject=f"{printer_name(failed)}: {reason}",
        text=(
            f"{printer_name(failed)} could not print the badge of {_visitor(job)}: {reason}. It is printing at "
            f"{_where(following)} instead. Please see to {printer_name(failed)}."
        ),
        room_id=failed_device.room_id if failed_device is not None else None,
        now=now,
    )
    log.warning("badge job %s failed over from %s (%s) to %s", job.id, failed, reason, following.id)


def _give_up(session: Session, job: PrintJob, *, reason: str, now: datetime) -> None:
    job.status = FAILED
    job.finished_at = now
    job.error = reason[:500]
    notify(
        session,
        site_id=job.site_id,
        kind=NotificationKind.BADGE_NOT_PRINTED,
        to=RECEPTION,
        subject=f"Badge not printed for {_visitor(job)}",
        text=f"No badge printer could print the badge of {_visitor(job)} ({reason}). Please give the visitor a badge.",
        now=now,
    )
    log.warning("badge job %s for visit %d failed: %s", job.id, job.visit_id, reason)


def _visitor(job: PrintJob) -> str:
    name = job.facts.get("visitor_name") if job.facts else None
    return f"{name} (visit {job.visit_id})" if name else f"visit {job.visit_id}"


def _where(printer: Printer) -> str:
    return f"{printer.name}, {printer.location}" if printer.location else printer.name


# Reading


def badge_status(session: Session, visit_id: int) -> BadgeStatus | None:
    """The latest badge job of a visit, or None when it has none."""
    job = _latest_job(session, visit_id)
    return _status(session, job) if job is not None else None


def _latest_job(session: Session, visit_id: int) -> PrintJob | None:
    query = sa.select(PrintJob).where(PrintJob.visit_id == visit_id).order_by(PrintJob.created_at.desc()).limit(1)
    return session.scalars(query).first()


def _status(session: Session, job: PrintJob) -> BadgeStatus:
    device = session.get(Device, job.printer_id) if job.printer_id and job.status != FAILED else None
    printer = _printer(device) if device is not None else None
    if job.status == FAILED or printer is None:
        message = SEE_RECEPTION if job.status == FAILED else "Your badge is being prepared."
    elif job.status == PRINTED:
        message = f"Your badge is ready at {_where(printer)}."
    else:
        message = f"Your badge is printing at {_where(printer)}."
    return BadgeStatus(
        job_id=job.id,
        status=job.status,
        printer_id=printer.id if printer else None,
        printer_name=printer.name if printer else None,
        location=printer.location if printer else None,
        message=message,
        failovers=job.failovers,
    )


def _facts_for_reading(session: Session, visit_id: int, *, actor: str, what: str, now: datetime) -> PrintJob:
    job = _latest_job(session, visit_id)
    if job is None:
        raise NotFound(f"visit {visit_id} has no badge")
    if job.facts is None or job.zpl is None:
        raise NotFound(f"the badge of visit {visit_id} was deleted under the retention policy")
    audit.record(session, actor=actor, action=f"badge.read_{what}", object_type="visit", object_id=visit_id, now=now)
    return job


def badge_png(session: Session, visit_id: int, *, actor: str, now: datetime) -> bytes:
    """The visit's badge as a PNG, drawn again from the facts kept on its job (the read is audited)."""
    job = _facts_for_reading(session, visit_id, actor=actor, what="png", now=now)
    assert job.facts is not None
    return render_png(BadgeFacts.from_json(job.facts))


def badge_zpl(session: Session, visit_id: int, *, actor: str, now: datetime) -> str:
    """The ZPL the visit's badge was sent to the printer as (the read is audited)."""
    job = _facts_for_reading(session, visit_id, actor=actor, what="zpl", now=now)
    assert job.zpl is not None
    return job.zpl


# Retention


def purge_badge_personal_data(session: Session, visit_ids: Sequence[int]) -> int:
    """Blank the rendered badges of these visits (retention); returns how many jobs were blanked.

    The job rows stay (status, printer, times) as an anonymous record; the printer's error text holds
    no personal data. Print commands still in the outbox go with the outbox's own clean-up.
    """
    if not visit_ids:
        return 0
    blanked = session.execute(
        sa.update(PrintJob)
        .where(PrintJob.visit_id.in_(list(visit_ids)), PrintJob.zpl.is_not(None))
        .values(zpl=None, facts=sa.null())
        .returning(PrintJob.id)
    )
    return len(blanked.all())
