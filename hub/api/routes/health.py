"""Liveness and readiness of the hub's parts."""

import sqlalchemy as sa
from fastapi import APIRouter

from hub.api.access import PUBLIC
from hub.api.deps import SessionDep, StateDep
from hub.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=Health,
    summary="Is the hub up, and can it reach its database and broker?",
    dependencies=[PUBLIC],
)
def health(state: StateDep, session: SessionDep) -> Health:
    try:
        session.execute(sa.text("SELECT 1"))
        database = "ok"
    except sa.exc.SQLAlchemyError:
        database = "unreachable"
    hub = state.hub
    if hub is None or hub.connection is None:
        mqtt = "not running"
    else:
        mqtt = "connected" if hub.connection.connected else "reconnecting"
    status = "ok" if database == "ok" and mqtt != "reconnecting" else "degraded"
    return Health(status=status, database=database, mqtt=mqtt, site=hub.site_id if hub else None)
