"""Visitors for the demo: a few invitations for today, their QR codes as PNGs for the kiosk's --camera folder."""

from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.services import agreements, visits
from hub.services.qr_render import render_png
from hub.services.site_secret import site_secret
from hub.services.visits import VisitorRules
from hub.settings import Settings, get_settings
from hub.store.visit_models import Visit

DEMO_QR_DIR = Path("var/demo-qr")
DEMO_VISITORS = (
    ("Lee Visitor", "lee.visitor@example.org", "Acme", "ann", "guest"),
    ("Mo Contractor", "mo@fixit.example", "FixIt Ltd", "jonas", "contractor"),
    ("Pat Candidate", "pat.candidate@example.net", None, "demo", "interview"),
)
DEMO_NDA = (
    "Visitor agreement",
    "While on site you may see confidential work. Please keep it to yourself, wear your badge, "
    "and follow your host's directions in an emergency.",
)


def seed_visits(
    session: Session, *, now: datetime, qr_dir: Path = DEMO_QR_DIR, settings: Settings | None = None
) -> int:
    """Invite the demo visitors from now for three hours (unless already invited) and write their QR PNGs."""
    settings = settings or get_settings()
    rules = VisitorRules.from_settings(settings, site_secret(settings))
    if agreements.current_agreement(session, "guest") is None:
        agreements.create_agreement(
            session, visitor_type="guest", title=DEMO_NDA[0], text=DEMO_NDA[1],
            visitor_types=rules.visitor_types, actor="demo", now=now,
        )  # fmt: skip
    qr_dir.mkdir(parents=True, exist_ok=True)
    made = 0
    for name, email, company, host_id, visitor_type in DEMO_VISITORS:
        visit = session.scalars(
            sa.select(Visit).where(Visit.visitor_email == email, Visit.ends_at > now, Visit.status == "invited")
        ).first()
        if visit is None:
            visit = visits.invite(
                session, rules=rules, visitor_name=name, visitor_email=email, company=company, host_id=host_id,
                visitor_type=visitor_type, starts_at=now, ends_at=now + timedelta(hours=3), actor="demo", now=now,
            )  # fmt: skip
            made += 1
        slug = name.lower().replace(" ", "-")
        (qr_dir / f"{visit.id}-{slug}.png").write_bytes(render_png(visits.invitation_token(visit, rules)))
    return made
