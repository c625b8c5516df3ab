"""Tasks waiting for people: find, look at, claim, hand on, save a draft, complete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from api.deps import AnswerShapeDep, Anyone, ServicesDep, SessionDep, Staff
from api.routes.instances import CaseAnswer, case_answer
from api.schemas import (
    CompleteRequest,
    DelegateRequest,
    DraftRequest,
    FormOut,
    TaskDetail,
    TaskOut,
    TaskPage,
    ThrowRequest,
    task_out,
    waiting_out,
)
from engine import commands, definitions, worklist
from engine.identity import Principal
from engine.models import OpenTask, ProcessVersion
from forms.definition import Form

router = APIRouter(prefix="/api/tasks", tags=["tasks"])


@router.get("", response_model=TaskPage)
def list_tasks(
    principal: Anyone,
    session: SessionDep,
    services: ServicesDep,
    scope: Annotated[str, Query(pattern="^(mine|group|all)$")] = "all",
    process_key: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sort: Annotated[str, Query(pattern="^(age|due)$")] = "age",
) -> TaskPage:
    """Ready tasks the caller may act on: ``mine``, my groups', or ``all`` of those, oldest first
    (``sort=due``: due soonest first, those without a due date last); ``q`` keeps the cases whose
    title holds it. Each brings its case's title, process name, who started it and urgency."""
    rows, next_cursor = worklist.find_waiting(session, principal, scope, process_key, limit, cursor, q=q, sort=sort)
    named = worklist.users_named(session, sorted({row.started_by for row in rows if row.started_by}))
    now = services.ctx.clock()
    return TaskPage(items=[waiting_out(row, named, now) for row in rows], next_cursor=next_cursor)


def task_form(session: Session, task: OpenTask) -> tuple[dict[str, Any] | None, ProcessVersion]:
    instance = worklist.instance_of(session, task)
    version = definitions.version_of(session, instance.process_version_id)
    return definitions.form_document(version, task.element_id, task.form_key), version


def task_detail(session: Session, principal: Principal, task: OpenTask) -> TaskDetail:
    document, _ = task_form(session, task)
    instance = worklist.instance_of(session, task)
    form = None
    if document is not None:
        parsed = Form.from_document(document)
        form = FormOut(schema=parsed.schema, ui=parsed.ui)
    return TaskDetail(
        **task_out(task).model_dump(),
        form=form,
        data=instance.data,
        draft=worklist.draft_of(session, principal, task.id),
    )


@router.get("/{task_id}", response_model=TaskDetail, response_model_by_alias=True)
def get_task(task_id: str, principal: Anyone, session: SessionDep, services: ServicesDep) -> TaskDetail:
    """A task with its form and data; the first look by someone it is offered to opens it (개봉)."""
    return task_detail(session, principal, commands.open_task(session, services.ctx, principal, task_id))


@router.post("/{task_id}/claim", response_model=TaskOut)
def claim(task_id: str, principal: Staff, session: SessionDep, services: ServicesDep) -> TaskOut:
    return task_out(commands.claim(session, services.ctx, principal, task_id))


@router.post("/{task_id}/unclaim", response_model=TaskOut)
def unclaim(task_id: str, principal: Staff, session: SessionDep, services: ServicesDep) -> TaskOut:
    return task_out(commands.unclaim(session, services.ctx, principal, task_id))


@router.post("/{task_id}/delegate", response_model=TaskOut)
def delegate(
    task_id: str, body: DelegateRequest, principal: Staff, session: SessionDep, services: ServicesDep,
) -> TaskOut:
    return task_out(commands.delegate(session, services.ctx, principal, task_id, body.user))


@router.put("/{task_id}/draft", status_code=204)
def save_draft(task_id: str, body: DraftRequest, principal: Staff, session: SessionDep, services: ServicesDep) -> None:
    commands.save_draft(session, services.ctx, principal, task_id, body.data)


@router.post("/{task_id}/bpmn-error", response_model=CaseAnswer)
def throw_error(
    task_id: str, body: ThrowRequest, principal: Staff, session: SessionDep, services: ServicesDep,
    shape: AnswerShapeDep,
) -> CaseAnswer:
    """Say the task cannot be done as drawn: the BPMN error ``code`` goes to the task's error boundary
    event for it (or a sub-process's), which takes the case on; 409 when none catches it."""
    instance = commands.throw_from_task(session, services.ctx, principal, task_id, "error", body.code, body.message,
                                        body.data)
    return case_answer(session, instance, shape, services.ctx)


@router.post("/{task_id}/escalation", response_model=CaseAnswer)
def throw_escalation(
    task_id: str, body: ThrowRequest, principal: Staff, session: SessionDep, services: ServicesDep,
    shape: AnswerShapeDep,
) -> CaseAnswer:
    """Escalate the task: the escalation ``code`` goes to its escalation boundary event for it (a
    non-interrupting one leaves the task open); 409 when none catches it."""
    instance = commands.throw_from_task(session, services.ctx, principal, task_id, "escalation", body.code,
                                        body.message, body.data)
    return case_answer(session, instance, shape, services.ctx)


@router.post("/{task_id}/complete", response_model=CaseAnswer)
def complete(
    task_id: str, body: CompleteRequest, principal: Staff, session: SessionDep, services: ServicesDep,
    shape: AnswerShapeDep,
) -> CaseAnswer:
    """Complete a task offered to the caller with its form's data (only its form's fields: 422 names
    any other); the engine runs on. A comment, if given, is added to the case. The whole case comes
    back, or its brief with ``Prefer: return=minimal``."""
    instance = commands.complete(session, services.ctx, principal, task_id, body.data)
    if body.comment:
        commands.comment(session, services.ctx, principal, instance.id, body.comment, task_id)
    return case_answer(session, instance, shape, services.ctx)
