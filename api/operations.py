"""What an operator needs from the running app: ``/healthz``, ``/readyz``, ``/metrics`` and request ids.

- ``GET /healthz`` — the process answers (no database: a load balancer may ask often).
- ``GET /readyz`` — it can serve: the database answers and its schema is at the newest migration;
  else 503 with the reason in a line.
- ``GET /metrics`` — Prometheus text (engine/metrics.py). No login, as a scraper has none: with
  ``CITYFLOW_METRICS_TOKEN`` set, a scraper sends it as a bearer token (from anywhere); without it,
  only this machine may read them (a loopback address, and no proxy's forwarding header).
- Every request gets an id (a sane ``X-Request-ID`` from the caller or a proxy is kept), answered in
  ``X-Request-ID`` and named on each log line written meanwhile (api/logs.py), the access log's included.

A worker on a host of its own answers ``/healthz``, ``/readyz`` and ``/metrics`` on a port of its own
(``worker_app``), so that it is watched and scraped like a server.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.datastructures import MutableHeaders
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import logs
from api.deps import Public, ServicesDep
from engine import metrics
from engine.config import Settings
from engine.db import Database
from engine.migrate import not_ready
from engine.worker import Worker

router = APIRouter(include_in_schema=False, dependencies=[Public])

# A request through a reverse proxy comes from loopback too: these headers say it came from further away.
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


@router.get("/healthz")
def healthz() -> PlainTextResponse:
    """The process is alive."""
    return PlainTextResponse("ok\n")


@router.get("/readyz")
def readyz(services: ServicesDep) -> PlainTextResponse:
    """The process can serve: its database answers, at the schema this code needs."""
    return readiness(services.database)


@router.get("/metrics")
def metrics_page(request: Request, services: ServicesDep) -> Response:
    """Prometheus metrics, to the scraper the settings admit."""
    return metrics_answer(request, services.settings, services.database, services.ctx.clock)


def readiness(database: Database) -> PlainTextResponse:
    """``ready``, or 503 and why not, for a server and a worker alike."""
    reason = not_ready(database.engine)
    if reason is not None:
        return PlainTextResponse(f"not ready: {reason}\n", status_code=503)
    return PlainTextResponse("ready\n")


def metrics_answer(request: Request, settings: Settings, database: Database, clock: Callable[[], datetime]) -> Response:
    """The metrics, or the refusal this caller gets, for a server and a worker alike."""
    refusal = scraper_refused(request, settings.metrics_token)
    if refusal is not None:
        return refusal
    body, content_type = metrics.scrape(database, clock, request.headers.get("accept"))
    return Response(body, media_type=content_type)


def scraper_refused(request: Request, token: str | None) -> Response | None:
    """Why this caller may not read the metrics (an answer to send), or None when it may."""
    if token:
        scheme, _, sent = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode()):
            return None
        return PlainTextResponse("send the metrics token: 'Authorization: Bearer <CITYFLOW_METRICS_TOKEN>'\n",
                                 status_code=401, headers={"WWW-Authenticate": "Bearer"})
    host = request.client.host if request.client else ""
    try:
        local = ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = False
    if local and not any(name in request.headers for name in FORWARDING_HEADERS):
        return None
    return PlainTextResponse("metrics are served to this machine only; set CITYFLOW_METRICS_TOKEN to let a "
                             "scraper elsewhere read them\n", status_code=403)


def route_of(scope: Scope) -> str:
    """The template of the route that answered (``/api/tasks/{task_id}``), never the path with its ids."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return "unmatched"
    return f"{path}/{{path}}" if isinstance(route, Mount) else path or "/"


class RequestTracking:
    """Outermost layer: gives the request its id, answers it in ``X-Request-ID``, counts and times it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"x-request-id"), None)
        request_id = logs.adopt_or_new(incoming)
        # Left set when the request ends: the server's own lines about it (a traceback) follow in this task.
        logs.request_id.set(request_id)
        status = 500
        started = time.perf_counter()

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[logs.HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            metrics.count_request(scope["method"], route_of(scope), status, time.perf_counter() - started)


def install(app: FastAPI) -> None:
    """The routes, and request tracking around everything else — the server-error handler included, so
    that a 500 is counted, carries its id, and its logged traceback names it."""
    app.include_router(router)
    inner = app.build_middleware_stack

    def build() -> ASGIApp:
        return RequestTracking(inner())

    app.build_middleware_stack = build  # type: ignore[method-assign]


# -- a worker's own address ------------------------------------------------------------------------


def worker_app(settings: Settings, database: Database, clock: Callable[[], datetime], worker: Worker) -> FastAPI:
    """What a ``cityflow worker`` on a host of its own answers (``--metrics-port``): ``/healthz`` (503 while it
    is stuck in a pass), ``/readyz`` and ``/metrics``, under the same rules as a server's."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/healthz")
    def worker_healthz() -> PlainTextResponse:
        stuck = worker.stuck()
        return PlainTextResponse(f"stuck: {stuck}\n", status_code=503) if stuck else PlainTextResponse("ok\n")

    @app.get("/readyz")
    def worker_readyz() -> PlainTextResponse:
        return readiness(database)

    @app.get("/metrics")
    def worker_metrics(request: Request) -> Response:
        return metrics_answer(request, settings, database, clock)

    return app
