"""Bookings and recurring series: book, change, cancel, extend, end, check in; a person's bookings and feed.

Any employee (host) books rooms for themselves and changes only the bookings they organise; reception,
facilities and integrations book and change for anyone. Every change is in the audit log, by caller.
"""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response

from hub.api.access import allow, require_own
from hub.api.deps import BookingRulesDep, NowDep, RowId, SessionDep, SiteZoneDep
from hub.api.routes.rooms import CALENDAR_TYPE, ERRORS, RangeEnd, RangeStart
from hub.api.schemas_bookings import (
    BookingCreate,
    BookingPublic,
    BookingUpdate,
    Extension,
    SeriesCancel,
    SeriesCreate,
    SeriesException,
    SeriesPublic,
)
from hub.services import bookings, calendars
from hub.services.bookings import Person
from hub.services.principals import Principal, Role

router = APIRouter(tags=["bookings"])

Reader = Annotated[Principal, allow(Role.HOST, Role.RECEPTION, Role.FACILITIES, Role.INTEGRATION)]
Booker = Annotated[Principal, allow(Role.HOST, Role.RECEPTION, Role.INTEGRATION)]
PersonQuery = Annotated[str, Query(description="Their email: bookings they organise or are invited to")]


@router.post("/bookings", status_code=201, response_model=BookingPublic, responses=ERRORS, summary="Book a room")
def create_booking(
    body: BookingCreate, caller: Booker, session: SessionDep, zone: SiteZoneDep, now: NowDep, rules: BookingRulesDep
) -> BookingPublic:
    require_own(caller, body.organiser.email, what="bookings")
    booking = bookings.create_booking(
        session,
        actor=caller.actor,
        room_id=body.room_id,
        title=body.title,
        start=body.start,
        end=body.end,
        organiser=Person(email=body.organiser.email, name=body.organiser.name),
        attendees=body.attendees,
        private=body.private,
        source=body.source,
        now=now,
        rules=rules,
    )
    session.commit()
    return BookingPublic.of(booking, zone)


@router.get("/bookings", response_model=list[BookingPublic], responses=ERRORS, summary="A person's bookings")
def person_bookings(
    person: PersonQuery,
    caller: Reader,
    session: SessionDep,
    zone: SiteZoneDep,
    now: NowDep,
    start: RangeStart = None,
    end: RangeEnd = None,
    include_cancelled: bool = False,
) -> list[BookingPublic]:
    require_own(caller, person, what="bookings")
    first = start or now
    found = bookings.list_person_bookings(
        session, email=person, start=first, end=end or first + timedelta(days=7), include_cancelled=include_cancelled
    )
    return [BookingPublic.of(booking, zone) for booking in found]


@router.get(
    "/bookings/calendar.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}, **ERRORS},
    summary="A person's bookings as an iCalendar feed",
)
def person_feed(
    person: PersonQuery,
    caller: Reader,
    session: SessionDep,
    now: NowDep,
    rules: BookingRulesDep,
    start: RangeStart = None,
    end: RangeEnd = None,
) -> Response:
    require_own(caller, person, what="bookings")
    first, last = calendars.feed_range(start, end, now=now, horizon=rules.horizon)
    feed = calendars.person_calendar(session, email=person, start=first, end=last, now=now)
    return Response(content=feed, media_type=CALENDAR_TYPE)


@router.get("/bookings/{booking_id}", response_model=BookingPublic, responses=ERRORS, summary="One booking")
def get_booking(booking_id: RowId, _caller: Reader, session: SessionDep, zone: SiteZoneDep) -> BookingPublic:
    return BookingPublic.of(bookings.get_booking(session, booking_id), zone)


@router.patch(
    "/bookings/{booking_id}", response_model=BookingPublic, responses=ERRORS, summary="Rename, move or re-invite"
)
def update_booking(
    booking_id: RowId,
    body: BookingUpdate,
    caller: Booker,
    session: SessionDep,
    zone: SiteZoneDep,
    now: NowDep,
    rules: BookingRulesDep,
) -> BookingPublic:
    _own_booking(caller, session, booking_id)
    booking = bookings.update_booking(
        session,
        actor=caller.actor,
        booking_id=booking_id,
        title=body.title,
        start=body.start,
        end=body.end,
        room_id=body.room_id,
        attendees=body.attendees,
        private=body.private,
        now=now,
        rules=rules,
    )
    session.commit()
    return BookingPublic.of(booking, zone)


@router.post(
    "/bookings/{booking_id}/cancel",
    response_model=BookingPublic,
    responses=ERRORS,
    summary="Cancel a booking (one meeting of a series; with following=true, that one and all after it)",
)
def cancel_booking(
    booking_id: RowId,
    caller: Booker,
    session: SessionDep,
    zone: SiteZoneDep,
    now: NowDep,
    following: Annotated[bool, Query(description="Also cancel the series' later meetings")] = False,
) -> BookingPublic:
    _own_booking(caller, session, booking_id)
    booking = bookings.cancel_booking(
        session, booking_id=booking_id, and_following=following, now=now, actor=caller.actor
    )
    session.commit()
    return BookingPublic.of(booking, zone)


@router.post(
    "/bookings/{booking_id}/extend", response_model=BookingPublic, responses=ERRORS, summary="Make a booking longer"
)
def extend_booking(
    booking_id: RowId,
    body: Extension,
    caller: Booker,
    session: SessionDep,
    zone: SiteZoneDep,
    now: NowDep,
    rules: BookingRulesDep,
) -> BookingPublic:
    _own_booking(caller, session, booking_id)
    booking = bookings.extend_booking(
        session, booking_id=booking_id, minutes=body.minutes, now=now, rules=rules, actor=caller.actor
    )
    session.commit()
    return BookingPublic.of(booking, zone)


@router.post(
    "/bookings/{booking_id}/end", response_model=BookingPublic, responses=ERRORS, summary="End a meeting early"
)
def end_booking(
    booking_id: RowId, caller: Booker, session: SessionDep, zone: SiteZoneDep, now: NowDep
) -> BookingPublic:
    _own_booking(caller, session, booking_id)
    booking = bookings.end_booking(session, booking_id=booking_id, now=now, actor=caller.actor)
    session.commit()
    return BookingPublic.of(booking, zone)


@router.post(
    "/bookings/{booking_id}/check-in",
    response_model=BookingPublic,
    responses=ERRORS,
    summary="Check in: the meeting's people are there",
)
def check_in(
    booking_id: RowId, caller: Booker, session: SessionDep, zone: SiteZoneDep, now: NowDep, rules: BookingRulesDep
) -> BookingPublic:
    _own_booking(caller, session, booking_id)
    booking = bookings.check_in(session, booking_id=booking_id, now=now, rules=rules, actor=caller.actor)
    session.commit()
    return BookingPublic.of(booking, zone)


@router.post(
    "/series", status_code=201, response_model=SeriesPublic, responses=ERRORS, summary="Book a room by an RRULE"
)
def create_series(
    body: SeriesCreate, caller: Booker, session: SessionDep, zone: SiteZoneDep, now: NowDep, rules: BookingRulesDep
) -> SeriesPublic:
    require_own(caller, body.organiser.email, what="bookings")
    series = bookings.create_series(
        session,
        actor=caller.actor,
        room_id=body.room_id,
        title=body.title,
        start=body.start,
        end=body.end,
        rrule=body.rrule,
        exdates=body.exdates,
        organiser=Person(email=body.organiser.email, name=body.organiser.name),
        attendees=body.attendees,
        private=body.private,
        source=body.source,
        now=now,
        rules=rules,
    )
    session.commit()
    return SeriesPublic.of(series, bookings.series_occurrences(session, series_id=series.id), zone)


@router.get("/series/{series_id}", response_model=SeriesPublic, responses=ERRORS, summary="A series and its meetings")
def get_series(series_id: RowId, _caller: Reader, session: SessionDep, zone: SiteZoneDep) -> SeriesPublic:
    series = bookings.get_series(session, series_id)
    return SeriesPublic.of(series, bookings.series_occurrences(session, series_id=series.id), zone)


@router.post(
    "/series/{series_id}/cancel",
    response_model=SeriesPublic,
    responses=ERRORS,
    summary="Cancel a series from a meeting on (default: from now)",
)
def cancel_series(
    series_id: RowId,
    caller: Booker,
    session: SessionDep,
    zone: SiteZoneDep,
    now: NowDep,
    body: SeriesCancel | None = None,
) -> SeriesPublic:
    _own_series(caller, session, series_id)
    from_start = body.from_start if body else None
    bookings.cancel_series(session, series_id=series_id, from_start=from_start, now=now, actor=caller.actor)
    session.commit()
    return get_series(series_id, caller, session, zone)


@router.post(
    "/series/{series_id}/exceptions",
    response_model=SeriesPublic,
    responses=ERRORS,
    summary="Cancel or move one meeting of a series",
)
def series_exception(
    series_id: RowId,
    body: SeriesException,
    caller: Booker,
    session: SessionDep,
    zone: SiteZoneDep,
    now: NowDep,
    rules: BookingRulesDep,
) -> SeriesPublic:
    _own_series(caller, session, series_id)
    if body.action == "cancel":
        bookings.cancel_occurrence(
            session, series_id=series_id, occurrence_start=body.occurrence_start, now=now, actor=caller.actor
        )
    else:
        assert body.start is not None and body.end is not None
        bookings.move_occurrence(
            session,
            series_id=series_id,
            occurrence_start=body.occurrence_start,
            start=body.start,
            end=body.end,
            now=now,
            rules=rules,
            actor=caller.actor,
        )
    session.commit()
    return get_series(series_id, caller, session, zone)


def _own_booking(caller: Principal, session: SessionDep, booking_id: RowId) -> None:
    require_own(caller, bookings.get_booking(session, booking_id).organiser_email, what="bookings")


def _own_series(caller: Principal, session: SessionDep, series_id: RowId) -> None:
    require_own(caller, bookings.get_series(session, series_id).organiser_email, what="bookings")
