"""Request and response models of rooms and bookings: separate Create / Update / Public shapes.

Times come in as ISO 8601 with an offset (a time without one is refused with 422) and go out in
UTC, with the site's wall time beside them (``local_start``) for people and door displays.
"""

from datetime import date, datetime
from typing import Literal, Self
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from hub.services.bookings import PRIVATE_TITLE, RoomAgenda
from hub.services.calendars import ImportReport
from hub.services.rooms import RoomState
from hub.services.utilisation import FloorUsage, Hours, RoomUsage, Utilisation
from hub.store.booking_models import Booking, BookingSeries, BookingSource
from hub.store.models import Room


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Organiser(_Input):
    """Who organises. Until sign-in exists (the roles issue), the caller says so in the body."""

    email: str = Field(max_length=254, examples=["ann@example.com"])
    name: str = Field(default="", max_length=120, examples=["Ann Smith"])


class BookingCreate(_Input):
    room_id: str = Field(examples=["atlas"])
    title: str = Field(min_length=1, max_length=200)
    start: AwareDatetime = Field(examples=["2026-10-26T09:00:00+00:00"])
    end: AwareDatetime = Field(examples=["2026-10-26T10:00:00+00:00"])
    organiser: Organiser
    attendees: list[str] = Field(default_factory=list, max_length=500, description="Invited people's emails")
    private: bool = Field(default=False, description="Others see 'Private meeting' instead of the title")
    source: BookingSource = BookingSource.API


class BookingUpdate(_Input):
    """Only the fields given change; a moved occurrence of a series stays part of it."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    room_id: str | None = None
    attendees: list[str] | None = Field(default=None, max_length=500)
    private: bool | None = None


class Extension(_Input):
    minutes: int = Field(ge=1, le=24 * 60, examples=[15])


class SeriesCreate(BookingCreate):
    """A recurring booking: ``start``/``end`` are the first meeting, kept in the site's wall time."""

    rrule: str = Field(max_length=500, examples=["FREQ=WEEKLY;BYDAY=MO;COUNT=10"], description="RFC 5545 RRULE")
    exdates: list[AwareDatetime] = Field(default_factory=list, description="Starts of meetings left out")


class SeriesCancel(_Input):
    from_start: AwareDatetime | None = Field(default=None, description="Cancel meetings from here on (default: now)")


class SeriesException(_Input):
    """Cancel one meeting of a series, or move it to [start, end)."""

    occurrence_start: AwareDatetime = Field(description="The start the series gave the meeting")
    action: Literal["cancel", "move"]
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None

    @model_validator(mode="after")
    def _move_needs_times(self) -> Self:
        if self.action == "move" and (self.start is None or self.end is None):
            raise ValueError("moving a meeting needs its new start and end")
        return self


class BookingPublic(BaseModel):
    id: int
    uid: str
    room_id: str
    room_name: str
    floor_id: str
    title: str
    private: bool
    organiser: Organiser
    attendees: list[str]
    start: datetime
    end: datetime
    local_start: datetime
    local_end: datetime
    timezone: str
    status: str
    checked_in_at: datetime | None
    ended_at: datetime | None
    source: str
    series_id: int | None
    occurrence_start: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, booking: Booking, zone: ZoneInfo, *, redact: bool = False) -> "BookingPublic":
        """The booking as the API shows it; ``redact`` hides a private one's title and attendees."""
        hide = redact and booking.private
        return cls(
            id=booking.id,
            uid=booking.uid,
            room_id=booking.room_id,
            room_name=booking.room.name,
            floor_id=booking.room.floor_id,
            title=PRIVATE_TITLE if hide else booking.title,
            private=booking.private,
            organiser=Organiser(email=booking.organiser_email, name=booking.organiser_name),
            attendees=[] if hide else booking.attendees,
            start=booking.starts_at,
            end=booking.ends_at,
            local_start=booking.starts_at.astimezone(zone),
            local_end=booking.ends_at.astimezone(zone),
            timezone=zone.key,
            status=booking.status,
            checked_in_at=booking.checked_in_at,
            ended_at=booking.ended_at,
            source=booking.source,
            series_id=booking.series_id,
            occurrence_start=booking.occurrence_start,
            created_at=booking.created_at,
            updated_at=booking.updated_at,
        )


class SeriesPublic(BaseModel):
    id: int
    room_id: str
    title: str
    private: bool
    organiser: Organiser
    attendees: list[str]
    rrule: str
    timezone: str
    first_start: datetime
    local_first_start: datetime
    duration_minutes: float
    exdates: list[datetime]
    no_show_strikes: int
    cancelled_from: datetime | None
    cancel_reason: str | None
    booked_until: datetime
    occurrences: list[BookingPublic]

    @classmethod
    def of(cls, series: BookingSeries, occurrences: list[Booking], zone: ZoneInfo) -> "SeriesPublic":
        return cls(
            id=series.id,
            room_id=series.room_id,
            title=series.title,
            private=series.private,
            organiser=Organiser(email=series.organiser_email, name=series.organiser_name),
            attendees=list(series.attendees),
            rrule=series.rrule,
            timezone=series.timezone,
            first_start=series.first_start,
            local_first_start=series.first_start.astimezone(ZoneInfo(series.timezone)),
            duration_minutes=series.duration_seconds / 60,
            exdates=[datetime.fromisoformat(day) for day in series.exdates],
            no_show_strikes=series.no_show_strikes,
            cancelled_from=series.cancelled_from,
            cancel_reason=series.cancel_reason,
            booked_until=series.materialised_until,
            occurrences=[BookingPublic.of(booking, zone) for booking in occurrences],
        )


class RoomPublic(BaseModel):
    id: str
    name: str
    floor_id: str
    floor_name: str
    capacity: int
    bookable: bool
    equipment: list[str]
    free_now: bool

    @classmethod
    def of(cls, room: Room, *, free_now: bool) -> "RoomPublic":
        return cls(
            id=room.id,
            name=room.name,
            floor_id=room.floor_id,
            floor_name=room.floor.name,
            capacity=room.capacity,
            bookable=room.bookable,
            equipment=list(room.equipment),
            free_now=free_now,
        )

    @classmethod
    def of_state(cls, state: RoomState) -> "RoomPublic":
        return cls.of(state.room, free_now=state.free_now)


class RoomDetail(RoomPublic):
    """A room with the meeting in it now and the next one (private ones without title)."""

    current: BookingPublic | None
    next: BookingPublic | None

    @classmethod
    def of_agenda(cls, agenda: RoomAgenda, zone: ZoneInfo) -> "RoomDetail":
        room = RoomPublic.of(agenda.room, free_now=agenda.room.bookable and agenda.current is None)
        return cls(
            **room.model_dump(),
            current=BookingPublic.of(agenda.current, zone, redact=True) if agenda.current else None,
            next=BookingPublic.of(agenda.next, zone, redact=True) if agenda.next else None,
        )


class UsageHours(BaseModel):
    booked_hours: float
    released_hours: float
    occupied_hours: float

    @classmethod
    def of(cls, hours: Hours) -> "UsageHours":
        return cls(
            booked_hours=round(hours.booked, 3),
            released_hours=round(hours.released, 3),
            occupied_hours=round(hours.occupied, 3),
        )


class DayUsage(UsageHours):
    day: date


def _days(by_day: dict[date, Hours]) -> list[DayUsage]:
    return [DayUsage(day=day, **UsageHours.of(hours).model_dump()) for day, hours in sorted(by_day.items())]


class RoomUsagePublic(BaseModel):
    room_id: str
    room_name: str
    floor_id: str
    capacity: int
    total: UsageHours
    days: list[DayUsage]

    @classmethod
    def of(cls, usage: RoomUsage) -> "RoomUsagePublic":
        return cls(
            room_id=usage.room_id,
            room_name=usage.room_name,
            floor_id=usage.floor_id,
            capacity=usage.capacity,
            total=UsageHours.of(usage.total),
            days=_days(usage.by_day),
        )


class FloorUsagePublic(BaseModel):
    floor_id: str
    floor_name: str
    total: UsageHours
    days: list[DayUsage]

    @classmethod
    def of(cls, usage: FloorUsage) -> "FloorUsagePublic":
        return cls(
            floor_id=usage.floor_id,
            floor_name=usage.floor_name,
            total=UsageHours.of(usage.total),
            days=_days(usage.by_day),
        )


class UtilisationPublic(BaseModel):
    """Hours per local day: booked (released included), released (no-shows) and occupied (sensors)."""

    first_day: date
    last_day: date
    timezone: str
    rooms: list[RoomUsagePublic]
    floors: list[FloorUsagePublic]

    @classmethod
    def of(cls, report: Utilisation) -> "UtilisationPublic":
        return cls(
            first_day=report.first_day,
            last_day=report.last_day,
            timezone=report.timezone,
            rooms=[RoomUsagePublic.of(room) for room in report.rooms],
            floors=[FloorUsagePublic.of(floor) for floor in report.floors],
        )


class ImportReportPublic(BaseModel):
    """What an iCalendar import booked, and what it left out on purpose."""

    created: list[BookingPublic]
    series_ids: list[int]
    skipped: list[str]

    @classmethod
    def of(cls, report: ImportReport, zone: ZoneInfo) -> "ImportReportPublic":
        return cls(
            created=[BookingPublic.of(booking, zone) for booking in report.created],
            series_ids=[series.id for series in report.series],
            skipped=report.skipped,
        )
