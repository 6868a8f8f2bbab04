"""Shared pieces of the bookings tests: the site's zone, people, and a booking with sensible defaults."""

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from hub.services import bookings
from hub.services.bookings import DEFAULT_RULES, BookingRules, Person
from hub.store.booking_models import Booking

LONDON = ZoneInfo("Europe/London")
"""The sample building's zone."""
ANN = Person("ann@example.com", "Ann Smith")
BOB = Person("bob@example.com", "Bob Jones")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Wall time at the site."""
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def book(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    room_id: str = "atlas",
    title: str = "Planning",
    organiser: Person = ANN,
    attendees: Iterable[str] = (),
    private: bool = False,
    rules: BookingRules = DEFAULT_RULES,
) -> Booking:
    return bookings.create_booking(
        session,
        room_id=room_id,
        title=title,
        start=start,
        end=end,
        organiser=organiser,
        attendees=attendees,
        private=private,
        now=now,
        rules=rules,
    )
