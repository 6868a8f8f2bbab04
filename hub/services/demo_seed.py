"""Bookings for today, so a demo's panels and displays have something to show."""

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from hub.errors import AtriumError
from hub.services import bookings, demo_visits

DEMO_ROOMS = ("atlas", "boreal", "cedar", "delta", "harbor", "lagoon", "meridian", "nova")
DEMO_TITLES = ("Design review", "Weekly sync", "Customer call", "1:1", "Planning", "Interview")
ORGANISER = bookings.Person(email="demo@atrium.invalid", name="Demo Organiser")


def seed_today(session: Session, *, now: datetime) -> int:
    """Book each demo room every other hour from now; slots already taken are skipped. Returns how many."""
    top_of_hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    made = 0
    for index, room_id in enumerate(DEMO_ROOMS):
        for hour in range(index % 2, 10, 2):
            start = max(top_of_hour + timedelta(hours=hour), now)
            try:
                with session.begin_nested():
                    bookings.create_booking(
                        session,
                        room_id=room_id,
                        title=DEMO_TITLES[(index + hour) % len(DEMO_TITLES)],
                        start=start,
                        end=top_of_hour + timedelta(hours=hour, minutes=45),
                        organiser=ORGANISER,
                        now=now,
                    )
                made += 1
            except AtriumError:
                continue
    demo_visits.seed_visits(session, now=now)  # invitations for today, QR PNGs in var/demo-qr
    return made
