"""The FastAPI application: routes, and the one translation of AtriumError into HTTP."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from hub.api.access import declare_access
from hub.api.routes import (
    admin,
    auth,
    badges,
    bookings,
    devices,
    energy,
    facilities,
    health,
    ingest,
    panel,
    rooms,
    tickets,
    visits,
)
from hub.api.state import AppState
from hub.errors import AtriumError, TooManyAttempts, Unauthenticated
from hub.runtime import Database, Hub
from hub.settings import Settings

API_DESCRIPTION = """Atrium's hub: rooms and bookings, visitors, facilities records, and the devices that feed them.

Every route but a few says who may call it (**Who may call**, and `x-atrium-roles` in this document).
People sign in at `/auth/token` (OAuth2 password flow) and send `Authorization: Bearer <token>`;
kiosks, room panels and integrations send their API key the same way (`atrium keys create`).
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
    routers = (
        health,
        auth,
        admin,
        devices,
        ingest,
        rooms,
        bookings,
        panel,
        visits,
        badges,
        facilities,
        tickets,
        energy,
    )
    for module in routers:
        declare_access(module.router)
        app.include_router(module.router)
    return app


async def _atrium_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AtriumError)
    content = {"detail": str(error)}
    reason = getattr(error, "reason", None)
    if reason is not None:
        content["reason"] = str(reason)
    headers = {}
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, TooManyAttempts):
        headers["Retry-After"] = str(error.retry_after_s)
    return JSONResponse(status_code=error.status_code, content=content, headers=headers)
