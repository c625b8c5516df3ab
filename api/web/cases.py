"""A case (instance) as people read it: the document its process declares, the diagram, the history
in words, comments and files; its print view and PDF; cancelling it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from api.deps import ServicesDep, SessionDep
from api.diagram import render_svg
from api.routes.instances import instance_marks
from api.web.common import HERE, Posted, Viewer, WebUser, _labels, check_csrf, environment, in_zone, render, see_other
from api.web.i18n import translations
from api.web.views import CaseReader
from engine import access, attachments, commands, definitions, worklist
from engine.errors import InvalidInput
from engine.identity import Principal
from engine.models import Instance

router = APIRouter(include_in_schema=False)


def reader(session: Session, viewer: WebUser, instance: Instance) -> CaseReader:
    return CaseReader(session, viewer, instance, definitions.version_of(session, instance.process_version_id))


@router.get("/instances/{instance_id}", response_class=HTMLResponse)
def instance_page(request: Request, instance_id: str, viewer: Viewer, session: SessionDep) -> HTMLResponse:
    instance = worklist.instance_for(session, viewer.principal, instance_id)
    case = reader(session, viewer, instance)
    marks = instance_marks(session, instance, viewer.now)
    # The SVG is built as an XML tree by api.diagram, which escapes every text it contains.
    diagram = Markup(render_svg(definitions.diagram_files(case.version), marks, title=case.version.name))  # noqa: S704
    principal = viewer.principal
    status_label, _ = _labels(viewer.locale)
    reading = case.read(status_label)
    tasks = worklist.tasks_of(session, instance.id)
    return render(
        request, "instance.html", viewer,
        person=case.people,
        instance=instance,
        instance_id=instance.id,
        title=(instance.data or {}).get("title") or case.labels.process(viewer.locale, case.version.name),
        process_name=case.labels.process(viewer.locale, case.version.name),
        diagram=diagram,
        tasks=[task for task in tasks if not task.standing],
        options=[task for task in tasks if task.standing and access.acting_for(principal, task) is not None],
        element_name=lambda task: case.labels.element(task.element_id, viewer.locale, task.name),
        reading=reading,
        started_word=case.labels.word("started_by", viewer.locale, ""),
        comments=worklist.comments(session, instance.id),
        attachments=list(case.files.values()),
        can_comment=principal.has_role("staff", "admin", "designer"),
        can_cancel=access.may_cancel(principal, instance),
        shows_problems=principal.has_role("designer", "admin", "auditor"),
        reads_trail=principal.has_role(*access.READERS),
        raises_issue=_raises_issue(session, principal, instance),
    )


#: The process a case's readers raise a 현안사항 (pending issue) with, from any case.
ISSUES = "pending_issue"


def _raises_issue(session: Session, principal: Principal, instance: Instance) -> bool:
    """Whether the case page offers to register the case as a pending issue: to staff, while the
    pending-issue process is deployed, on any case but a pending issue itself."""
    if instance.process_key == ISSUES or not principal.has_role("staff"):
        return False
    return any(row.key == ISSUES for row in definitions.latest_versions(session))


@functools.cache
def document_css() -> str:
    """The look of a case's document, shared by the pages, the print view and the PDF."""
    return (HERE / "static" / "document.css").read_text(encoding="utf-8")


def _print_html(viewer: WebUser, session: Session, instance_id: str, for_pdf: bool) -> str:
    instance = worklist.instance_for(session, viewer.principal, instance_id)
    case = reader(session, viewer, instance)
    status_label, _ = _labels(viewer.locale)
    reading = case.read(status_label, printing=True)
    now = viewer.now or datetime.now(UTC)
    return environment(viewer.locale).get_template("print.html").render(
        locale=viewer.locale,
        title=(instance.data or {}).get("title") or case.labels.process(viewer.locale, case.version.name),
        process_name=case.labels.process(viewer.locale, case.version.name),
        instance=instance,
        reading=reading,
        person=case.people,
        started_word=case.labels.word("started_by", viewer.locale, ""),
        attachments=list(case.files.values()),
        printed_by=case.people(viewer.principal.username),
        printed_at=in_zone(viewer.zone)(now),
        local=in_zone(viewer.zone),
        css=Markup(document_css()),  # noqa: S704 - cityflow's own stylesheet, inlined so the PDF fetches nothing
        for_pdf=for_pdf,
        shows_problems=viewer.principal.has_role("designer", "admin", "auditor"),
    )


@router.get("/instances/{instance_id}/print", response_class=HTMLResponse)
def print_view(request: Request, instance_id: str, viewer: Viewer, session: SessionDep) -> HTMLResponse:
    """The case on an A4 page, without the site around it: print it from the browser."""
    return HTMLResponse(_print_html(viewer, session, instance_id, for_pdf=False))


@router.get("/instances/{instance_id}/document.pdf", response_class=Response)
def document_pdf(
    request: Request, instance_id: str, viewer: Viewer, session: SessionDep, services: ServicesDep
) -> Response:
    """The print view as a PDF (WeasyPrint), for whoever may read the case."""
    html = _print_html(viewer, session, instance_id, for_pdf=True)
    thumbnails = {f"{PDF_BASE}api/attachments/{file.id}/thumbnail": file.thumbnail_sha256
                  for file in attachments.attachments_of(session, instance_id) if file.thumbnail_sha256}
    try:
        pdf = _pdf(html, lambda url: services.blobs.get(thumbnails[url]) if url in thumbnails else None)
    except OSError:  # WeasyPrint is installed but Pango is not (make run installs it)
        gettext = translations(viewer.locale).gettext
        return render(request, "error.html", viewer, status=503, heading=gettext("No PDF on this server"),
                      message=gettext("The PDF needs the Pango library: apt-get install libpango-1.0-0 "
                                      "libpangoft2-1.0-0 fonts-noto-cjk (make run does it)."),
                      case_url=f"/instances/{instance_id}")
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{instance_id}.pdf"'})


PDF_BASE = "https://cityflow.invalid/"  # a base for the page's links; never opened (see _pdf)


def _pdf(html: str, photo: Callable[[str], bytes | None]) -> bytes:
    """``html`` as a PDF. Its only outside source is the case's own photo thumbnails (``photo`` by
    URL): every style is inline, and any other URL is refused, never fetched."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class CaseFiles(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: object = None) -> Any:
            found = photo(url)
            if found is None:
                raise ValueError(f"a case's PDF fetches nothing from outside ({url})")
            return URLFetcherResponse(url, found, {"Content-Type": "image/jpeg"})

    result: bytes = HTML(string=html, base_url=PDF_BASE, url_fetcher=CaseFiles()).write_pdf()
    return result


@router.post("/instances/{instance_id}/comments")
def comment(
    instance_id: str, viewer: Viewer, posted: Posted, session: SessionDep, services: ServicesDep,
) -> Response:
    check_csrf(posted, viewer)
    task_id = posted.get("task_id")
    commands.comment(session, services.ctx, viewer.principal, instance_id, str(posted.get("body") or ""),
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
        task_id=task_id if isinstance(task_id, str) and task_id else None, at=services.ctx.clock(),
        max_bytes=services.settings.attachment_max_bytes,
    )
    back = f"/tasks/{task_id}" if isinstance(task_id, str) and task_id else f"/instances/{instance_id}"
    return see_other(back + "#attachments")


@router.post("/instances/{instance_id}/cancel")
def cancel(instance_id: str, viewer: Viewer, posted: Posted, session: SessionDep, services: ServicesDep) -> Response:
    check_csrf(posted, viewer)
    commands.cancel(session, services.ctx, viewer.principal, instance_id, str(posted.get("reason") or ""))
    return see_other(f"/instances/{instance_id}")
