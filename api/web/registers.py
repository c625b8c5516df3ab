"""Registers and the dashboard: the directive register, the pledge board, at a glance — each read
from the register its process declares (``register.json``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import ServicesDep, SessionDep
from api.web.common import (
    Viewer,
    render,
)
from engine import registry
from engine.errors import ProcessNotFound

router = APIRouter(include_in_schema=False)
T = TypeVar("T")


@router.get("/directives", response_class=HTMLResponse)
def directives_page(
    request: Request, viewer: Viewer, session: SessionDep, services: ServicesDep,
    department: str | None = None, status: str | None = None, overdue: str | None = None, offset: int = 0,
) -> HTMLResponse:
    filters = {"department": department, "status": status, "overdue": True if overdue == "1" else None}
    register = registry.register(session, "directive", services.ctx.clock(), filters=filters, offset=offset,
                                 reader=viewer.principal)
    return render(request, "directives.html", viewer, section="directives", register=register,
                  filters={"department": department, "status": status, "overdue": overdue})


@router.get("/pledges", response_class=HTMLResponse)
def pledges_page(
    request: Request, viewer: Viewer, session: SessionDep,
    department: str | None = None, status: str | None = None, offset: int = 0,
) -> HTMLResponse:
    board = registry.register(session, "pledge", filters={"department": department, "status": status}, offset=offset,
                              reader=viewer.principal)
    return render(request, "pledges.html", viewer, section="pledges", board=board,
                  filters={"department": department, "status": status})


def _deployed(read: Callable[[], T]) -> T | None:
    """What a part of the dashboard shows, or None while its process is not deployed."""
    try:
        return read()
    except ProcessNotFound:
        return None


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, viewer: Viewer, session: SessionDep, services: ServicesDep) -> HTMLResponse:
    """At a glance (의사결정지원): directives, 이행률, pledges, approvals waiting, field reports open."""
    now = services.ctx.clock()
    return render(
        request, "dashboard.html", viewer, section="dashboard",
        register=_deployed(lambda: registry.register(session, "directive", now, limit=0)),
        board=_deployed(lambda: registry.register(session, "pledge", limit=0)),
        approvals=registry.waiting_tasks(session, "approval", now, reader=viewer.principal),
        field_reports=_deployed(lambda: registry.open_by(session, "field_report", "category")) or {},
    )
