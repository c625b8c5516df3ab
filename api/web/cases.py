"""A case (instance) as people read it: its story, diagram, comments and files; cancelling it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from starlette.datastructures import UploadFile

from api.deps import ServicesDep, SessionDep
from api.diagram import render_svg
from api.routes.instances import instance_marks
from api.web.common import (
    Posted,
    Viewer,
    check_csrf,
    render,
    see_other,
)
from api.web.i18n import translations
from engine import access, attachments, audit, commands, definitions, worklist
from engine.errors import InvalidInput

router = APIRouter(include_in_schema=False)


@router.get("/instances/{instance_id}", response_class=HTMLResponse)
def instance_page(request: Request, instance_id: str, viewer: Viewer, session: SessionDep) -> HTMLResponse:
    instance = worklist.instance_for(session, viewer.principal, instance_id)
    version = definitions.version_of(session, instance.process_version_id)
    marks = instance_marks(session, instance, viewer.now)
    # The SVG is built as an XML tree by api.diagram, which escapes every text it contains.
    diagram = Markup(render_svg(definitions.diagram_files(version), marks, title=version.name))  # noqa: S704
    principal = viewer.principal
    history = list(audit.records(session, instance.id))
    named = worklist.users_named(session, sorted({instance.initiator or "", *(str(r["actor"]) for r in history)}))
    gettext = translations(viewer.locale).gettext
    systems = {"system:engine": gettext("the system"), "system:timer": gettext("the timer"),
               "system:worker": gettext("the system"), "system:message": gettext("a message from outside")}

    def person(username: str | None) -> str:
        """A person as colleagues know them: name and position, never a login name."""
        if not username:
            return "—"
        if username in named:
            user = named[username]
            shown = user.display_name
            return f"{shown} ({user.position})" if user.position and not shown.endswith(user.position) else shown
        return systems.get(username, gettext("someone no longer here"))

    return render(
        request, "instance.html", viewer,
        person=person,
        instance=instance,
        instance_id=instance.id,
        title=instance.data.get("title") or version.name,
        process_name=version.name,
        diagram=diagram,
        tasks=worklist.tasks_of(session, instance.id),
        history=history,
        comments=worklist.comments(session, instance.id),
        attachments=attachments.attachments_of(session, instance.id),
        can_comment=principal.has_role("staff", "admin", "designer"),
        can_cancel=access.may_cancel(principal, instance),
    )


@router.post("/instances/{instance_id}/comments")
def comment(instance_id: str, viewer: Viewer, posted: Posted, session: SessionDep) -> Response:
    check_csrf(posted, viewer)
    task_id = posted.get("task_id")
    commands.comment(session, viewer.principal, instance_id, str(posted.get("body") or ""),
                         task_id if isinstance(task_id, str) and task_id else None)
    back = f"/tasks/{task_id}" if isinstance(task_id, str) and task_id else f"/instances/{instance_id}"
    return see_other(back + "#comments")


@router.post("/instances/{instance_id}/attachments")
def attach(instance_id: str, viewer: Viewer, posted: Posted, session: SessionDep, services: ServicesDep) -> Response:
    check_csrf(posted, viewer)
    upload = posted.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise InvalidInput("choose a file to upload")
    task_id = posted.get("task_id")
    attachments.add_attachment(
        session, services.blobs, viewer.principal, instance_id, upload.filename, upload.content_type or "",
        upload.file.read(services.settings.attachment_max_bytes + 1),
        task_id=task_id if isinstance(task_id, str) and task_id else None,
        max_bytes=services.settings.attachment_max_bytes,
    )
    back = f"/tasks/{task_id}" if isinstance(task_id, str) and task_id else f"/instances/{instance_id}"
    return see_other(back + "#attachments")


@router.post("/instances/{instance_id}/cancel")
def cancel(instance_id: str, viewer: Viewer, posted: Posted, session: SessionDep, services: ServicesDep) -> Response:
    check_csrf(posted, viewer)
    commands.cancel(session, services.ctx, viewer.principal, instance_id, str(posted.get("reason") or ""))
    return see_other(f"/instances/{instance_id}")


