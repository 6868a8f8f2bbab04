"""The site's visitor policies over a real database: block list holds, agreements signed again, data purged."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from hub.runtime import Database
from hub.services import agreements, blocklist, visit_arrivals, visits
from hub.services.visit_arrivals import Signature
from hub.services.visitor_retention import PURGED_NAME, Retention, purge_visitor_data
from hub.services.visits import VisitRefused
from hub.store.audit import entries
from hub.store.visit_models import AgreementSignature, Visit, VisitPhoto, VisitStatus
from tests.hub.booking_helpers import local
from tests.hub.visit_helpers import AT_NINE, NOW, RULES, invite, notifications, with_people


@pytest.fixture
def db(site_database: Database) -> Database:
    return with_people(site_database)


def _block(db: Database, **fields: str) -> None:
    with db.sessions.begin() as session:
        blocklist.add_entry(
            session,
            name=fields.get("name"),
            email=fields.get("email"),
            company=fields.get("company"),
            reason="Asked not to visit",
            actor="reception",
            now=NOW,
        )


def _arrive(db: Database, token: str, *, signature: Signature | None = None) -> visit_arrivals.Arrival:
    with db.sessions.begin() as session:
        return visit_arrivals.check_in(
            session, rules=RULES, token=token, kiosk_id="kiosk-1", signature=signature, photo_jpeg=b"\xff\xd8\xffjpg",
            now=AT_NINE,
        )  # fmt: skip


def test_a_block_list_match_at_invite_holds_the_visit_until_reception_approves(db: Database) -> None:
    _block(db, email="Lee@Example.org")
    with db.sessions.begin() as session:
        visit = invite(session)
        token = visits.invitation_token(visit, RULES)
        assert visit.status == VisitStatus.HELD and "block list entry" in (visit.held_reason or "")
        assert "lee@example.org" not in (visit.held_reason or "")
        assert len(notifications(session, "visitor_held")) == 1
    arrival = _arrive(db, token)
    assert not arrival.admitted and "reception will be with you" in arrival.message
    with db.sessions.begin() as session:
        approved = visit_arrivals.approve(session, rules=RULES, visit_id=visit.id, actor="reception", now=AT_NINE)
        assert approved.admitted and approved.visit.status == VisitStatus.CHECKED_IN
        assert len(notifications(session, "visitor_arrived")) == 1


def test_names_and_companies_match_the_block_list_whatever_their_case(db: Database) -> None:
    _block(db, name="Lee  VISITOR")
    _block(db, company="evil corp")
    with db.sessions.begin() as session:
        assert invite(session).status == VisitStatus.HELD
        assert invite(session, name="Someone Else", company="Evil Corp").status == VisitStatus.HELD
        clear = invite(session, name="Someone Else", email="else@example.org", company="Good Corp")
        assert clear.status == VisitStatus.INVITED
        token = visits.invitation_token(clear, RULES)
    _block(db, email="else@example.org")
    assert not _arrive(db, token).admitted, "a match made after the invitation holds at check-in"
    with db.sessions.begin() as session:
        denied = visit_arrivals.deny(session, visit_id=clear.id, actor="reception", now=AT_NINE)
        assert denied.status == VisitStatus.DENIED


def _nda(db: Database, text: str) -> str:
    with db.sessions.begin() as session:
        return agreements.create_agreement(
            session, visitor_type="guest", title="NDA", text=text, visitor_types=RULES.visitor_types,
            actor="reception", now=NOW,
        ).hash  # fmt: skip


def _needs_signing(db: Database, *, days_later: int = 0) -> bool:
    with db.sessions() as session:
        needed = agreements.agreement_to_sign(
            session,
            visitor_type="guest",
            email="LEE@example.org",
            valid_for=RULES.agreement_valid_for,
            now=NOW + timedelta(days=days_later),
        )
    return needed is not None


def test_a_returning_visitor_signs_again_when_the_text_changes_or_the_signature_is_old(db: Database) -> None:
    first = _nda(db, "Version one.")
    assert _needs_signing(db)
    with db.sessions.begin() as session:
        token = visits.invitation_token(invite(session), RULES)
    _arrive(db, token, signature=Signature(first, "Lee Visitor"))
    assert not _needs_signing(db), "signed the current text today"
    assert _needs_signing(db, days_later=366), "the signature is older than the site's limit"
    second = _nda(db, "Version two.")
    assert second != first and _needs_signing(db)
    with db.sessions.begin() as session:
        token = visits.invitation_token(invite(session, start=local(2026, 10, 19, 9, 30)), RULES)
    with pytest.raises(VisitRefused, match="has changed") as refused:
        _arrive(db, token, signature=Signature(first, "Lee Visitor"))
    assert refused.value.reason == "agreement_required"
    assert _arrive(db, token, signature=Signature(second, "Lee Visitor")).admitted


def test_retention_purges_personal_data_and_keeps_an_anonymous_visit(db: Database) -> None:
    nda = _nda(db, "Text.")
    with db.sessions.begin() as session:
        old = invite(session)
        token = visits.invitation_token(old, RULES)
        upcoming = invite(session, start=local(2026, 12, 1, 9), end=local(2026, 12, 1, 10))
    _arrive(db, token, signature=Signature(nda, "Lee Visitor"))
    with db.sessions.begin() as session:
        visits.check_out(session, visit_id=old.id, actor="reception", now=local(2026, 10, 19, 11))
    retention = Retention(personal=timedelta(days=30), photos=timedelta(days=1))

    with db.sessions.begin() as session:
        assert purge_visitor_data(session, local(2026, 10, 20, 10), retention=retention) == 0
    with db.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(VisitPhoto)) == 0, "photos go after a day"
        assert session.get_one(Visit, old.id).visitor_name == "Lee Visitor"

    with db.sessions.begin() as session:
        assert purge_visitor_data(session, local(2026, 11, 19, 12), retention=retention) == 1
    with db.sessions() as session:
        purged = session.get_one(Visit, old.id)
        assert (purged.visitor_name, purged.visitor_email, purged.company) == (PURGED_NAME, None, None)
        assert (purged.status, purged.visitor_type, purged.host_id) == (VisitStatus.CHECKED_OUT, "guest", "ann")
        assert session.scalars(sa.select(AgreementSignature.signed_name)).all() == [PURGED_NAME]
        assert session.get_one(Visit, upcoming.id).visitor_name == "Lee Visitor"
        actions = {entry.action for entry in entries(session, object_type="visit", object_id=old.id)}
        assert {"visit.purge", "visit.purge_photo"} <= actions
