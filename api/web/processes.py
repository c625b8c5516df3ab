"""The processes people can start."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import ServicesDep, SessionDep
from api.web.common import (
    Posted,
    Viewer,
    check_csrf,
    render,
    see_other,
)
from engine import access, commands, definitions, worklist

router = APIRouter(include_in_schema=False)


@router.get("/processes", response_class=HTMLResponse)
def processes_page(request: Request, viewer: Viewer, session: SessionDep) -> HTMLResponse:
    return render(request, "processes.html", viewer, section="processes",
                  processes=definitions.latest_versions(session),
                  can_start=viewer.principal.has_role("staff", "designer", "admin"))


@router.post("/processes/{key}/start")
def start(key: str, viewer: Viewer, posted: Posted, session: SessionDep, services: ServicesDep) -> Response:
    check_csrf(posted, viewer)
    title = str(posted.get("title") or "").strip()
    instance = commands.start(session, services.ctx, viewer.principal, key, {"title": title} if title else {})
    mine = [t for t in worklist.tasks_of(session, instance.id) if access.acting_for(viewer.principal, t)]
    return see_other(f"/tasks/{mine[0].id}" if mine else f"/instances/{instance.id}")


