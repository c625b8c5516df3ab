"""My work: the inbox, a task's page, and acting on it (claim, release, draft, complete)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from api.deps import ServicesDep, SessionDep
from api.errors import message_of
from api.routes.tasks import task_form
from api.web import media
from api.web.absences import person
from api.web.common import (
    FORM_SCRIPT,
    Posted,
    Viewer,
    WebUser,
    _labels,
    check_csrf,
    process_labels,
    process_names,
    read_submission,
    render,
    see_other,
)
from api.web.i18n import translations
from api.web.views import CaseReader
from engine import access, attachments, commands, identity, worklist
from engine.errors import FormInvalid, InvalidInput
from engine.labels import NONE, Labels
from engine.models import Instance, OpenTask, User
from forms.definition import Form
from forms.render import render_form
from forms.validation import FieldError

router = APIRouter(include_in_schema=False)
INBOX_PAGE = 100  # tasks of each kind on the inbox page; "100+" says there are more


@dataclass(frozen=True)
class Card:
    """A task as the inbox shows it, in the reader's language: which case, which step, who started it
    in the process's own word (지시, 기안, 보고 …), how long it waited, when it is due."""

    task: OpenTask
    title: str
    process_name: str
    step: str  # the task's name
    lane: str | None
    started_word: str  # what starting a case of this process is called: 지시, 기안, 보고, 등록, 제안
    started_by: str | None  # name and position, never a login
    waiting_days: int
    days_left: int | None  # to the due date, on the city's calendar: 0 is D-day, below 0 overdue
    urgency: str | None  # as the case's data says it (긴급 marks it urgent)
    urgency_text: str | None  # in the reader's language


def _cards(rows: list[worklist.Waiting], named: dict[str, User], viewer: WebUser,
           labels: dict[str, Labels]) -> list[Card]:
    now = viewer.now or datetime.now(UTC)
    today = now.astimezone(viewer.zone).date()
    locale = viewer.locale
    started_by = translations(locale).gettext("Started by")
    cards = []
    for row in rows:
        words, task = labels.get(row.task.process_key, NONE), row.task
        starter = named.get(row.started_by or "")
        process_name = words.process(locale, row.process_name)
        cards.append(Card(
            task, row.title or process_name, process_name,
            step=words.element(task.element_id, locale, task.name),
            lane=words.lane(task.lane, locale),
            started_word=words.word("started_by", locale, started_by),
            started_by=person(starter, "") or None,
            waiting_days=max(0, (now - task.created_at).days),
            days_left=(task.due_at.astimezone(viewer.zone).date() - today).days if task.due_at else None,
            urgency=row.urgency,
            urgency_text=(words.value("urgency", row.urgency, locale) or row.urgency) if row.urgency else None,
        ))
    return cards


@router.get("/", response_class=HTMLResponse)
def inbox(
    request: Request, viewer: Viewer, session: SessionDep, q: Annotated[str, Query(max_length=200)] = "",
    process: str = "", sort: Annotated[str, Query(pattern="^(age|due)$")] = "age",
) -> HTMLResponse:
    """My tasks and my groups' tasks, each card naming its case; searched by title, filtered by
    process, sorted by age or deadline."""
    found = {
        scope: worklist.find_waiting(session, viewer.principal, scope, process or None, INBOX_PAGE, q=q, sort=sort)
        for scope in ("mine", "group")
    }
    starters = {row.started_by for rows, _ in found.values() for row in rows if row.started_by}
    named = worklist.users_named(session, sorted(starters))
    labels = process_labels(session)
    mine, group = (_cards(found[scope][0], named, viewer, labels) for scope in ("mine", "group"))
    started = _started_by(session, viewer)
    return render(request, "inbox.html", viewer, section="inbox", mine=mine, group=group, started=started,
                  more_mine=found["mine"][1] is not None, more_group=found["group"][1] is not None,
                  process_names=process_names(session, viewer.locale), q=q, process=process, sort=sort)


def _started_by(session: Session, viewer: WebUser, shown: int = 10) -> list[Instance]:
    """The viewer's own cases that still need something: running, or stopped by an error (until it is
    cancelled or retried). Finished and cancelled ones are on their registers, not in the inbox."""
    found = [
        instance
        for status in ("running", "error")
        for instance in worklist.find_instances(session, viewer.principal, status=status, limit=100)[0]
        if instance.initiator == viewer.principal.username
    ]
    return sorted(found, key=lambda instance: instance.started_at, reverse=True)[:shown]


def _task_context(
    session: Session, services: Any, viewer: WebUser, task: OpenTask
) -> tuple[Form | None, dict[str, Any]]:
    """A task's page: its case as a document on top, then what to do, the form, comments and files."""
    document, version = task_form(session, task)
    instance = worklist.instance_of(session, task)
    bundle = services.ctx.bundles.get(session, version.id)
    form = Form.from_document(document, locale=viewer.locale) if document is not None else None
    on_behalf_of = access.acting_for(viewer.principal, task)
    case = CaseReader(session, viewer, instance, version)
    status_label, _ = _labels(viewer.locale)
    context = {
        "task": task,
        "task_name": case.labels.element(task.element_id, viewer.locale, task.name),
        "lane_name": case.labels.lane(task.lane, viewer.locale),
        "instance": instance,
        "instance_id": task.instance_id,
        "process_name": case.labels.process(viewer.locale, version.name),
        "documentation": bundle.documentation(task.element_id),
        "data": instance.data,
        "reading": case.read(status_label),
        "person": case.people,
        "comments": worklist.comments(session, task.instance_id),
        "attachments": list(case.files.values()),
        "can_act": on_behalf_of is not None,
        "can_comment": viewer.principal.has_role("staff", "admin", "designer"),
        "shows_problems": viewer.principal.has_role("designer", "admin", "auditor"),
        "on_behalf_of": on_behalf_of if on_behalf_of not in (None, viewer.principal.username) else None,
        # what the diagram lets the person report instead of completing (its error and escalation boundaries)
        "throws": [(f"{t.kind}:{t.code}", case.labels.element(t.element_id, viewer.locale, t.name))
                   for t in bundle.throws(task.element_id)],
    }
    return form, context


def _prefill(
    form: Form, session: Session, viewer: WebUser, task: OpenTask, data: dict[str, Any]
) -> dict[str, Any] | None:
    draft = worklist.draft_of(session, viewer.principal, task.id)
    if draft is not None:
        return draft
    known = {name: data[name] for name in form.schema.get("properties", {}) if name in data}
    return known or None


def _form_html(form: Form | None, task: OpenTask, viewer: WebUser, data: dict[str, Any] | None,
               context: dict[str, Any], session: Session, errors: list[FieldError] | None = None) -> Markup:
    """The task's form, its submit button saying what it does (the form's ``ui.submit`` in the page's
    language, else "제출"/"Submit"), its pickers listing the organisation, the files it keeps by name."""
    if form is None:
        form = Form.from_document({"type": "object", "properties": {}}, locale=viewer.locale)
    return render_form(form, data, errors, action=f"/tasks/{task.id}", csrf_token=viewer.csrf_token,
                       locale=viewer.locale, submit_label=form.submit_label, extra_buttons=("draft",),
                       zone=viewer.zone, organisation=identity.Directory(session),
                       attached=media.attached_files(context["attachments"]), script_src=FORM_SCRIPT)


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def task_page(
    request: Request, task_id: str, viewer: Viewer, session: SessionDep, services: ServicesDep
) -> HTMLResponse:
    task = commands.open_task(session, services.ctx, viewer.principal, task_id)
    form, context = _task_context(session, services, viewer, task)
    prefill = _prefill(form, session, viewer, task, context["data"]) if form is not None else None
    return render(request, "task.html", viewer, form_html=_form_html(form, task, viewer, prefill, context, session),
                  **context)


@router.post("/tasks/{task_id}", response_class=HTMLResponse)
def act_on_task(
    request: Request, task_id: str, viewer: Viewer, posted: Posted, session: SessionDep, services: ServicesDep
) -> Response:
    """Claim, release, save a draft, or complete — whatever button was pressed."""
    check_csrf(posted, viewer)
    action = posted.get("action") or "complete"
    gettext = translations(viewer.locale).gettext
    if action == "claim":
        commands.claim(session, services.ctx, viewer.principal, task_id)
        return see_other(f"/tasks/{task_id}", gettext("The task is yours now."))
    if action == "unclaim":
        commands.unclaim(session, services.ctx, viewer.principal, task_id)
        return see_other(f"/tasks/{task_id}", gettext("The task is back with everyone it was offered to."))
    if action == "throw":
        kind, _, code = str(posted.get("throw") or "").partition(":")
        instance = commands.throw_from_task(session, services.ctx, viewer.principal, task_id, kind, code)
        return see_other(f"/instances/{instance.id}", gettext("Reported: the case goes on as the process says."))
    task = commands.open_task(session, services.ctx, viewer.principal, task_id)
    form, context = _task_context(session, services, viewer, task)
    shown = form or Form.from_document({"type": "object", "properties": {}})
    submission = read_submission(shown, posted, viewer)
    errors: list[FieldError] = []
    for path, uploads in submission.files.items():
        references = []
        for upload in uploads:
            try:
                stored = attachments.add_attachment(
                    session, services.blobs, viewer.principal, task.instance_id, upload.filename,
                    upload.content_type, upload.data, task_id=task.id, max_bytes=services.settings.attachment_max_bytes,
                    at=services.ctx.clock(),
                )
                references.append(f"attachment:{stored.id}")
            except InvalidInput as exc:
                errors.append(FieldError(path, message_of(exc, viewer.locale)))
        field = shown.field_at(path)
        submission.attach(path, references, as_list=bool(field is not None and field.multiple))
    if submission.add_row or errors:
        return render(request, "task.html", viewer, status=422 if errors else 200,
                      form_html=_form_html(form, task, viewer, submission.data, context, session, errors), **context)
    if submission.is_draft:
        commands.save_draft(session, services.ctx, viewer.principal, task_id, submission.data)
        return see_other(f"/tasks/{task_id}", gettext("Draft saved."))
    try:
        instance = commands.complete(session, services.ctx, viewer.principal, task_id, submission.data)
    except FormInvalid as invalid:
        errors = [FieldError(e["field"], e["message"]) for e in invalid.errors]
        return render(request, "task.html", viewer, status=422,
                      form_html=_form_html(form, task, viewer, submission.data, context, session, errors), **context)
    return see_other(f"/instances/{instance.id}", gettext("Done: the task is completed."))


