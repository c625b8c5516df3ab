"""What people were told: the notifications page, each note with its case's process in the reader's language."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import ServicesDep, SessionDep
from api.web.common import (
    Posted,
    Viewer,
    check_csrf,
    process_names,
    render,
    see_other,
)
from engine import notifications

router = APIRouter(include_in_schema=False)


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, viewer: Viewer, session: SessionDep) -> HTMLResponse:
    items = notifications.recent(session, viewer.principal.username)
    names = process_names(session, viewer.locale)
    process_of = {instance_id: names.get(key, key)
                  for instance_id, key in notifications.processes_of(session, items).items()}
    links = notifications.current_link(items, notifications.open_task_ids(session, items))
    return render(request, "notifications.html", viewer, section="notifications", items=items,
                  process_of=process_of, links=links)


@router.post("/notifications")
def read_all(viewer: Viewer, posted: Posted, session: SessionDep, services: ServicesDep) -> Response:
    check_csrf(posted, viewer)
    notifications.mark_all_read(session, viewer.principal.username, services.ctx.clock())
    return see_other("/notifications")


