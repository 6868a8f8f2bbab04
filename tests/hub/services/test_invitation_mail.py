"""The invitation email, parsed back as a mail client would: the QR inline by Content-ID, the visit as .ics."""

import io
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import icalendar
import pytest
import zxingcpp
from PIL import Image

from hub.runtime import Database
from hub.services import visits
from hub.services.invitation_mail import MailSettings, deliver, invitation_email
from tests.hub.booking_helpers import LONDON
from tests.hub.visit_helpers import END, NOW, RULES, START, invite, with_people


@pytest.fixture
def written(site_database: Database, tmp_path: Path) -> tuple[str, EmailMessage]:
    """An invitation written to the mail outbox (no SMTP host) and read back from the file."""
    with_people(site_database)
    with site_database.sessions.begin() as session:
        visit = invite(session)
        token = visits.invitation_token(visit, RULES)
        message = invitation_email(
            visit, token=token, site_id="hq", site_name="Atrium HQ", zone=LONDON, sender="desk@hq.example", now=NOW
        )
        path = deliver(message, visit_id=visit.id, mail=MailSettings(sender="desk@hq.example", outbox_dir=tmp_path))
    assert path == tmp_path / f"{visit.id}.eml"
    parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return token, parsed


def test_the_email_shows_the_qr_code_inline(written: tuple[str, EmailMessage]) -> None:
    token, message = written
    assert message["To"] == "lee@example.org" and "Monday 19 October" in message["Subject"]
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    content = html.get_content()
    assert "Ann Smith has invited you to Atrium HQ" in content
    images = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert len(images) == 1
    cid = images[0]["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in content
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(images[0].get_content())))
    assert [barcode.text for barcode in decoded] == [token]
    text = message.get_body(preferencelist=("plain",))
    assert text is not None and token in text.get_content()


def test_the_email_carries_the_visit_as_a_calendar_event(written: tuple[str, EmailMessage]) -> None:
    _, message = written
    attachments = [part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"]
    assert [part.get_filename() for part in attachments] == ["visit.ics"]
    calendar = icalendar.Calendar.from_ical(attachments[0].get_content())
    (event,) = calendar.walk("VEVENT")
    assert (event.decoded("DTSTART"), event.decoded("DTEND")) == (START, END)
    assert "Ann Smith" in str(event["SUMMARY"]) and str(event["ORGANIZER"]) == "mailto:ann@example.com"
