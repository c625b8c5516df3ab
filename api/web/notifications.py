"""What people were told: the notifications page, each note with its case's process in the reader's language."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import ServicesDep, SessionDep
from api.web.common import (
    Posted,
    Viewer,
    check_csrf,
    process_labels,
    process_names,
    render,
    see_other,
)
from api.web.i18n import translations
from engine import notifications
from engine.labels import NONE, Labels
from engine.models import Notification

router = APIRouter(include_in_schema=False)


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, viewer: Viewer, session: SessionDep) -> HTMLResponse:
    items = notifications.recent(session, viewer.principal.username)
    names, labels = process_names(session, viewer.locale), process_labels(session)
    keys = notifications.processes_of(session, items)
    process_of = {instance_id: names.get(key, key) for instance_id, key in keys.items()}
    links = notifications.current_link(items, notifications.open_task_ids(session, items))
    titles = {note.id: _title(note, labels.get(keys.get(note.instance_id or "", ""), NONE), viewer.locale)
              for note in items}
    return render(request, "notifications.html", viewer, section="notifications", items=items,
                  process_of=process_of, links=links, titles=titles)


_ARRIVAL = notifications.ARRIVAL_TITLE.split("{task}")[0]


def _title(note: Notification, labels: Labels, locale: str) -> str:
    """A notice's title as written, but a task's arrival says its task in the reader's language."""
    if note.title.startswith(_ARRIVAL) and locale != "ko":
        task = note.title.removeprefix(_ARRIVAL)
        return translations(locale).gettext("New task: %(task)s") % {"task": labels.by_name(task, locale)}
    return note.title


@router.post("/notifications")
def read_all(viewer: Viewer, posted: Posted, session: SessionDep, services: ServicesDep) -> Response:
    check_csrf(posted, viewer)
    notifications.mark_all_read(session, viewer.principal.username, services.ctx.clock())
    return see_other("/notifications")


