"""The web application: the JSON API under ``/api`` and the server-rendered pages."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from api import errors
from api.deps import Services
from api.form_check import check_form
from api.routes import audit, auth, events, instances, processes, registry, tasks
from engine.attachments import BlobStore
from engine.config import Settings, get_settings
from engine.context import EngineContext
from engine.db import Database

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def create_app(
    settings: Settings | None = None, database: Database | None = None, ctx: EngineContext | None = None
) -> FastAPI:
    """Build the app; tests pass their own database and engine context."""
    settings = settings or get_settings()
    database = database or Database(settings.database_url)
    ctx = ctx or EngineContext.create(settings.script_time_limit)
    if ctx.form_check is None:  # the engine validates submissions with the forms package's rules
        ctx = dataclasses.replace(ctx, form_check=check_form)
    app = FastAPI(
        title="cityflow",
        summary="Work management for city hall, run as BPMN",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.services = Services(settings, database, ctx, BlobStore(settings.attachments_dir))
    errors.install(app)
    for module in (auth, processes, instances, tasks, audit, events, registry):
        app.include_router(module.router)

    from api.web import pages

    app.include_router(pages.router)
    pages.mount_static(app)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return app
