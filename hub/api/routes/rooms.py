"""Meeting rooms: which are free, which fits, their bookings and calendars, and how they are used."""

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AwareDatetime

from hub.api.access import allow
from hub.api.deps import BookingRulesDep, NowDep, SessionDep, SiteZoneDep
from hub.api.schemas import ErrorBody, InvalidBody
from hub.api.schemas_bookings import (
    BookingPublic,
    ImportReportPublic,
    RoomDetail,
    RoomPublic,
    UtilisationPublic,
)
from hub.errors import Invalid
from hub.services import bookings, calendars, rooms, utilisation
from hub.services.bookings import Person
from hub.services.principals import Role

router = APIRouter(prefix="/rooms", tags=["rooms"])

CALENDAR_TYPE = "text/calendar; charset=utf-8"
MAX_CALENDAR_BYTES = 5 * 1024 * 1024
ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
    422: {"model": InvalidBody},
}
ROOM_READERS = allow(Role.HOST, Role.RECEPTION, Role.FACILITIES, Role.INTEGRATION)
RangeStart = Annotated[AwareDatetime | None, Query(description="ISO 8601 with offset; default: now")]
RangeEnd = Annotated[AwareDatetime | None, Query(description="ISO 8601 with offset; default: a week after the start")]


@router.get(
    "",
    response_model=list[RoomPublic],
    summary="The site's rooms, and whether each is free now",
    dependencies=[ROOM_READERS],
)
def list_rooms(
    session: SessionDep,
    now: NowDep,
    floor: Annotated[str | None, Query(description="Only this floor's rooms")] = None,
    bookable: Annotated[bool | None, Query(description="Only meeting rooms (true) or other rooms (false)")] = None,
) -> list[RoomPublic]:
    return [
        RoomPublic.of_state(state) for state in rooms.list_rooms(session, now=now, floor_id=floor, bookable=bookable)
    ]


@router.get(
    "/free",
    response_model=list[RoomPublic],
    responses=ERRORS,
    summary="Rooms free for a meeting: big enough, with the equipment wanted; best fit first",
    dependencies=[ROOM_READERS],
)
def free_rooms(
    session: SessionDep,
    now: NowDep,
    rules: BookingRulesDep,
    end: Annotated[AwareDatetime, Query(description="ISO 8601 with offset")],
    start: RangeStart = None,
    people: Annotated[int, Query(ge=1, le=5000)] = 1,
    equipment: Annotated[list[str] | None, Query(description="Every item wanted, e.g. screen")] = None,
    floor: Annotated[str | None, Query()] = None,
) -> list[RoomPublic]:
    found = rooms.find_free_rooms(
        session,
        start=start or now,
        end=end,
        people=people,
        equipment=equipment or [],
        floor_id=floor,
        now=now,
        rules=rules,
    )
    return [RoomPublic.of(room, free_now=True) for room in found]


@router.get(
    "/utilisation",
    response_model=UtilisationPublic,
    responses=ERRORS,
    summary="Hours booked, released (no-shows) and occupied, per room and floor and local day",
    dependencies=[ROOM_READERS],
)
def room_utilisation(
    session: SessionDep,
    zone: SiteZoneDep,
    now: NowDep,
    first_day: Annotated[date | None, Query(alias="from", description="First day; default: 6 days before to")] = None,
    last_day: Annotated[date | None, Query(alias="to", description="Last day (included); default: today")] = None,
    floor: Annotated[str | None, Query()] = None,
) -> UtilisationPublic:
    last = last_day or now.astimezone(zone).date()
    first = first_day or last - timedelta(days=6)
    return UtilisationPublic.of(utilisation.utilisation(session, first_day=first, last_day=last, floor_id=floor))


@router.get(
    "/{room_id}",
    response_model=RoomDetail,
    responses=ERRORS,
    summary="A room with its meeting now and next",
    dependencies=[ROOM_READERS],
)
def get_room(room_id: str, session: SessionDep, zone: SiteZoneDep, now: NowDep) -> RoomDetail:
    return RoomDetail.of_agenda(bookings.room_agenda(session, room_id=room_id, now=now), zone)


@router.get(
    "/{room_id}/bookings",
    response_model=list[BookingPublic],
    responses=ERRORS,
    summary="A room's bookings in a range (private ones without title or attendees)",
    dependencies=[ROOM_READERS],
)
def room_bookings(
    room_id: str,
    session: SessionDep,
    zone: SiteZoneDep,
    now: NowDep,
    start: RangeStart = None,
    end: RangeEnd = None,
    include_cancelled: bool = False,
) -> list[BookingPublic]:
    first = start or now
    found = bookings.list_room_bookings(
        session, room_id=room_id, start=first, end=end or first + timedelta(days=7), include_cancelled=include_cancelled
    )
    return [BookingPublic.of(booking, zone, redact=True) for booking in found]


@router.get(
    "/{room_id}/calendar.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}, **ERRORS},
    summary="A room's bookings as an iCalendar feed (from 30 days ago to the booking horizon by default)",
    dependencies=[ROOM_READERS],
)
def room_feed(
    room_id: str,
    session: SessionDep,
    now: NowDep,
    rules: BookingRulesDep,
    start: RangeStart = None,
    end: RangeEnd = None,
) -> Response:
    first, last = calendars.feed_range(start, end, now=now, horizon=rules.horizon)
    feed = calendars.room_calendar(session, room_id=room_id, start=first, end=last, now=now)
    return Response(content=feed, media_type=CALENDAR_TYPE)


async def calendar_body(request: Request) -> bytes:
    """The request body as an iCalendar file (sent as text/calendar)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/"):
        raise Invalid("send the calendar file itself as the request body, with Content-Type: text/calendar")
    body = await request.body()
    if len(body) > MAX_CALENDAR_BYTES:
        raise Invalid(f"the calendar file is larger than {MAX_CALENDAR_BYTES // (1024 * 1024)} MB")
    return body


@router.post(
    "/{room_id}/calendar",
    status_code=201,
    response_model=ImportReportPublic,
    responses=ERRORS,
    openapi_extra={"requestBody": {"required": True, "content": {"text/calendar": {"schema": {"type": "string"}}}}},
    summary="Import an iCalendar file into a room: every event is booked, or none is",
    dependencies=[allow(Role.FACILITIES, Role.INTEGRATION)],
)
def import_feed(
    room_id: str,
    body: Annotated[bytes, Depends(calendar_body)],
    session: SessionDep,
    zone: SiteZoneDep,
    now: NowDep,
    rules: BookingRulesDep,
    organiser_email: Annotated[str | None, Query(description="Organiser of events without ORGANIZER")] = None,
    organiser_name: Annotated[str, Query()] = "",
) -> ImportReportPublic:
    fallback = Person(email=organiser_email, name=organiser_name) if organiser_email else None
    report = calendars.import_calendar(session, room_id=room_id, data=body, organiser=fallback, now=now, rules=rules)
    session.commit()
    return ImportReportPublic.of(report, zone)
