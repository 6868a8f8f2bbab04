"""The invitation email: text and HTML with the QR code inline (image/png by Content-ID) and the visit as .ics.

Sent through the site's mail relay when ``smtp_host`` is set; otherwise written to
``mail_outbox_dir/<visit>.eml`` for an operator (or the demo) to open or forward.
"""

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar

from hub.services.qr_render import EMAIL_PX, render_png
from hub.settings import Settings
from hub.store.visit_models import Visit

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MailSettings:
    """Where invitations go: a mail relay, or a folder of .eml files."""

    sender: str
    outbox_dir: Path
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> "MailSettings":
        return cls(
            sender=settings.mail_from,
            outbox_dir=settings.mail_outbox_dir,
            smtp_host=settings.smtp_host,
            smtp_port=settings.smtp_port,
            smtp_user=settings.smtp_user,
            smtp_password=settings.smtp_password,
            smtp_starttls=settings.smtp_starttls,
        )


def event_uid(visit: Visit, site_id: str) -> str:
    return f"visit-{visit.id}@{site_id}.atrium"


def invitation_calendar(visit: Visit, *, site_id: str, site_name: str, now: datetime) -> bytes:
    """The visit as an iCalendar event the visitor can add to their calendar."""
    calendar = icalendar.Calendar.new(prodid="-//Atrium//Visitors//EN", method="PUBLISH")
    calendar.add_component(
        icalendar.Event.new(
            uid=event_uid(visit, site_id),
            summary=f"Visit to {site_name} ({visit.host.name})",
            start=visit.starts_at,
            end=visit.ends_at,
            stamp=now,
            location=site_name,
            organizer=icalendar.vCalAddress.new(visit.host.email, cn=visit.host.name),
            description="Show the QR code of your invitation at the reception kiosk when you arrive.",
        )
    )
    ical: bytes = calendar.to_ical()
    return ical


def invitation_email(
    visit: Visit, *, token: str, site_id: str, site_name: str, zone: ZoneInfo, sender: str, now: datetime
) -> EmailMessage:
    """The invitation as a MIME message: text, HTML with the QR inline, and the .ics attached."""
    if visit.visitor_email is None:
        raise ValueError(f"visit {visit.id} has no email address to invite")
    start, end = visit.starts_at.astimezone(zone), visit.ends_at.astimezone(zone)
    when = (
        f"{start:%A %d %B %Y, %H:%M} to {end:%H:%M}"
        if start.date() == end.date()
        else f"{start:%d %B %H:%M} to {end:%d %B %H:%M}"
    )
    message = EmailMessage()
    message["Subject"] = f"Your visit to {site_name} on {start:%A %d %B}"
    message["From"] = sender
    message["To"] = visit.visitor_email
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(f"visit-{visit.id}")
    greeting = f"Hello {visit.visitor_name},"
    lines = [
        greeting,
        "",
        f"{visit.host.name} has invited you to {site_name}, {when} ({zone.key}).",
        "When you arrive, show the QR code of this email to the reception kiosk's camera.",
        "The code works only around your visit, and only once.",
        "",
        f"Your code, if the image does not show: {token}",
    ]
    message.set_content("\n".join(lines))
    qr_cid = make_msgid("qr")
    html = (
        f"<p>{escape(greeting)}</p>"
        f"<p>{escape(visit.host.name)} has invited you to {escape(site_name)}, {escape(when)} ({escape(zone.key)}).</p>"
        "<p>When you arrive, show this QR code to the reception kiosk's camera:</p>"
        f'<p><img src="cid:{qr_cid[1:-1]}" alt="Your invitation QR code" width="{EMAIL_PX}"></p>'
        "<p>The code works only around your visit, and only once.</p>"
    )
    message.add_alternative(html, subtype="html")
    html_part = message.get_body(preferencelist=("html",))
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(
        render_png(token, max_width_px=EMAIL_PX), maintype="image", subtype="png", cid=qr_cid, filename="invitation.png"
    )
    message.add_attachment(
        invitation_calendar(visit, site_id=site_id, site_name=site_name, now=now),
        maintype="text",
        subtype="calendar",
        filename="visit.ics",
    )
    return message


def deliver(message: EmailMessage, *, visit_id: int, mail: MailSettings) -> Path | None:
    """Send through the relay, or write ``<visit>.eml`` when there is none (returns its path)."""
    if mail.smtp_host is None:
        mail.outbox_dir.mkdir(parents=True, exist_ok=True)
        path = mail.outbox_dir / f"{visit_id}.eml"
        path.write_bytes(bytes(message))
        return path
    with smtplib.SMTP(mail.smtp_host, mail.smtp_port, timeout=30) as relay:
        if mail.smtp_starttls:
            relay.starttls(context=ssl.create_default_context())
        if mail.smtp_user:
            relay.login(mail.smtp_user, mail.smtp_password or "")
        relay.send_message(message)
    log.info("invitation for visit %s sent through %s", visit_id, mail.smtp_host)
    return None
