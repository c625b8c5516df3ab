"""현장 지시: the mayor gives a directive on site from a phone, in one short form — what to do, photos,
the place, and if they like a department and a deadline — and it enters the directive process
registered as given (source 현장 or 모바일). The form is the directive process's own
(``workflows/directive/forms/field_directive.json``); the directive's 지시 등록 is done with it."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import ServicesDep, SessionDep
from api.form_check import check_form
from api.web.common import FORM_SCRIPT, Posted, Viewer, WebUser, check_csrf, read_submission, render, see_other
from api.web.i18n import translations
from engine import commands, definitions, identity
from engine.errors import FormInvalid, NotAllowed
from forms.definition import Form
from forms.render import render_form
from forms.validation import FieldError

router = APIRouter()

PROCESS = "directive"
REGISTRATION = "register_directive"  # the directive's task that the one form does
FORM = "forms/field_directive.json"
TITLE_LENGTH = 60
#: A deadline given as a day is proposed as the end of that working day.
DEADLINE_HOUR = time(18, 0)


def _document(session: SessionDep) -> dict[str, Any]:
    version = definitions.version_row(session, PROCESS)
    document = definitions.form_document(version, REGISTRATION, FORM)
    if document is None:
        raise NotAllowed("this city's directive process has no on-site form (forms/field_directive.json)")
    return document


def _page(request: Request, viewer: WebUser, session: SessionDep, form: Form, data: dict[str, Any] | None,
          errors: list[FieldError] | None = None, status: int = 200) -> HTMLResponse:
    form_html = render_form(
        form, data, errors, action="/directives/field", csrf_token=viewer.csrf_token, locale=viewer.locale,
        submit_label=form.submit_label, zone=viewer.zone, organisation=identity.Directory(session),
        script_src=FORM_SCRIPT,
    )
    return render(request, "field_directive.html", viewer, status=status, section="directives", form_html=form_html)


def _require_issuer(session: SessionDep, services: ServicesDep, viewer: WebUser) -> None:
    if not commands.may_start_and_complete(session, services.ctx, viewer.principal, PROCESS, REGISTRATION):
        raise NotAllowed("directives are given by those who issue them (the mayor and the deputy mayor)")


@router.get("/directives/field", response_class=HTMLResponse)
def field_directive_page(request: Request, viewer: Viewer, session: SessionDep, services: ServicesDep) -> HTMLResponse:
    _require_issuer(session, services, viewer)
    form = Form.from_document(_document(session), locale=viewer.locale)
    return _page(request, viewer, session, form, {"source": "현장"})


def title_of(content: str) -> str:
    """The directive's title: the first line of what was said, shortened to fit a register's row."""
    first = next((line.strip() for line in content.splitlines() if line.strip()), "")
    return first if len(first) <= TITLE_LENGTH else first[: TITLE_LENGTH - 1].rstrip() + "…"


def _registration(given: dict[str, Any], viewer: WebUser, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """The start data (the proposal for the planning office) and the 지시 등록 the form stands for."""
    today = now.astimezone(viewer.zone).date().isoformat()
    content = str(given.get("content") or "")
    said = {"title": title_of(content), "source": given.get("source") or "현장", "issued_on": today}
    start = dict(said)
    if given.get("lead_department"):
        start["lead_department"] = given["lead_department"]
    if given.get("deadline"):
        day = date.fromisoformat(str(given["deadline"]))
        start["deadline"] = datetime.combine(day, DEADLINE_HOUR, tzinfo=viewer.zone).isoformat()
    registration = {**said, "content": content, "issuer": viewer.principal.username}
    if given.get("location"):
        registration["location"] = given["location"]
    return start, registration


@router.post("/directives/field")
def give_field_directive(
    request: Request, viewer: Viewer, posted: Posted, session: SessionDep, services: ServicesDep
) -> Response:
    check_csrf(posted, viewer)
    _require_issuer(session, services, viewer)
    document = _document(session)
    form = Form.from_document(document, locale=viewer.locale)
    submission = read_submission(form, posted, viewer)
    checked = check_form(document, submission.data, viewer.locale, identity.Directory(session))
    if checked.errors:
        errors = [FieldError(path, message) for path, message in checked.errors]
        return _page(request, viewer, session, form, submission.data, errors, status=422)
    start, registration = _registration(checked.data, viewer, services.ctx.clock())
    files = {path: [commands.Upload(u.filename, u.content_type, u.data) for u in uploads]
             for path, uploads in submission.files.items()}
    try:
        instance = commands.start_and_complete(
            session, services.ctx, viewer.principal, PROCESS, start, REGISTRATION, registration, files=files,
            store=services.blobs, max_bytes=services.settings.attachment_max_bytes)
    except FormInvalid as invalid:
        errors = [FieldError(e["field"], e["message"]) for e in invalid.errors]
        return _page(request, viewer, session, form, submission.data, errors, status=422)
    gettext = translations(viewer.locale).gettext
    return see_other(f"/instances/{instance.id}", gettext("Given: the planning office assigns it now."))
