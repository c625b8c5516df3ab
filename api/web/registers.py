"""Registers and the dashboard: the directive register, the pledge board, at a glance — each read
from the register its process declares (``register.json``), its statuses, categories and steps in
the reader's language (the process's ``labels.json``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlalchemy.orm import Session

from api.deps import ServicesDep, SessionDep
from api.web import charts
from api.web import schedule as schedule_pages
from api.web.absences import person
from api.web.common import (
    Viewer,
    WebUser,
    process_labels,
    render,
    value_words,
)
from api.web.i18n import translations
from engine import commands, registry, schedule, worklist
from engine.errors import CityflowError, ProcessNotFound
from engine.labels import NONE, Labels

router = APIRouter(include_in_schema=False)
T = TypeVar("T")


@router.get("/directives", response_class=HTMLResponse)
def directives_page(
    request: Request, viewer: Viewer, session: SessionDep, services: ServicesDep,
    department: str | None = None, status: str | None = None, overdue: str | None = None, offset: int = 0,
) -> HTMLResponse:
    filters = {"department": department, "status": status, "overdue": True if overdue == "1" else None}
    register = registry.register(session, "directive", services.ctx.clock(), filters=filters, offset=offset,
                                 reader=viewer.principal)
    gives = commands.may_start_and_complete(session, services.ctx, viewer.principal, "directive", "register_directive")
    return render(request, "directives.html", viewer, section="directives", register=register,
                  word=value_words(process_labels(session).get("directive", NONE), viewer.locale),
                  filters={"department": department, "status": status, "overdue": overdue}, gives_directives=gives)


@router.get("/pledges", response_class=HTMLResponse)
def pledges_page(
    request: Request, viewer: Viewer, session: SessionDep,
    department: str | None = None, status: str | None = None, offset: int = 0,
) -> HTMLResponse:
    board = registry.register(session, "pledge", filters={"department": department, "status": status}, offset=offset,
                              reader=viewer.principal)
    return render(request, "pledges.html", viewer, section="pledges", board=board,
                  word=value_words(process_labels(session).get("pledge", NONE), viewer.locale),
                  filters={"department": department, "status": status})


def _deployed(read: Callable[[], T]) -> T | None:
    """What a part of the dashboard shows, or None while its process is not deployed."""
    try:
        return read()
    except ProcessNotFound:
        return None


def _waiting_in_words(session: Session, viewer: WebUser, waiting: registry.Waiting, labels: Labels) -> None:
    """The oldest waiting tasks with their step in the reader's language and whom they wait for by name."""
    named = worklist.users_named(session, sorted({t["assignee"] for t in waiting.oldest if t["assignee"]}))
    for task in waiting.oldest:
        try:
            element_id = worklist.open_task(session, task["id"]).element_id
        except CityflowError:  # it was done meanwhile
            element_id = None
        task["step"] = labels.element(element_id, viewer.locale, task["name"])
        task["waits_for"] = person(named.get(task["assignee"] or ""), "") or None


@dataclass(frozen=True)
class Part:
    """A register the dashboard counts: its figures, and where its numbers lead."""

    register: registry.Register
    link: str
    word: Callable[[str | None, Any], str]

    @property
    def open(self) -> int:
        """Its matters in no closed status."""
        closed = set(self.register.declaration.closed)
        return sum(count for status, count in self.register.by_status.items() if status not in closed)


def _part(session: Session, viewer: WebUser, now: datetime, key: str, labels: dict[str, Labels]) -> Part | None:
    found = _deployed(lambda: registry.register(session, key, now, limit=0))
    if found is None:
        return None
    return Part(found, f"/registers/{key}", value_words(labels.get(key, NONE), viewer.locale))


def _trend(session: Session, viewer: WebUser, now: datetime, key: str, gettext: Callable[[str], str],
           begun: str, ended: str, caption: str) -> Markup | None:
    months = _deployed(lambda: registry.by_month(session, key, now, viewer.zone))
    if months is None:
        return None
    return charts.month_bars([m.month for m in months], [
        charts.Series(gettext(begun), [m.started for m in months], "cf-series-a"),
        charts.Series(gettext(ended), [m.ended for m in months], "cf-series-b"),
    ], gettext(caption))


def _today(session: Session, viewer: WebUser, now: datetime) -> tuple[str | None, list[schedule_pages.Shown]]:
    """Today in the first kept schedule (the mayor's), as the viewer may see it."""
    kept = schedule.kept_schedules(session)
    if not kept:
        return None, []
    local = now.astimezone(viewer.zone)
    starts = local.replace(hour=0, minute=0, second=0, microsecond=0)
    entries = schedule.between(session, viewer.principal, kept[0].username, starts, starts + timedelta(days=1))
    return person(kept[0], ""), schedule_pages.agenda(session, viewer, entries, local.date())


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, viewer: Viewer, session: SessionDep, services: ServicesDep) -> HTMLResponse:
    """At a glance (의사결정지원, 한눈에): today's schedule, directives, pending issues, items of interest,
    indicators, pledges, approvals waiting and field reports — each number a link to its register."""
    now = services.ctx.clock()
    labels = process_labels(session)
    gettext = translations(viewer.locale).gettext
    approvals = registry.waiting_tasks(session, "approval", now, reader=viewer.principal)
    _waiting_in_words(session, viewer, approvals, labels.get("approval", NONE))
    owner, today = _today(session, viewer, now)
    parts = {key: _part(session, viewer, now, key, labels)
             for key in ("directive", "pledge", "pending_issue", "interest", "indicator", "field_report")}
    return render(
        request, "dashboard.html", viewer, section="dashboard",
        register=parts["directive"].register if parts["directive"] else None,
        board=parts["pledge"].register if parts["pledge"] else None,
        parts=parts, approvals=approvals, schedule_owner=owner, today=today,
        field_reports=_deployed(lambda: registry.open_by(session, "field_report", "category")) or {},
        issues_by_urgency=_deployed(lambda: registry.open_by(session, "pending_issue", "category")) or {},
        directive_word=value_words(labels.get("directive", NONE), viewer.locale),
        report_word=value_words(labels.get("field_report", NONE), viewer.locale),
        trends=[chart for chart in (
            _trend(session, viewer, now, "directive", gettext, "Given", "Closed", "Directives by month"),
            _trend(session, viewer, now, "pending_issue", gettext, "Registered", "Resolved",
                   "Pending issues by month"),
            _trend(session, viewer, now, "field_report", gettext, "Reported", "Handled", "Field reports by month"),
        ) if chart is not None],
    )
