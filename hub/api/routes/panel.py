"""The room panel: a wall tablet's page, its live state (server-sent events) and its buttons."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BaseModel, Field

from devices.payloads import DisplayButton, ShowRoomState
from hub.api.deps import BookingRulesDep, NowDep, StateDep
from hub.api.schemas import ErrorBody
from hub.api.state import AppState
from hub.errors import NotFound
from hub.services.panel_tokens import check_panel_token, site_secret
from hub.services.room_automation import press_button
from hub.services.room_displays import room_display_state
from hub.store.booking_models import BookingSource
from hub.store.models import Room

router = APIRouter(prefix="/panel", tags=["panel"])
PAGE = Path(__file__).resolve().parents[2] / "web" / "panel.html"
PUSH_EVERY_S = 1.0
TokenQuery = Annotated[str | None, Query(description="The room's panel token")]


class Press(BaseModel):
    """A button pressed on the panel."""

    button: DisplayButton
    minutes: int | None = Field(default=None, ge=5, le=240)
    note: str | None = Field(default=None, max_length=200)


def _authorised(state: AppState, room_id: str, token: str | None) -> None:
    if state.settings is None:
        raise NotFound("panels need the hub's settings")
    with state.database.sessions() as session:
        if session.get(Room, room_id) is None:
            raise NotFound(f"no room {room_id!r}")
    check_panel_token(site_secret(state.settings), room_id, token)


def _state_now(state: AppState, room_id: str) -> ShowRoomState:
    with state.database.sessions() as session:
        return room_display_state(session, room_id, datetime.now(UTC))


@router.get("/{room_id}", response_class=HTMLResponse, summary="The wall-tablet page of a room")
def panel_page(room_id: str, state: StateDep, token: TokenQuery = None) -> HTMLResponse:
    _authorised(state, room_id, token)
    return HTMLResponse(PAGE.read_text(encoding="utf-8"))


@router.get(
    "/{room_id}/state",
    response_model=ShowRoomState,
    responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
    summary="What the room's door displays show now",
)
def panel_state(room_id: str, state: StateDep, token: TokenQuery = None) -> ShowRoomState:
    _authorised(state, room_id, token)
    return _state_now(state, room_id)


@router.get("/{room_id}/events", summary="The room's state as server-sent events, sent when it changes")
async def panel_events(room_id: str, request: Request, state: StateDep, token: TokenQuery = None) -> StreamingResponse:
    await run_in_threadpool(_authorised, state, room_id, token)

    async def stream() -> AsyncIterator[str]:
        last = ""
        while not await request.is_disconnected():
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
    room_id: str, press: Press, state: StateDep, now: NowDep, rules: BookingRulesDep, token: TokenQuery = None
) -> Response:
    _authorised(state, room_id, token)
    with state.database.sessions.begin() as session:
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
    return Response(status_code=204)
