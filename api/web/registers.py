"""Registers and the dashboard: the directive register, the pledge board, at a glance."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import ServicesDep, SessionDep
from api.web.common import (
    Viewer,
    render,
)
from engine import registry

router = APIRouter(include_in_schema=False)


@router.get("/directives", response_class=HTMLResponse)
def directives_page(
    request: Request, viewer: Viewer, session: SessionDep, services: ServicesDep,
    department: str | None = None, status: str | None = None, overdue: str | None = None,
) -> HTMLResponse:
    register = registry.directives(session, services.ctx.clock(), department=department or None,
                                   status=status or None, overdue=True if overdue == "1" else None)
    return render(request, "directives.html", viewer, section="directives", register=register,
                  filters={"department": department, "status": status, "overdue": overdue},
                  statuses=registry.DIRECTIVE_STATUSES)


@router.get("/pledges", response_class=HTMLResponse)
def pledges_page(
    request: Request, viewer: Viewer, session: SessionDep,
    department: str | None = None, status: str | None = None,
) -> HTMLResponse:
    board = registry.pledges(session, department=department or None, status=status or None)
    return render(request, "pledges.html", viewer, section="pledges", board=board,
                  filters={"department": department, "status": status}, statuses=registry.PLEDGE_STATUSES)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, viewer: Viewer, session: SessionDep, services: ServicesDep) -> HTMLResponse:
    """At a glance (의사결정지원): directives, 이행률, pledges, approvals waiting, field reports open."""
    now = services.ctx.clock()
    register = registry.directives(session, now)
    waiting = registry.waiting_tasks(session, "approval", now)
    return render(request, "dashboard.html", viewer, section="dashboard", register=register,
                  board=registry.pledges(session), approvals=waiting,
                  field_reports=registry.open_by(session, "field_report", "category"))


