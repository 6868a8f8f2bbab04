"""The FastAPI application: routes, and the one translation of AtriumError into HTTP."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from hub.api.routes import badges, bookings, devices, energy, facilities, health, ingest, panel, rooms, tickets, visits
from hub.api.state import AppState
from hub.errors import AtriumError
from hub.runtime import Database, Hub
from hub.settings import Settings

API_DESCRIPTION = """Atrium's hub: the device registry, what devices said, how the ingest is doing, and meeting rooms.
Interactive docs are at `/docs`."""


def create_app(settings: Settings, *, hub: Hub | None = None, run_hub: bool = False) -> FastAPI:
    """The API over ``settings.database_url``; with ``run_hub`` the app starts and stops ``hub`` itself."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if hub is not None and run_hub:
            hub.start()
        database = hub.database if hub is not None and hub.database is not None else None
        own_database = database is None
        if database is None:
            database = Database.open(settings.database_url)
        app.state.atrium = AppState(database=database, hub=hub, settings=settings)
        try:
            yield
        finally:
            if hub is not None and run_hub:
                hub.stop()
            elif own_database:
                database.close()

    app = FastAPI(title="Atrium hub", version="0.1.0", description=API_DESCRIPTION, lifespan=lifespan)
    app.add_exception_handler(AtriumError, _atrium_error)
    for module in (health, devices, ingest, rooms, bookings, panel, visits, badges, facilities, tickets, energy):
        app.include_router(module.router)
    return app


async def _atrium_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AtriumError)
    content = {"detail": str(error)}
    reason = getattr(error, "reason", None)
    if reason is not None:
        content["reason"] = str(reason)
    return JSONResponse(status_code=error.status_code, content=content)
