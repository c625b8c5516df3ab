"""What every page shares: templates in the viewer's language, the page access rule, CSRF checks,
redirects with a notice, and how a failure looks on a page."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from api.deps import SESSION_COOKIE, Public, SessionDep, services
from api.web.i18n import LANGUAGE_COOKIE, choose, translations
from engine import attachments, definitions, identity, notifications
from engine.errors import CityflowError, NotAllowed, NotAuthenticated, TaskNotReady
from engine.identity import Principal
from engine.labels import Labels, labels_of
from forms import render as forms_render
from forms.definition import Form
from forms.submission import Submission, UploadedFile, parse_submission

HERE = Path(__file__).resolve().parent
LOGIN_CSRF_COOKIE = "cityflow_login_csrf"



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
        "absence.added": "recorded an absence", "absence.ended": "ended an absence",
        "instance.shared": "shared the case", "task.opened": "opened", "task.overridden": "acted in place of",
        "timer.fired": "went off", "instance.migrated": "moved to a new version",
        "person.added": "registered a person", "person.changed": "changed a person",
        "person.viewed": "read a person's contacts", "person.refused": "was refused a person's contacts",
        "person.linked": "linked a person", "person.unlinked": "unlinked a person",
        "person.erased": "erased a person at their request",
        "task.error_thrown": "reported a business error",
        "task.error_uncaught": "reported an error nothing catches",
        "task.escalation_thrown": "escalated",
        "task.escalation_uncaught": "escalated where nothing catches it",
        "external_task.locked": "taken by an outside system",
        "external_task.completed": "done by an outside system",
        "external_task.failed": "an outside system failed, to be tried again",
        "external_task.incident": "an outside system failed for good",
        "external_task.bpmn_error": "an outside system reported a business error",
        "external_task.bpmn_error_uncaught": "an outside system reported an error nothing catches",
        "external_task.lock_extended": "an outside system kept it longer",
        "external_task.unlocked": "an outside system gave it back",
        "external_task.refused": "an outside system was refused",
    }
    return (lambda s: gettext(statuses.get(s, s))), (lambda a: gettext(actions.get(a, a)))


@dataclass(frozen=True)
class WebUser:
    principal: Principal
    csrf_token: str
    locale: str
    unread: int = 0
    now: datetime | None = None
    zone: tzinfo = UTC  # the city's (CITYFLOW_TIMEZONE): dates and times are shown and read in it


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
            principal, row = identity.caller(session, cookie, "web")
        except NotAuthenticated as exc:
            raise LoginRequired("your session has ended; log in again") from exc
        if roles and not principal.has_role(*roles):
            raise NotAllowed(f"this page needs the role {' or '.join(roles)}")
        request.state.principal = principal
        shared = services(request)
        return WebUser(principal, row.csrf_token or "", choose(request, principal.locale),
                       notifications.unread_count(session, principal.username), shared.ctx.clock(),
                       shared.settings.zone)

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


def in_zone(zone: tzinfo) -> Callable[..., str]:
    """How pages write a moment (a datetime or an ISO string): on the city's wall clock."""

    def local(moment: datetime | str | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
        if moment is None or moment == "":
            return "—"
        value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        return value.astimezone(zone).strftime(pattern)

    return local


def render(request: Request, name: str, viewer: WebUser | None, status: int = 200, **context: Any) -> HTMLResponse:
    locale = viewer.locale if viewer else choose(request)
    status_label, action_label = _labels(locale)
    zone = viewer.zone if viewer else services(request).settings.zone
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
        local=in_zone(zone),
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    if request.query_params.get("lang") in ("ko", "en"):
        response.set_cookie(LANGUAGE_COOKIE, request.query_params["lang"], max_age=365 * 86400, samesite="lax")
    return response


def see_other(url: str, notice: str | None = None) -> RedirectResponse:
    if notice:
        url += ("&" if "?" in url else "?") + "notice=" + quote(notice)
    return RedirectResponse(url, status_code=303)


def process_labels(session: Session) -> dict[str, Labels]:
    """Each deployed process's words (``labels.json`` of its newest version), by process key."""
    return {row.key: labels_of(row) for row in definitions.latest_versions(session)}


def process_names(session: Session, locale: str | None = None) -> dict[str, str]:
    """Each deployed process's name by key: in ``locale`` where its labels say it, else as its BPMN does."""
    return {row.key: labels_of(row).process(locale, row.name) if locale else row.name
            for row in definitions.latest_versions(session)}


def value_words(labels: Labels, locale: str) -> Callable[[str | None, Any], str]:
    """``word(key, value)``: a coded value of a data key (a status, a category) in the page's language,
    else the value as it is."""

    def word(key: str | None, value: Any) -> str:
        if value is None or value == "":
            return "—"
        return (labels.value(key, value, locale) if key else None) or str(value)

    return word


def _viewer(request: Request) -> WebUser | None:
    """Who sees a failure page, when the browser brings a live session: their language and their menu."""
    if not request.cookies.get(SESSION_COOKIE):
        return None
    try:
        with services(request).database.unit_of_work() as session:
            return page()(request, session)
    except Exception:  # the failure page shows without them rather than fail in turn
        return None


def page_error(request: Request, error: CityflowError, status: int | None = None) -> Response:
    """How a failure looks on a page: log in again, or a short explanation in the user's language
    with a way back (to the task's case when the task is done already)."""
    if isinstance(error, LoginFailed):
        return render(request, "login.html", None, status=401, login_csrf=error.login_csrf, next=error.next_page,
                      username=error.username, error=error.detail)
    if isinstance(error, LoginRequired) or (isinstance(error, NotAuthenticated) and request.method == "GET"):
        return see_other(f"/login?next={quote(request.url.path)}")
    from api.errors import message_of, status_of

    status = status or status_of(error)
    viewer = _viewer(request) if status < 500 else None  # a server failure may be the database's own
    gettext = translations(viewer.locale if viewer else choose(request)).gettext
    headings = {403: gettext("Not allowed"), 404: gettext("Page not found"), 405: gettext("Not available"),
                409: gettext("Already done"), 413: gettext("Too large"), 422: gettext("Please check your input")}
    heading, case_url = headings.get(status, gettext("Something went wrong")), None
    message = message_of(error, viewer.locale if viewer else choose(request))
    if status == 404:
        message = gettext("There is no page at this address: it may be mistyped, or what it showed is gone.")
    elif status == 405:
        message = gettext("This address is not opened directly; please use the buttons on the page.")
    elif status >= 500:
        message = gettext("Something went wrong on the server. It has been recorded; please try again shortly.")
    elif isinstance(error, TaskNotReady):
        heading = gettext("This task is already done")
        message = gettext("Someone has completed this task, or it was withdrawn, so it waits for no one now. "
                          "The case shows how it went and what comes next.")
        case_url = f"/instances/{quote(error.instance_id)}" if error.instance_id else None
    return render(request, "error.html", viewer, status=status, heading=heading, message=message,
                  case_url=case_url)


# The forms' script, served as a file so that pages need no inline script (see api.app's policy).
FORM_SCRIPT = "/static/form.js"


def mount_static(app: FastAPI) -> None:
    @app.get(FORM_SCRIPT, include_in_schema=False, dependencies=[Public])
    def form_script() -> FileResponse:
        return FileResponse(forms_render.SCRIPT, media_type="text/javascript")

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.state.page_error = page_error


def read_submission(form: Form, posted: FormData, viewer: WebUser) -> Submission:
    """What a person posted on ``form``: its fields and the files they chose, in their time zone."""
    fields = {name: [v for v in posted.getlist(name) if isinstance(v, str)] for name in posted}
    files: dict[str, list[UploadedFile]] = {}
    for name, value in posted.multi_items():
        if isinstance(value, UploadFile) and value.filename:
            files.setdefault(name, []).append(
                UploadedFile(value.filename, value.content_type or "", value.file.read(attachments.MAX_BYTES + 1)))
    return parse_submission(form, fields, files, zone=viewer.zone)

