"""What people were told: the notifications page."""

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
from engine import notifications

router = APIRouter(include_in_schema=False)


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, viewer: Viewer, session: SessionDep) -> HTMLResponse:
    return render(request, "notifications.html", viewer, section="notifications",
                  items=notifications.recent(session, viewer.principal.username))


@router.post("/notifications")
def read_all(viewer: Viewer, posted: Posted, session: SessionDep, services: ServicesDep) -> Response:
    check_csrf(posted, viewer)
    notifications.mark_all_read(session, viewer.principal.username, services.ctx.clock())
    return see_other("/notifications")


