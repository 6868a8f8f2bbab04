"""Dependencies shared by every route, declared once as ``Annotated`` aliases."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from hub.api.state import AppState
from hub.services.bookings import DEFAULT_RULES, BookingRules, site_zone


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.atrium
    return state


def get_session(state: Annotated[AppState, Depends(get_state)]) -> Iterator[Session]:
    with state.database.sessions() as session:
        yield session


MAX_ROW_ID = 2**63 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="A row's number")]
"""A numeric id in a path, bounded to what the database holds (a larger one would be a 500, not a 404)."""
MAX_OFFSET = 2**31
"""Paging further than this is a 422, not an integer the database cannot hold."""
StateDep = Annotated[AppState, Depends(get_state)]
SessionDep = Annotated[Session, Depends(get_session)]


def utc_now() -> datetime:
    """The one place a request reads the clock; services are given ``now``."""
    return datetime.now(UTC)


def get_booking_rules(state: StateDep) -> BookingRules:
    return BookingRules.from_settings(state.settings) if state.settings is not None else DEFAULT_RULES


def get_site_zone(session: SessionDep) -> ZoneInfo:
    return site_zone(session)


NowDep = Annotated[datetime, Depends(utc_now)]
BookingRulesDep = Annotated[BookingRules, Depends(get_booking_rules)]
SiteZoneDep = Annotated[ZoneInfo, Depends(get_site_zone)]
