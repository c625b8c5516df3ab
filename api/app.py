"""The web application: the JSON API under ``/api`` and the server-rendered pages."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from api import errors, operations
from api.deps import Public, Services
from api.form_check import check_form
from api.guard import InputGuard, OriginCheck
from api.routes import (
    absences,
    audit,
    auth,
    events,
    external_tasks,
    instances,
    open311,
    people,
    persons,
    processes,
    records,
    registry,
    remarks,
    schedule,
    tasks,
)
from engine import process
from engine.attachments import BlobStore
from engine.config import Settings, get_settings
from engine.context import EngineContext
from engine.db import Database

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.services.ctx.start_script_processes()
    yield


def create_app(
    settings: Settings | None = None, database: Database | None = None, ctx: EngineContext | None = None
) -> FastAPI:
    """Build the app; tests pass their own database and engine context."""
    settings = settings or get_settings()
    database = database or Database(settings.database_url)
    ctx = ctx or EngineContext.create(settings.script_time_limit, max_data_bytes=settings.max_data_bytes)
    if ctx.form_check is None:  # the engine validates submissions with the forms package's rules
        ctx = dataclasses.replace(ctx, form_check=check_form)
    app = FastAPI(
        lifespan=_lifespan,
        title="cityflow",
        summary="Work management for city hall, run as BPMN",
        openapi_url="/api/openapi.json",
        docs_url=None,  # served below from the installed Swagger UI: a city intranet reaches no CDN
        redoc_url=None,
    )
    app.state.services = Services(settings, database, ctx, BlobStore(settings.attachments_dir))
    errors.install(app)
    app.add_middleware(InputGuard, max_body=settings.max_body_bytes, max_upload=settings.upload_limit)
    app.add_middleware(OriginCheck, allowed=settings.allowed_origins)
    for module in (auth, processes, instances, tasks, audit, events, registry, absences, people, schedule, remarks,
                   records, persons, open311, external_tasks):
        app.include_router(module.router)
    app.include_router(schedule.feeds)

    mount_api_docs(app)

    from api.web import pages

    app.include_router(pages.router)
    pages.mount_static(app)

    app.add_middleware(SecurityHeaders, headers={**SECURITY_HEADERS, "Content-Security-Policy": page_policy(settings)})
    operations.install(app)  # /healthz, /readyz, /metrics; request ids and counts around everything
    return app


def served_app() -> FastAPI:
    """The app in a process of ``cityflow serve``: built, then what it built set aside from the garbage
    collector (``engine.process.settle``)."""
    app = create_app()
    process.settle()
    return app


class SecurityHeaders:
    """The headers every answer carries unless it set its own (a file's stricter policy stays:
    api/routes/instances.py), added as the answer starts: plain ASGI, nothing held per request."""

    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _value in message.get("headers", [])}
                extra = [(name, value) for name, value in self.headers if name not in present]
                if extra:
                    message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def page_policy(settings: Settings, scripts: str = "'self'") -> str:
    """Everything from this site only: scripts from its files (no inline script, no handler in an
    attribute), images also from the map's tile server when one is set; forms post only here; no
    plugins, no framing. Inline styles stay allowed (a style cannot run code)."""
    images = " ".join(filter(None, ("'self'", "data:", "blob:", settings.map_tiles_origin)))
    return (f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; img-src {images}; "
            "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
            "frame-ancestors 'none'")


DOCS_ASSETS = "/api/docs-assets"
VIEWER_OPENAPI = "/api/docs/openapi.json"


def mount_api_docs(app: FastAPI) -> None:
    """Swagger UI at ``/api/docs``, its scripts and styles from the ``swagger-ui-bundle`` package."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="api-docs-assets")

    @app.get("/api/docs", include_in_schema=False, dependencies=[Public])
    def api_docs() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=VIEWER_OPENAPI,
            title=f"{app.title} API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )
        # Swagger UI starts from one inline script: that script alone is allowed, by its hash.
        inline = re.findall(rb"<script>(.*?)</script>", page.body, re.S)
        hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'" for body in inline)
        page.headers["Content-Security-Policy"] = page_policy(app.state.services.settings, f"'self' {hashes}")
        return page

    @app.get(VIEWER_OPENAPI, include_in_schema=False, dependencies=[Public])
    def viewer_openapi() -> dict[str, Any]:
        # The packaged Swagger UI (4.x) refuses a document that says 3.1 and renders FastAPI's 3.1 output
        # well when told 3.0; /api/openapi.json itself stays as FastAPI writes it.
        return {**app.openapi(), "openapi": "3.0.3"}
