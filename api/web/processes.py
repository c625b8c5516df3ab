"""The processes people can start, and starting one: its start form when it has one (전자결재's
기안 page), else a title."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from api.deps import Services, ServicesDep, SessionDep
from api.web.common import (
    FORM_SCRIPT,
    Posted,
    Viewer,
    WebUser,
    check_csrf,
    process_names,
    read_submission,
    render,
    see_other,
)
from api.web.i18n import translations
from engine import access, commands, definitions, identity, remarks, schedule, worklist
from engine.errors import CityflowError, FormInvalid, NotFound
from engine.labels import labels_of
from engine.models import ProcessVersion
from forms.definition import Form
from forms.render import render_form
from forms.validation import FieldError

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Startable:
    """A process as the list shows it: its name in the page's language, and how it is started."""

    version: ProcessVersion
    name: str
    start_word: str
    has_start_form: bool


def _start_form(session: Session, services: Services, version: ProcessVersion) -> dict[str, Any] | None:
    return definitions.start_form(version, services.ctx.bundles.get(session, version.id))


@router.get("/processes", response_class=HTMLResponse)
def processes_page(request: Request, viewer: Viewer, session: SessionDep, services: ServicesDep) -> HTMLResponse:
    gettext = translations(viewer.locale).gettext
    processes = []
    for version in definitions.latest_versions(session):
        labels = labels_of(version)
        processes.append(Startable(version, labels.process(viewer.locale, version.name),
                                   labels.word("start", viewer.locale, gettext("Start")),
                                   _start_form(session, services, version) is not None))
    return render(request, "processes.html", viewer, section="processes", processes=processes,
                  can_start=viewer.principal.has_role(*access.STAFF))


def _source_event(session: Session, viewer: WebUser, entry_id: Any) -> dict[str, Any] | None:
    """The schedule entry a case is started from (a directive given at a meeting), as its start data
    keeps it: id, title, kind, its day in the city and whose schedule — when the starter may read it."""
    try:
        event = schedule.get(session, int(entry_id))
    except (TypeError, ValueError, NotFound):
        return None
    if not schedule.entry_for(viewer.principal, event).shown:
        return None
    return {"id": event.id, "title": event.title, "kind": event.kind, "owner": event.owner,
            "day": event.starts_at.astimezone(viewer.zone).date().isoformat()}


def _source_remark(session: Session, entry_id: Any, viewer: WebUser) -> dict[str, Any] | None:
    """The remark (말씀) a case is started from, as its start data keeps it."""
    try:
        remark = remarks.get(session, int(entry_id))
    except (TypeError, ValueError, NotFound):
        return None
    return {"id": remark.id, "occasion": remark.occasion, "speaker": remark.speaker,
            "day": remark.said_at.astimezone(viewer.zone).date().isoformat()}


def _raised_from(session: Session, viewer: WebUser, instance_id: Any) -> dict[str, Any] | None:
    """The case a case is raised from (a 현안 from a field report), as its start data keeps it: its id,
    number, title and process by name — when the starter may read it."""
    try:
        case = worklist.instance_for(session, viewer.principal, str(instance_id))
    except CityflowError:
        return None
    names = process_names(session, viewer.locale)
    return {"instance_id": case.id, "id": case.business_key or "", "title": str((case.data or {}).get("title") or ""),
            "process": names.get(case.process_key, case.process_key)}


def _page(
    request: Request, viewer: WebUser, session: SessionDep, version: ProcessVersion, form: Form | None,
    data: dict[str, Any] | None = None, errors: list[FieldError] | None = None, status: int = 200,
    title: str = "", source_event: dict[str, Any] | None = None, source_remark: dict[str, Any] | None = None,
    raised_from: dict[str, Any] | None = None,
) -> HTMLResponse:
    labels = labels_of(version)
    gettext = translations(viewer.locale).gettext
    name = labels.process(viewer.locale, version.name)
    form_html = None
    if form is not None:
        form_html = render_form(
            form, data, errors, action=f"/processes/{version.key}/start", csrf_token=viewer.csrf_token,
            locale=viewer.locale, submit_label=form.localized(viewer.locale).submit_label or gettext("Start"),
            zone=viewer.zone, organisation=identity.Directory(session), script_src=FORM_SCRIPT,
        )
    return render(request, "start.html", viewer, status=status, section="processes", process=version,
                  process_name=name, start_word=labels.word("start", viewer.locale, gettext("Start")),
                  form_html=form_html, title=title, source_event=source_event, source_remark=source_remark,
                  raised_from=raised_from)


@router.get("/processes/{key}/start", response_class=HTMLResponse)
def start_page(
    request: Request, key: str, viewer: Viewer, session: SessionDep, services: ServicesDep,
    title: Annotated[str, Query(max_length=200)] = "", from_schedule: Annotated[str, Query(max_length=20)] = "",
    from_remark: Annotated[str, Query(max_length=20)] = "", from_case: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    """The start form of a process (the 기안 page of 전자결재); a title for one without a form, given
    beforehand when it is started from a schedule entry (``from_schedule``)."""
    version = definitions.version_row(session, key)
    document = _start_form(session, services, version)
    form = Form.from_document(document, locale=viewer.locale) if document is not None else None
    raised_from = _raised_from(session, viewer, from_case) if from_case else None
    if raised_from is not None and not title:
        title = f"{raised_from['process']} · {raised_from['title']}"
    return _page(request, viewer, session, version, form, title=title,
                 source_event=_source_event(session, viewer, from_schedule) if from_schedule else None,
                 source_remark=_source_remark(session, from_remark, viewer) if from_remark else None,
                 raised_from=raised_from)


@router.post("/processes/{key}/start")
def start(
    request: Request, key: str, viewer: Viewer, posted: Posted, session: SessionDep, services: ServicesDep
) -> Response:
    """Start a process with what its start form holds (its files become the case's attachments), or
    with a title; then the case (a start form was the starter's work) or the starter's first task."""
    check_csrf(posted, viewer)
    gettext = translations(viewer.locale).gettext
    version = definitions.version_row(session, key)
    document = _start_form(session, services, version)
    if document is None:
        title = str(posted.get("title") or "").strip()
        data: dict[str, Any] = {"title": title} if title else {}
        source_event = _source_event(session, viewer, posted.get("from_schedule")) if posted.get(
            "from_schedule") else None
        if source_event is not None:
            data["source_event"] = source_event
        source_remark = _source_remark(session, posted.get("from_remark"), viewer) if posted.get(
            "from_remark") else None
        if source_remark is not None:
            data["source_remark"] = source_remark
        raised_from = _raised_from(session, viewer, posted.get("from_case")) if posted.get("from_case") else None
        if raised_from is not None:
            data["raised_from"] = raised_from
        instance = commands.start(session, services.ctx, viewer.principal, key, data)
        mine = [t for t in worklist.tasks_of(session, instance.id)
                if not t.standing and access.acting_for(viewer.principal, t)]
        return see_other(f"/tasks/{mine[0].id}" if mine else f"/instances/{instance.id}")
    form = Form.from_document(document, locale=viewer.locale)
    submission = read_submission(form, posted, viewer)
    if submission.add_row:
        return _page(request, viewer, session, version, form, submission.data)
    files = {path: [commands.Upload(u.filename, u.content_type, u.data) for u in uploads]
             for path, uploads in submission.files.items()}
    try:
        instance = commands.start(session, services.ctx, viewer.principal, key, submission.data, files=files,
                                  store=services.blobs, max_bytes=services.settings.attachment_max_bytes)
    except FormInvalid as invalid:
        errors = [FieldError(e["field"], e["message"]) for e in invalid.errors]
        return _page(request, viewer, session, version, form, submission.data, errors, status=422)
    return see_other(f"/instances/{instance.id}", gettext("Submitted: the case is under way."))
