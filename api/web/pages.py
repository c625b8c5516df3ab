"""Server-rendered pages for staff, often on a phone: log in, my work, a task's form, an instance's
story, the processes, and the audit view. Every form posts with the session's CSRF token."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from api.deps import SESSION_COOKIE, ServicesDep, SessionDep, public, services
from api.diagram import render_svg
from api.routes.instances import instance_marks
from api.routes.tasks import task_form
from api.web.i18n import LANGUAGE_COOKIE, choose, translations
from engine import attachments, audit, definitions, identity, instances, notifications, registry, worklist
from engine.errors import CityflowError, InvalidInput, NotAllowed, NotAuthenticated
from engine.identity import Principal
from engine.models import Instance, OpenTask, ProcessVersion
from forms.definition import Form
from forms.render import render_form
from forms.submission import UploadedFile, parse_submission
from forms.validation import FieldError, validate

HERE = Path(__file__).resolve().parent
LOGIN_CSRF_COOKIE = "cityflow_login_csrf"

router = APIRouter(include_in_schema=False)


@functools.cache
def environment(locale: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    return env


def _labels(locale: str) -> tuple[Callable[[str], str], Callable[[str], str]]:
    gettext = translations(locale).gettext
    statuses = {"running": "In progress", "completed": "Completed", "cancelled": "Cancelled", "error": "Error"}
    actions = {
        "instance.created": "started", "instance.completed": "finished", "instance.cancelled": "cancelled",
        "instance.errored": "stopped by an error", "instance.retried": "retried",
        "instance.data_edited": "corrected the data", "task.ready": "waiting for", "task.waiting": "waiting at",
        "task.completed": "completed", "task.cancelled": "withdrawn", "task.error": "failed at",
        "task.claimed": "claimed", "task.unclaimed": "released", "task.delegated": "handed on",
        "task.refused": "was refused", "comment.added": "commented", "attachment.added": "attached a file",
        "process.deployed": "deployed a process", "login.refused": "login refused", "user.added": "added a user",
        "absence.added": "recorded an absence",
    }
    return (lambda s: gettext(statuses.get(s, s))), (lambda a: gettext(actions.get(a, a)))


@dataclass(frozen=True)
class WebUser:
    principal: Principal
    csrf_token: str
    locale: str
    unread: int = 0
    now: datetime | None = None


class LoginRequired(NotAuthenticated):
    """A page needs a logged-in user; the browser is sent to the login page."""


class LoginFailed(NotAuthenticated):
    """Wrong credentials on the login page: shown again with the message, the refusal kept on record."""

    def __init__(self, detail: str, *, username: str, next_page: str, login_csrf: str) -> None:
        super().__init__(detail, recorded=True)
        self.username, self.next_page, self.login_csrf = username, next_page, login_csrf


def page(*roles: str) -> Callable[..., WebUser]:
    """The access rule of a page: a browser session (and one of ``roles`` when given)."""

    def rule(request: Request, session: SessionDep) -> WebUser:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise LoginRequired("log in first")
        try:
            user, row = identity.token_owner(session, cookie, "web")
        except NotAuthenticated as exc:
            raise LoginRequired("your session has ended; log in again") from exc
        principal = identity.principal(session, user)
        if roles and not principal.has_role(*roles):
            raise NotAllowed(f"this page needs the role {' or '.join(roles)}")
        request.state.principal = principal
        return WebUser(principal, row.csrf_token or "", choose(request, user.locale),
                       notifications.unread_count(session, principal.username),
                       services(request).ctx.clock())

    rule.cityflow_access = ("page", *roles)  # type: ignore[attr-defined]
    return rule


Viewer = Annotated[WebUser, Depends(page())]
Auditor = Annotated[WebUser, Depends(page("auditor", "admin"))]


async def posted_form(request: Request) -> FormData:
    """The posted form, read before the (synchronous) page handler runs."""
    return await request.form(max_files=20, max_fields=2000)


Posted = Annotated[FormData, Depends(posted_form)]


def check_csrf(form: FormData, viewer: WebUser) -> None:
    sent = form.get("csrf_token")
    if not isinstance(sent, str) or not secrets.compare_digest(sent, viewer.csrf_token):
        raise NotAllowed("the form expired or did not come from this site; reload the page and try again")


def render(request: Request, name: str, viewer: WebUser | None, status: int = 200, **context: Any) -> HTMLResponse:
    locale = viewer.locale if viewer else choose(request)
    status_label, action_label = _labels(locale)
    html = environment(locale).get_template(name).render(
        request=request,
        user=viewer.principal if viewer else None,
        csrf_token=viewer.csrf_token if viewer else "",
        unread=viewer.unread if viewer else 0,
        now=(viewer.now if viewer and viewer.now else datetime.now(UTC)).replace(tzinfo=None),
        locale=locale,
        status_label=status_label,
        action_label=action_label,
        notice=request.query_params.get("notice"),
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    if request.query_params.get("lang") in ("ko", "en"):
        response.set_cookie(LANGUAGE_COOKIE, request.query_params["lang"], max_age=365 * 86400, samesite="lax")
    return response


def _see_other(url: str, notice: str | None = None) -> RedirectResponse:
    if notice:
        url += ("&" if "?" in url else "?") + "notice=" + quote(notice)
    return RedirectResponse(url, status_code=303)


def _process_names(session: Session) -> dict[str, str]:
    return {row.key: row.name for row in definitions.latest_versions(session)}


# -- logging in ------------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse, dependencies=[Depends(public)])
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", None, login_csrf=token, next=_safe_next(next), username="")
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", max_age=3600)
    return response


@router.post("/login", response_class=HTMLResponse, dependencies=[Depends(public)])
def login(request: Request, form: Posted, session: SessionDep, services: ServicesDep) -> Response:
    sent, expected = form.get("csrf_token"), request.cookies.get(LOGIN_CSRF_COOKIE)
    username = str(form.get("username") or "")[:100]
    target = _safe_next(str(form.get("next") or "/"))
    gettext = translations(choose(request)).gettext
    if not expected or not isinstance(sent, str) or not secrets.compare_digest(sent, expected):
        return render(request, "login.html", None, status=403, login_csrf=expected or "", next=target,
                      username=username, error=gettext("The login form expired; please try again."))
    try:
        user = identity.authenticate(session, username, str(form.get("password") or ""))
    except NotAuthenticated as exc:
        message = gettext("Too many failed logins; try again later.") if exc.name == "AccountLocked" else gettext(
            "Wrong username or password.")
        # recorded: the failure count and the refusal record survive the failed request
        raise LoginFailed(message, username=username, next_page=target, login_csrf=expected) from exc
    token, _ = identity.create_token(session, user.username, kind="web")
    response = _see_other(target)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=services.settings.secure_cookies,
                        max_age=int(identity.WEB_SESSION_FOR.total_seconds()))
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, viewer: Viewer, form: Posted, session: SessionDep) -> Response:
    check_csrf(form, viewer)
    identity.revoke_token(session, request.cookies.get(SESSION_COOKIE, ""))
    response = _see_other("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


# -- my work ---------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def inbox(request: Request, viewer: Viewer, session: SessionDep) -> HTMLResponse:
    mine, _ = worklist.find_tasks(session, viewer.principal, "mine", limit=100)
    group, _ = worklist.find_tasks(session, viewer.principal, "group", limit=100)
    started = [
        i for i in worklist.find_instances(session, viewer.principal, limit=20)[0]
        if i.initiator == viewer.principal.username
    ][:10]
    return render(request, "inbox.html", viewer, section="inbox", mine=mine, group=group, started=started,
                  process_names=_process_names(session))


def _task_context(
    session: Session, services: Any, viewer: WebUser, task: OpenTask
) -> tuple[Form | None, dict[str, Any]]:
    document, version = task_form(session, task)
    instance = session.get(Instance, task.instance_id)
    assert instance is not None
    bundle = services.ctx.bundles.get(session, version.id)
    form = Form.from_document(document, locale=viewer.locale) if document is not None else None
    on_behalf_of = worklist.acting_for(viewer.principal, task)
    context = {
        "task": task,
        "instance_id": task.instance_id,
        "process_name": version.name,
        "documentation": bundle.documentation(task.element_id),
        "data": instance.data,
        "comments": worklist.comments(session, task.instance_id),
        "attachments": attachments.attachments_of(session, task.instance_id),
        "can_act": on_behalf_of is not None,
        "can_comment": viewer.principal.has_role("staff", "admin", "designer"),
        "on_behalf_of": on_behalf_of if on_behalf_of not in (None, viewer.principal.username) else None,
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
               errors: list[FieldError] | None = None) -> Markup:
    if form is None:
        form = Form.from_document({"type": "object", "properties": {}})
    gettext = translations(viewer.locale).gettext
    return render_form(form, data, errors, action=f"/tasks/{task.id}", csrf_token=viewer.csrf_token,
                       locale=viewer.locale, submit_label=gettext("Complete"), extra_buttons=("draft",))


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def task_page(
    request: Request, task_id: str, viewer: Viewer, session: SessionDep, services: ServicesDep
) -> HTMLResponse:
    task = worklist.get_task(session, viewer.principal, task_id, services.ctx.clock())
    form, context = _task_context(session, services, viewer, task)
    prefill = _prefill(form, session, viewer, task, context["data"]) if form is not None else None
    return render(request, "task.html", viewer, form_html=_form_html(form, task, viewer, prefill), **context)


def _uploads(form: FormData) -> dict[str, list[UploadedFile]]:
    files: dict[str, list[UploadedFile]] = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile) and value.filename:
            files.setdefault(name, []).append(
                UploadedFile(value.filename, value.content_type or "", value.file.read(attachments.MAX_BYTES + 1))
            )
    return files


@router.post("/tasks/{task_id}", response_class=HTMLResponse)
def act_on_task(
    request: Request, task_id: str, viewer: Viewer, posted: Posted, session: SessionDep, services: ServicesDep
) -> Response:
    """Claim, release, save a draft, or complete — whatever button was pressed."""
    check_csrf(posted, viewer)
    action = posted.get("action") or "complete"
    gettext = translations(viewer.locale).gettext
    if action == "claim":
        worklist.claim(session, viewer.principal, task_id)
        return _see_other(f"/tasks/{task_id}", gettext("The task is yours now."))
    if action == "unclaim":
        worklist.unclaim(session, viewer.principal, task_id)
        return _see_other(f"/tasks/{task_id}", gettext("The task is back with everyone it was offered to."))
    task = worklist.get_task(session, viewer.principal, task_id)
    form, context = _task_context(session, services, viewer, task)
    fields = {name: [v for v in posted.getlist(name) if isinstance(v, str)] for name in posted}
    shown = form or Form.from_document({"type": "object", "properties": {}})
    submission = parse_submission(shown, fields, _uploads(posted))
    errors: list[FieldError] = []
    for path, uploads in submission.files.items():
        references = []
        for upload in uploads:
            try:
                stored = attachments.add_attachment(
                    session, services.blobs, viewer.principal, task.instance_id, upload.filename,
                    upload.content_type, upload.data, task_id=task.id, max_bytes=services.settings.attachment_max_bytes,
                )
                references.append(f"attachment:{stored.id}")
            except InvalidInput as exc:
                errors.append(FieldError(path, exc.detail))
        field = shown.field_at(path)
        submission.attach(path, references, as_list=bool(field is not None and field.multiple))
    if submission.add_row or errors:
        return render(request, "task.html", viewer, status=422 if errors else 200,
                      form_html=_form_html(form, task, viewer, submission.data, errors), **context)
    if submission.is_draft:
        worklist.save_draft(session, viewer.principal, task_id, submission.data)
        return _see_other(f"/tasks/{task_id}", gettext("Draft saved."))
    errors = validate(shown, submission.data, locale=viewer.locale) + [
        FieldError(f, m) for f, m in attachments.bad_references(session, task.instance_id, submission.data)
    ]
    if errors:
        return render(request, "task.html", viewer, status=422,
                      form_html=_form_html(form, task, viewer, submission.data, errors), **context)
    instance = worklist.complete(session, services.ctx, viewer.principal, task_id, submission.data)
    return _see_other(f"/instances/{instance.id}", gettext("Done: the task is completed."))


# -- instances -------------------------------------------------------------------------------


@router.get("/instances/{instance_id}", response_class=HTMLResponse)
def instance_page(request: Request, instance_id: str, viewer: Viewer, session: SessionDep) -> HTMLResponse:
    instance = worklist.instance_for(session, viewer.principal, instance_id)
    version = session.get(ProcessVersion, instance.process_version_id)
    assert version is not None
    marks = instance_marks(session, instance, viewer.now)
    # The SVG is built as an XML tree by api.diagram, which escapes every text it contains.
    diagram = Markup(render_svg(definitions.diagram_files(version), marks, title=version.name))  # noqa: S704
    principal = viewer.principal
    return render(
        request, "instance.html", viewer,
        instance=instance,
        instance_id=instance.id,
        title=instance.data.get("title") or version.name,
        process_name=version.name,
        diagram=diagram,
        tasks=worklist.tasks_of(session, instance.id),
        history=list(audit.records(session, instance.id)),
        comments=worklist.comments(session, instance.id),
        attachments=attachments.attachments_of(session, instance.id),
        can_comment=principal.has_role("staff", "admin", "designer"),
        can_cancel=instance.status == "running"
        and (instance.initiator == principal.username or principal.has_role("admin")),
    )


@router.post("/instances/{instance_id}/comments")
def comment(instance_id: str, viewer: Viewer, posted: Posted, session: SessionDep) -> Response:
    check_csrf(posted, viewer)
    task_id = posted.get("task_id")
    worklist.add_comment(session, viewer.principal, instance_id, str(posted.get("body") or ""),
                         task_id if isinstance(task_id, str) and task_id else None)
    back = f"/tasks/{task_id}" if isinstance(task_id, str) and task_id else f"/instances/{instance_id}"
    return _see_other(back + "#comments")


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
    return _see_other(back + "#attachments")


@router.post("/instances/{instance_id}/cancel")
def cancel(instance_id: str, viewer: Viewer, posted: Posted, session: SessionDep, services: ServicesDep) -> Response:
    check_csrf(posted, viewer)
    instance = worklist.instance_for(session, viewer.principal, instance_id)
    if instance.initiator != viewer.principal.username and not viewer.principal.has_role("admin"):
        raise NotAllowed("only whoever started it, or an admin, may cancel it")
    instances.cancel_instance(session, services.ctx, instance_id, viewer.principal.username,
                              str(posted.get("reason") or ""))
    return _see_other(f"/instances/{instance_id}")


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, viewer: Viewer, session: SessionDep) -> HTMLResponse:
    return render(request, "notifications.html", viewer, section="notifications",
                  items=notifications.recent(session, viewer.principal.username))


@router.post("/notifications")
def read_all(viewer: Viewer, posted: Posted, session: SessionDep, services: ServicesDep) -> Response:
    check_csrf(posted, viewer)
    notifications.mark_all_read(session, viewer.principal.username, services.ctx.clock())
    return _see_other("/notifications")


# -- registers and the dashboard -------------------------------------------------------------


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


# -- processes and audit ---------------------------------------------------------------------


@router.get("/processes", response_class=HTMLResponse)
def processes_page(request: Request, viewer: Viewer, session: SessionDep) -> HTMLResponse:
    return render(request, "processes.html", viewer, section="processes",
                  processes=definitions.latest_versions(session),
                  can_start=viewer.principal.has_role("staff", "designer", "admin"))


@router.post("/processes/{key}/start")
def start(key: str, viewer: Viewer, posted: Posted, session: SessionDep, services: ServicesDep) -> Response:
    check_csrf(posted, viewer)
    if not viewer.principal.has_role("staff", "designer", "admin"):
        raise NotAllowed("auditors change nothing")
    title = str(posted.get("title") or "").strip()
    instance = instances.start_instance(session, services.ctx, key, {"title": title} if title else {},
                                        initiator=viewer.principal.username)
    mine = [t for t in worklist.tasks_of(session, instance.id) if worklist.acting_for(viewer.principal, t)]
    return _see_other(f"/tasks/{mine[0].id}" if mine else f"/instances/{instance.id}")


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, viewer: Auditor, session: SessionDep, services: ServicesDep,
    actor: str | None = None, action: str | None = None,
) -> HTMLResponse:
    records = audit.find_records(session, actor=actor or None, action=action or None, limit=200)
    verification = audit.verify(session, services.settings.key("audit"))
    return render(request, "audit.html", viewer, section="audit", records=list(reversed(records)),
                  verification=verification, filters={"actor": actor, "action": action})


# -- wiring -----------------------------------------------------------------------------------


def page_error(request: Request, error: CityflowError) -> Response:
    """How a failure looks on a page: log in again, or a short explanation in the user's language."""
    if isinstance(error, LoginFailed):
        return render(request, "login.html", None, status=401, login_csrf=error.login_csrf, next=error.next_page,
                      username=error.username, error=error.detail)
    if isinstance(error, LoginRequired) or (isinstance(error, NotAuthenticated) and request.method == "GET"):
        return _see_other(f"/login?next={quote(request.url.path)}")
    from api.errors import status_of

    gettext = translations(choose(request)).gettext
    headings = {403: gettext("Not allowed"), 404: gettext("Not found"), 409: gettext("Already done"),
                422: gettext("Please check your input"), 413: gettext("Too large")}
    status = status_of(error)
    return render(request, "error.html", None, status=status,
                  heading=headings.get(status, gettext("Something went wrong")), message=error.detail)


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.state.page_error = page_error
