"""The room panel: a wall tablet's page, its live state (server-sent events) and its buttons."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from devices.payloads import DisplayButton, ShowRoomState
from hub.api.access import BearerDep, RoleGate, allow
from hub.api.deps import BookingRulesDep, NowDep, SessionDep, StateDep
from hub.api.schemas import ErrorBody
from hub.api.state import AppState
from hub.errors import Forbidden, NotFound, Unauthenticated
from hub.services.principals import Principal, Role
from hub.services.room_automation import press_button
from hub.services.room_displays import room_display_state
from hub.store.booking_models import BookingSource
from hub.store.models import Room

router = APIRouter(prefix="/panel", tags=["panel"])
PAGE = Path(__file__).resolve().parents[2] / "web" / "panel.html"
PUSH_EVERY_S = 1.0
STREAM_FOR_S = 300.0
"""A stream ends after this long and the browser reconnects, so a revoked key is refused within minutes."""
RECONNECT_AFTER_MS = 2000
PanelCaller = Annotated[Principal, allow(Role.PANEL)]
"""The room's own panel key (as a bearer, or as ``?token=`` for the page and its events), or an admin."""


class PageGate(RoleGate):
    """The panel gate for the page itself: a browser that is refused still gets the page, which says why.

    A tablet restarted with a revoked key would otherwise show bare JSON; API clients still get the error.
    """

    def __call__(  # type: ignore[override]  # a refusal is handed to the page instead of raised
        self, request: Request, state: StateDep, session: SessionDep, now: NowDep, token: BearerDep
    ) -> Principal | Unauthenticated | Forbidden:
        try:
            return super().__call__(request, state, session, now, token)
        except (Unauthenticated, Forbidden) as refusal:
            if "text/html" not in request.headers.get("accept", ""):
                raise
            return refusal


PageCaller = Annotated[Principal | Unauthenticated | Forbidden, Depends(PageGate(frozenset({Role.PANEL})))]


class Press(BaseModel):
    """A button pressed on the panel."""

    button: DisplayButton
    minutes: int | None = Field(default=None, ge=5, le=240)
    note: str | None = Field(default=None, max_length=200)


def _room_exists(session: Session, room_id: str) -> None:
    if session.get(Room, room_id) is None:
        raise NotFound(f"no room {room_id!r}")


def _state_now(state: AppState, room_id: str) -> ShowRoomState:
    with state.database.sessions() as session:
        return room_display_state(session, room_id, datetime.now(UTC))


@router.get("/{room_id}", response_class=HTMLResponse, summary="The wall-tablet page of a room")
def panel_page(room_id: str, caller: PageCaller, session: SessionDep) -> HTMLResponse:
    page = PAGE.read_text(encoding="utf-8")
    if isinstance(caller, Unauthenticated | Forbidden):
        return HTMLResponse(page, status_code=caller.status_code)
    _room_exists(session, room_id)
    return HTMLResponse(page)


@router.get(
    "/{room_id}/state",
    response_model=ShowRoomState,
    responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
    summary="What the room's door displays show now",
)
def panel_state(room_id: str, _caller: PanelCaller, session: SessionDep) -> ShowRoomState:
    _room_exists(session, room_id)
    return room_display_state(session, room_id, datetime.now(UTC))


@router.get("/{room_id}/events", summary="The room's state as server-sent events, sent when it changes")
async def panel_events(
    room_id: str, request: Request, _caller: PanelCaller, session: SessionDep, state: StateDep
) -> StreamingResponse:
    await run_in_threadpool(_room_exists, session, room_id)
    # The request's session would stay open for as long as the stream (holding SQLite's write lock): end it now.
    await run_in_threadpool(session.close)

    async def stream() -> AsyncIterator[str]:
        yield f"retry: {RECONNECT_AFTER_MS}\n\n"
        last = ""
        end_at = asyncio.get_running_loop().time() + STREAM_FOR_S
        while not await request.is_disconnected() and asyncio.get_running_loop().time() < end_at:
            current = await run_in_threadpool(_state_now, state, room_id)
            shown = current.model_dump_json(exclude={"id", "ts"})
            if shown != last:
                last = shown
                yield f"data: {json.dumps(current.model_dump(mode='json'))}\n\n"
            await asyncio.sleep(PUSH_EVERY_S)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


@router.post(
    "/{room_id}/press",
    status_code=204,
    responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
    summary="Press a button of the room's panel (book now, check in, extend, end, report a problem)",
)
def panel_press(
    room_id: str, press: Press, _caller: PanelCaller, session: SessionDep, now: NowDep, rules: BookingRulesDep
) -> Response:
    _room_exists(session, room_id)
    press_button(
        session,
        room_id=room_id,
        button=press.button,
        minutes=press.minutes,
        note=press.note,
        source=BookingSource.PANEL,
        now=now,
        rules=rules,
    )
    session.commit()
    return Response(status_code=204)
