"""A visit from invitation to check-out, and every way a code is refused, over a real database."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from hub.errors import NotFound
from hub.runtime import Database
from hub.services import agreements, badges, visit_arrivals, visit_tokens, visits
from hub.services.qr_tokens import TokenKind
from hub.services.visit_arrivals import Signature
from hub.services.visit_tokens import VisitKeys
from hub.services.visits import VisitorRules, VisitRefused
from hub.store.audit import entries
from hub.store.visit_models import AgreementSignature, Visit, VisitRedemption, VisitStatus
from tests.hub.booking_helpers import LONDON, local
from tests.hub.visit_helpers import AT_NINE, NOW, RULES, invite, notifications, with_people


@pytest.fixture
def db(site_database: Database) -> Database:
    return with_people(site_database)


def _nda(db: Database, text: str = "Keep what you see to yourself.") -> str:
    with db.sessions.begin() as session:
        agreement = agreements.create_agreement(
            session,
            visitor_type="guest",
            title="Visitor NDA",
            text=text,
            visitor_types=RULES.visitor_types,
            actor="reception",
            now=NOW,
        )
        return agreement.hash


def _invited(db: Database, **changes: object) -> tuple[int, str]:
    with db.sessions.begin() as session:
        visit = invite(session, **changes)  # type: ignore[arg-type]
        return visit.id, visits.invitation_token(visit, RULES)


def _check_in(
    db: Database, token: str, *, signature: Signature | None = None, at: object = AT_NINE
) -> visit_arrivals.Arrival:
    with db.sessions.begin() as session:
        return visit_arrivals.check_in(
            session,
            rules=RULES,
            token=token,
            kiosk_id="kiosk-1",
            signature=signature,
            photo_jpeg=None,
            now=at,  # type: ignore[arg-type]
        )


def _refusal(call: object) -> VisitRefused:
    with pytest.raises(VisitRefused) as caught:
        call()  # type: ignore[operator]
    return caught.value


def test_invite_scan_sign_check_in_and_check_out_with_the_badge(db: Database) -> None:
    nda = _nda(db)
    visit_id, token = _invited(db)
    with db.sessions() as session:
        preview = visit_arrivals.scan(session, rules=RULES, token=token, now=AT_NINE)
        assert (preview.kind, preview.visit.visitor_name, preview.visit.host.name) == (
            TokenKind.INVITATION,
            "Lee Visitor",
            "Ann Smith",
        )
        assert preview.agreement is not None and preview.agreement.hash == nda

    unsigned = _refusal(lambda: _check_in(db, token))
    assert unsigned.reason == "agreement_required" and "Visitor NDA" in str(unsigned)

    arrival = _check_in(db, token, signature=Signature(agreement_hash=nda, signed_name="Lee Visitor"))
    assert arrival.admitted and "Ann Smith knows you are here" in arrival.message
    with db.sessions() as session:
        visit = session.get_one(Visit, visit_id)
        assert (visit.status, visit.checked_in_at) == (VisitStatus.CHECKED_IN, AT_NINE)
        assert [n for n in notifications(session, "visitor_arrived") if b"ann@example.com" in n]
        assert badges.badge_status(session, visit_id) is not None
        signature = session.scalars(sa.select(AgreementSignature)).one()
        assert (signature.agreement_hash, signature.signed_name) == (nda, "Lee Visitor")
        checkout = visit_arrivals.checkout_token(visit, RULES, LONDON)
        assert visit_arrivals.scan(session, rules=RULES, token=checkout, now=AT_NINE).kind is TokenKind.CHECKOUT

    leaving = local(2026, 10, 19, 11, 30)
    with db.sessions.begin() as session:
        visits.check_out_by_token(session, rules=RULES, token=checkout, actor="kiosk-1", now=leaving)
    with db.sessions() as session:
        visit = session.get_one(Visit, visit_id)
        assert (visit.status, visit.checked_out_at) == (VisitStatus.CHECKED_OUT, leaving)
        actions = [entry.action for entry in entries(session, object_type="visit", object_id=visit_id)]
    assert {"visit.invite", "visit.sign_agreement", "visit.check_in", "visit.check_out"} <= set(actions)
    again = _refusal(
        lambda: visits.check_out_by_token(db.sessions(), rules=RULES, token=checkout, actor="k", now=leaving)
    )
    assert again.reason == "already_used"


def _forged(token: str) -> str:
    """The same claims signed by another office's key."""
    other = VisitorRules(keys=VisitKeys.from_secret(b"another office's secret, 32 byte"))
    claims = visits.verify_code(RULES, token, kind=None, now=AT_NINE)
    return visit_tokens.issue(
        other.keys,
        kind=claims.kind,
        visit_id=int(claims.visit_id),
        not_before=claims.not_before,
        not_after=claims.not_after,
        nonce=claims.nonce,
    )


def _altered(token: str) -> str:
    middle = len(token) // 2
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]


REFUSALS = [
    ("forged", _forged, AT_NINE, "bad_signature"),
    ("altered", _altered, AT_NINE, "bad_signature"),
    ("garbage", lambda token: "ATR1.not-a-token", AT_NINE, "malformed"),
    ("expired", lambda token: token, local(2026, 10, 19, 13, 1), "expired"),
    ("not yet valid", lambda token: token, local(2026, 10, 19, 7, 59), "not_yet_valid"),
]


def test_a_bad_invitation_is_refused_with_its_reason(db: Database) -> None:
    _, token = _invited(db)
    for case, mangle, at, reason in REFUSALS:
        bad = mangle(token)
        with db.sessions() as session, pytest.raises(VisitRefused) as scanned:
            visit_arrivals.scan(session, rules=RULES, token=bad, now=at)
        assert scanned.value.reason == reason, case
        with pytest.raises(VisitRefused) as checked_in:
            _check_in(db, bad, at=at)
        assert checked_in.value.reason == reason, case
    with db.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(VisitRedemption)) == 0


def test_an_invitation_works_once(db: Database) -> None:
    _, token = _invited(db)
    assert _check_in(db, token).admitted
    for call in (
        lambda: _check_in(db, token),
        lambda: visit_arrivals.scan(db.sessions(), rules=RULES, token=token, now=AT_NINE),
    ):
        refused = _refusal(call)
        assert refused.reason == "already_used" and refused.status_code == 409


def test_a_check_out_code_is_not_an_invitation(db: Database) -> None:
    visit_id, token = _invited(db)
    _check_in(db, token)
    with db.sessions() as session:
        checkout = visit_arrivals.checkout_token(session.get_one(Visit, visit_id), RULES, LONDON)
    refused = _refusal(lambda: _check_in(db, checkout))
    assert refused.reason == "wrong_kind" and "not an invitation" in str(refused)


def test_a_cancelled_invitation_is_refused(db: Database) -> None:
    visit_id, token = _invited(db)
    with db.sessions.begin() as session:
        visits.cancel(session, visit_id=visit_id, actor="host", now=NOW)
    assert _refusal(lambda: _check_in(db, token)).reason == "cancelled"


def test_two_kiosks_checking_in_one_invitation_at_once_admit_it_once(db: Database) -> None:
    _, token = _invited(db)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def kiosk(kiosk_id: str) -> None:
        with db.sessions() as session:
            barrier.wait()
            try:
                visit_arrivals.check_in(
                    session, rules=RULES, token=token, kiosk_id=kiosk_id, signature=None, photo_jpeg=None, now=AT_NINE
                )
                session.commit()
                outcomes.append("admitted")
            except VisitRefused as refused:
                outcomes.append(refused.reason)

    threads = [threading.Thread(target=kiosk, args=(f"kiosk-{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["admitted", "already_used"]
    with db.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(VisitRedemption)) == 1
        assert len(notifications(session, "visitor_arrived")) == 1


def test_a_walk_in_signs_and_is_admitted_for_the_rest_of_the_day(db: Database) -> None:
    nda = _nda(db)
    with db.sessions.begin() as session, pytest.raises(VisitRefused, match="Visitor NDA"):
        visit_arrivals.walk_in(
            session, rules=RULES, visitor_name="Sam", company=None, visitor_email=None, host_id="bob",
            purpose="Fix the coffee machine", visitor_type="guest", kiosk_id="kiosk-1", signature=None,
            photo_jpeg=None, now=AT_NINE,
        )  # fmt: skip
    with db.sessions.begin() as session:
        arrival = visit_arrivals.walk_in(
            session, rules=RULES, visitor_name="Sam", company=None, visitor_email=None, host_id="bob",
            purpose="Fix the coffee machine", visitor_type="guest", kiosk_id="kiosk-1",
            signature=Signature(nda, "Sam"), photo_jpeg=b"\xff\xd8\xff photo", now=AT_NINE,
        )  # fmt: skip
        assert arrival.admitted and arrival.visit.walk_in
        assert arrival.visit.ends_at == local(2026, 10, 20)
    with db.sessions.begin() as session, pytest.raises(NotFound, match="no host 'nobody'"):
        visit_arrivals.walk_in(
            session, rules=RULES, visitor_name="Sam", company=None, visitor_email=None, host_id="nobody",
            purpose="x", visitor_type="delivery", kiosk_id="kiosk-1", signature=None, photo_jpeg=None, now=AT_NINE,
        )  # fmt: skip


def test_the_host_is_reminded_once_of_a_visitor_who_stays_too_long(db: Database) -> None:
    _, token = _invited(db)
    _check_in(db, token)
    for minutes in (29, 31, 90):
        with db.sessions.begin() as session:
            visits.remind_overstays(
                session, local(2026, 10, 19, 12) + timedelta(minutes=minutes), overstay_after=timedelta(minutes=30)
            )
    with db.sessions() as session:
        assert len(notifications(session, "visitor_overstay")) == 1
