"""Tasks waiting for people: find, look at, claim, hand on, save a draft, complete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from api.deps import Anyone, ServicesDep, SessionDep, Staff
from api.errors import FormInvalid
from api.routes.instances import instance_view
from api.schemas import (
    CompleteRequest,
    DelegateRequest,
    DraftRequest,
    FormOut,
    InstanceOut,
    TaskDetail,
    TaskOut,
    TaskPage,
    task_out,
)
from engine import attachments, definitions, worklist
from engine.identity import Principal
from engine.models import Instance, OpenTask, ProcessVersion
from forms.definition import Form
from forms.validation import validate

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
) -> TaskPage:
    """Ready tasks the caller may act on: ``mine``, my groups', or ``all`` of those."""
    rows, next_cursor = worklist.find_tasks(session, principal, scope, process_key, limit, cursor)
    now = services.ctx.clock()
    return TaskPage(items=[task_out(row, now) for row in rows], next_cursor=next_cursor)


def task_form(session: Session, task: OpenTask) -> tuple[dict[str, Any] | None, ProcessVersion]:
    instance = session.get(Instance, task.instance_id)
    assert instance is not None
    version = session.get(ProcessVersion, instance.process_version_id)
    assert version is not None
    return definitions.form_document(version, task.element_id, task.form_key), version


def task_detail(session: Session, principal: Principal, task: OpenTask) -> TaskDetail:
    document, _ = task_form(session, task)
    instance = session.get(Instance, task.instance_id)
    form = None
    if document is not None:
        parsed = Form.from_document(document)
        form = FormOut(schema=parsed.schema, ui=parsed.ui)
    return TaskDetail(
        **task_out(task).model_dump(),
        form=form,
        data=instance.data if instance else {},
        draft=worklist.draft_of(session, principal, task.id),
    )


@router.get("/{task_id}", response_model=TaskDetail, response_model_by_alias=True)
def get_task(task_id: str, principal: Anyone, session: SessionDep, services: ServicesDep) -> TaskDetail:
    """A task with its form and data; the first look by someone it is offered to opens it (개봉)."""
    return task_detail(session, principal, worklist.get_task(session, principal, task_id, services.ctx.clock()))


@router.post("/{task_id}/claim", response_model=TaskOut)
def claim(task_id: str, principal: Staff, session: SessionDep) -> TaskOut:
    return task_out(worklist.claim(session, principal, task_id))


@router.post("/{task_id}/unclaim", response_model=TaskOut)
def unclaim(task_id: str, principal: Staff, session: SessionDep) -> TaskOut:
    return task_out(worklist.unclaim(session, principal, task_id))


@router.post("/{task_id}/delegate", response_model=TaskOut)
def delegate(task_id: str, body: DelegateRequest, principal: Staff, session: SessionDep) -> TaskOut:
    return task_out(worklist.delegate(session, principal, task_id, body.user))


@router.put("/{task_id}/draft", status_code=204)
def save_draft(task_id: str, body: DraftRequest, principal: Staff, session: SessionDep) -> None:
    worklist.save_draft(session, principal, task_id, body.data)


def check_form(session: Session, task: OpenTask, data: dict[str, Any], locale: str) -> None:
    """422 naming each field when ``data`` does not satisfy the task's form."""
    document, _ = task_form(session, task)
    errors = [] if document is None else [
        {"field": e.field, "message": e.message} for e in validate(Form.from_document(document), data, locale=locale)
    ]
    errors += [{"field": f, "message": m} for f, m in attachments.bad_references(session, task.instance_id, data)]
    if errors:
        raise FormInvalid(errors)


@router.post("/{task_id}/complete", response_model=InstanceOut)
def complete(
    task_id: str, body: CompleteRequest, principal: Staff, session: SessionDep, services: ServicesDep
) -> InstanceOut:
    """Complete a task offered to the caller with the form's data; the engine runs on."""
    task = worklist.open_task(session, task_id)
    if worklist.acting_for(principal, task) is not None:
        check_form(session, task, body.data, principal.locale)
    instance = worklist.complete(session, services.ctx, principal, task_id, body.data)
    if body.comment:
        worklist.add_comment(session, principal, instance.id, body.comment, task_id)
    return instance_view(session, instance, services.ctx.clock())
