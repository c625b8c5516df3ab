"""Registers and the dashboard: the directive register, the pledge board, at a glance — each read
from the register its process declares (``register.json``), its statuses, categories and steps in
the reader's language (the process's ``labels.json``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from api.deps import ServicesDep, SessionDep
from api.web.absences import person
from api.web.common import (
    Viewer,
    WebUser,
    process_labels,
    render,
    value_words,
)
from engine import commands, registry, worklist
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


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, viewer: Viewer, session: SessionDep, services: ServicesDep) -> HTMLResponse:
    """At a glance (의사결정지원): directives, 이행률, pledges, approvals waiting, field reports open."""
    now = services.ctx.clock()
    labels = process_labels(session)
    approvals = registry.waiting_tasks(session, "approval", now, reader=viewer.principal)
    _waiting_in_words(session, viewer, approvals, labels.get("approval", NONE))
    return render(
        request, "dashboard.html", viewer, section="dashboard",
        register=_deployed(lambda: registry.register(session, "directive", now, limit=0)),
        board=_deployed(lambda: registry.register(session, "pledge", limit=0)),
        approvals=approvals,
        field_reports=_deployed(lambda: registry.open_by(session, "field_report", "category")) or {},
        directive_word=value_words(labels.get("directive", NONE), viewer.locale),
        report_word=value_words(labels.get("field_report", NONE), viewer.locale),
    )
