"""Meeting-room bookings and recurring series, as SQLAlchemy models (times stored in UTC)."""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.store.models import Base, BigId, Room


class BookingStatus(StrEnum):
    """Where a booking is in its life; only ``booked`` and ``checked_in`` hold the room."""

    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    ENDED = "ended"
    CANCELLED = "cancelled"
    RELEASED = "released"
    """Nobody came: the room was given back (a no-show)."""


HOLDS_ROOM = (BookingStatus.BOOKED.value, BookingStatus.CHECKED_IN.value)
"""Statuses that keep a room from being booked by anyone else."""


class BookingSource(StrEnum):
    """Where a booking was made."""

    API = "api"
    ICS = "ics"
    DISPLAY = "display"
    PANEL = "panel"


class BookingSeries(Base):
    """A recurring booking: an RFC 5545 RRULE from a first start kept in a time zone's wall time.

    Its occurrences are materialised as rows of ``bookings`` up to ``materialised_until`` so that
    clashes and queries only ever look at one table.
    """

    __tablename__ = "booking_series"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    room_id: Mapped[str] = mapped_column(sa.ForeignKey("rooms.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    private: Mapped[bool] = mapped_column(default=False)
    organiser_email: Mapped[str] = mapped_column(sa.String(254), index=True)
    organiser_name: Mapped[str] = mapped_column(sa.String(120))
    attendees: Mapped[list[str]]
    rrule: Mapped[str] = mapped_column(sa.String(500))
    timezone: Mapped[str] = mapped_column(sa.String(64))
    """The zone whose wall time the rule keeps (09:00 stays 09:00 across DST)."""
    first_start: Mapped[datetime]
    duration_seconds: Mapped[int]
    exdates: Mapped[list[str]]
    """Occurrences taken out of the series (cancelled), as UTC ISO 8601 starts."""
    no_show_strikes: Mapped[int] = mapped_column(default=0)
    """Occurrences released in a row because nobody came; a check-in resets it."""
    materialised_until: Mapped[datetime]
    cancelled_from: Mapped[datetime | None]
    """No occurrence starts at or after this (the series was cancelled from here on)."""
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(200))
    source: Mapped[str] = mapped_column(sa.String(16))
    external_uid: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    room: Mapped[Room] = relationship(lazy="joined")


class BookingAttendee(Base):
    """One invited person of a booking, so that a person's bookings are found by an index."""

    __tablename__ = "booking_attendees"

    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), primary_key=True, index=True)


class Booking(Base):
    """A room held for [starts_at, ends_at): a one-off booking or one occurrence of a series."""

    __tablename__ = "bookings"
    __table_args__ = (
        sa.Index("ix_bookings_room_start", "room_id", "starts_at"),
        sa.Index("ix_bookings_organiser_start", "organiser_email", "starts_at"),
        sa.Index("ix_bookings_status_start", "status", "starts_at"),
        sa.UniqueConstraint("uid", name="uq_bookings_uid"),
        sa.UniqueConstraint("series_id", "occurrence_start", name="uq_bookings_series_occurrence"),
        sa.CheckConstraint("ends_at > starts_at", name="ck_bookings_ends_after_start"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(sa.String(64))
    """Stable identity for calendars (the iCalendar UID)."""
    room_id: Mapped[str] = mapped_column(sa.ForeignKey("rooms.id"))
    title: Mapped[str] = mapped_column(sa.String(200))
    private: Mapped[bool] = mapped_column(default=False)
    organiser_email: Mapped[str] = mapped_column(sa.String(254))
    organiser_name: Mapped[str] = mapped_column(sa.String(120))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    """When the room is free again: moved earlier when a meeting ends early."""
    status: Mapped[str] = mapped_column(sa.String(16), default=BookingStatus.BOOKED.value)
    checked_in_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    """When it ended early, was released or cancelled."""
    source: Mapped[str] = mapped_column(sa.String(16))
    series_id: Mapped[int | None] = mapped_column(sa.ForeignKey("booking_series.id"))
    occurrence_start: Mapped[datetime | None]
    """The start the series' rule gave this occurrence (its RECURRENCE-ID), even after a move."""
    external_uid: Mapped[str | None] = mapped_column(sa.String(255))
    """The UID of the iCalendar event it was imported from."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    room: Mapped[Room] = relationship(lazy="joined")
    series: Mapped[BookingSeries | None] = relationship(lazy="joined")
    attendee_rows: Mapped[list[BookingAttendee]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=BookingAttendee.email
    )

    @property
    def attendees(self) -> list[str]:
        """The invited people's emails, sorted."""
        return [row.email for row in self.attendee_rows]

    @attendees.setter
    def attendees(self, emails: list[str]) -> None:
        kept = {row.email: row for row in self.attendee_rows}
        self.attendee_rows = [kept.get(email) or BookingAttendee(email=email) for email in sorted(set(emails))]

    @property
    def holds_room(self) -> bool:
        return self.status in HOLDS_ROOM
