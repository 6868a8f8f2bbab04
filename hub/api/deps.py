"""Dependencies shared by every route, declared once as ``Annotated`` aliases."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from hub.api.state import AppState


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.atrium
    return state


def get_session(state: Annotated[AppState, Depends(get_state)]) -> Iterator[Session]:
    with state.database.sessions() as session:
        yield session


StateDep = Annotated[AppState, Depends(get_state)]
SessionDep = Annotated[Session, Depends(get_session)]
