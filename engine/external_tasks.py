"""External tasks: service tasks done by systems outside cityflow, in the shape of Camunda 7's
external task REST API.

A service task with ``camunda:type="external" camunda:topic="X"`` (or Camunda 8's
``<zeebe:taskDefinition type="X"/>``) calls no Python handler: reaching it leaves a job of topic X
(``jobs.topic``). A worker — the accounting or SMS system, with a service account (role
``service``, group ``topic:X``; the rule is ``engine.access.works_on_topic``) — fetches and locks
jobs of its topics for a while, then completes them with variables the process goes on with,
reports a failure (fetchable again after a pause while it says retries are left; with none left,
an incident like a failed handler's) or a BPMN error that an error boundary event of the task, or
of a sub-process around it, catches.

Locks: fetching takes jobs ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; on SQLite one writer at a time),
so two servers never hand out one job; a job is its worker's until the lock runs out, then any
worker may fetch it. Only the worker holding a job completes, fails, extends or unlocks it —
anyone else is refused (``ExternalTaskLocked``, recorded).

Variables travel in Camunda's typed shape, ``{"amount": {"value": 1, "type": "Integer"}}``, both ways.
Every lock, completion, failure, BPMN error, lock extension and unlock is a record on the instance's
trail, in the transaction of the change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.task import Task
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine import access, audit, instances
from engine.context import EngineContext
from engine.errors import Conflict, FormInvalid, InstanceNotActive, InvalidInput, NotFound
from engine.identity import Principal
from engine.models import RUNNING, Instance, Job
from engine.runtime import catching_boundary, jsonable, throw_to
from engine.worker import _started_task

MAX_LOCK_MS = 7 * 24 * 3600 * 1000  # a week: a lock longer than that is a worker that forgot to ask again
MAX_TASKS = 100
_INTEGERS = {"integer": 2**31, "short": 2**15, "long": 2**63}


class ExternalTaskNotFound(NotFound):
    """No external task by that id waits (it never did, or it is done)."""


class ExternalTaskLocked(Conflict):
    """The external task is locked by another worker, or by none (fetch it first)."""


class BpmnErrorUncaught(Conflict):
    """A worker reported a BPMN error that no error boundary event around its task catches."""


@dataclass(frozen=True)
class TopicRequest:
    """One topic a worker fetches: its name, how long to lock (milliseconds), which variables (None: all)."""

    name: str
    lock_ms: int
    variables: list[str] | None = None


@dataclass(frozen=True)
class ExternalTask:
    """An external task as a worker sees it; ``variables`` in Camunda's typed shape when fetched."""

    job: Job
    instance: Instance
    variables: dict[str, dict[str, Any]] | None = None


# -- variables in Camunda's typed shape ---------------------------------------------------------


def typed(value: Any) -> dict[str, Any]:
    """A variable as Camunda's REST API gives it: ``{"value", "type", "valueInfo"}``."""
    if value is None:
        return {"value": None, "type": "Null", "valueInfo": {}}
    if isinstance(value, bool):
        return {"value": value, "type": "Boolean", "valueInfo": {}}
    if isinstance(value, int):
        return {"value": value, "type": "Integer" if -(2**31) <= value < 2**31 else "Long", "valueInfo": {}}
    if isinstance(value, float):
        return {"value": value, "type": "Double", "valueInfo": {}}
    if isinstance(value, str):
        return {"value": value, "type": "String", "valueInfo": {}}
    return {"value": json.dumps(jsonable(value), ensure_ascii=False), "type": "Json", "valueInfo": {}}


def untyped(variables: Any) -> dict[str, Any]:
    """Variables sent in Camunda's typed shape as plain values; every one that is not usable is named (422)."""
    if variables is None:
        return {}
    if not isinstance(variables, dict):
        raise InvalidInput('variables are a JSON object: {"name": {"value": …, "type": "String"}, …}')
    values: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    for name, variable in variables.items():
        try:
            if not name.isidentifier() or name.startswith("_"):
                raise ValueError("a variable's name is letters, digits and _, not starting with a digit or _")
            values[name] = _value_of(variable)
        except ValueError as exc:
            errors.append({"field": f"variables.{name}", "message": str(exc)})
    if errors:
        raise FormInvalid(errors)
    return values


def _value_of(variable: Any) -> Any:
    if not isinstance(variable, dict) or "value" not in variable:
        raise ValueError('give it as {"value": …, "type": …}')
    value, kind = variable["value"], str(variable.get("type") or "").lower()
    if value is None or kind == "null":
        return None
    if kind == "":
        return jsonable(value)
    if kind == "string" and isinstance(value, str):
        return value
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind in _INTEGERS and isinstance(value, int) and not isinstance(value, bool):
        if not -_INTEGERS[kind] <= value < _INTEGERS[kind]:
            raise ValueError(f"{value} is out of the range of {variable['type']}")
        return value
    if kind == "double" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind == "date" and isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"'{value}' is not a date and time (ISO 8601)") from None
        return value
    if kind in ("json", "object"):
        info = variable.get("valueInfo") or {}
        if kind == "object" and info.get("serializationDataFormat", "application/json") != "application/json":
            raise ValueError("an Object is kept only as JSON (serializationDataFormat application/json)")
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"its value is not JSON: {exc}") from None
        return jsonable(value)
    if kind in ("string", "boolean", "double", "date", *_INTEGERS):
        raise ValueError(f"{json.dumps(value, ensure_ascii=False)[:100]} is not a {variable['type']}")
    raise ValueError(f"the type '{variable.get('type')}' is not kept here: use String, Boolean, Integer, Short, "
                     "Long, Double, Date, Json, Object (as JSON) or Null")


# -- fetching and locking -----------------------------------------------------------------------


def fetch_and_lock(
    session: Session, ctx: EngineContext, principal: Principal, worker_id: str, topics: list[TopicRequest],
    max_tasks: int,
) -> list[ExternalTask]:
    """Lock up to ``max_tasks`` due external tasks of ``topics`` for ``worker_id``, oldest first, each
    for its topic's lock duration; every topic must be the caller's (403 naming the first that is not)."""
    worker_id = _worker(worker_id)
    if not topics:
        raise InvalidInput("name at least one topic to fetch")
    if not 1 <= max_tasks <= MAX_TASKS:
        raise InvalidInput(f"maxTasks is between 1 and {MAX_TASKS}")
    wanted: dict[str, TopicRequest] = {}
    for topic in topics:
        access.require_works_on_topic(principal, topic.name)
        if not 1 <= topic.lock_ms <= MAX_LOCK_MS:
            raise InvalidInput(f"lockDuration of '{topic.name}' is between 1 and {MAX_LOCK_MS} milliseconds")
        wanted[topic.name] = topic
    now = ctx.clock()
    fetched: list[ExternalTask] = []
    passed: set[int] = set()  # held by another transaction's instance lock, or no longer waiting
    while len(fetched) < max_tasks:
        query = (
            select(Job).join(Instance, Instance.id == Job.instance_id)
            .where(Job.topic.in_(wanted), Job.status == "pending", Job.due_at <= now,
                   or_(Job.locked_until.is_(None), Job.locked_until <= now), Instance.status == RUNNING)
            .order_by(Job.due_at, Job.id).limit(max_tasks - len(fetched))
            .with_for_update(of=Job, skip_locked=True).execution_options(populate_existing=True)
        )
        if passed:
            query = query.where(Job.id.not_in(passed))
        jobs = session.execute(query).scalars().all()
        if not jobs:
            break
        for job in jobs:
            passed.add(job.id)
            locked = _lock(session, ctx, principal, job, worker_id, wanted[str(job.topic)], now)
            if locked is not None:
                fetched.append(locked)
    return fetched


def _lock(session: Session, ctx: EngineContext, principal: Principal, job: Job, worker_id: str,
          topic: TopicRequest, now: datetime) -> ExternalTask | None:
    instance = instances.try_lock_instance(session, job.instance_id)
    if instance is None or instance.status != RUNNING:
        return None  # another server is changing it: the job is fetched next time
    bundle, workflow = instances.load(session, ctx, instance)
    task = _started_task(workflow, job.task_id)
    if task is None:  # the task was cancelled meanwhile (an interrupting event, a terminate end)
        session.delete(job)
        return None
    entry = audit.Entry(action="external_task.locked", actor=principal.username, task_id=job.task_id,
                        element_id=job.element_id, at=now)
    try:  # camunda:inputParameter, as the task's local variables
        params = {k: v["value"] for k, v in task.task_spec.evaluate_params(task).items()}
    except Exception as exc:  # a designer's expression failed: nobody can do this task as drawn
        job.status, job.last_error = "incident", f"an input parameter failed: {exc}"[:2000]
        entry.action, entry.detail = "external_task.incident", {"topic": job.topic, "error": job.last_error}
        audit.append_to_instance(session, instance, [entry], bundle.version_hash)
        session.flush()
        return None
    data = jsonable({**task.data, **params})
    names = data.keys() if topic.variables is None else [n for n in topic.variables if n in data]
    job.worker_id, job.locked_until = worker_id, now + timedelta(milliseconds=topic.lock_ms)
    entry.detail = {"topic": job.topic, "worker": worker_id, "locked_until": audit.timestamp(job.locked_until)}
    audit.append_to_instance(session, instance, [entry], bundle.version_hash)
    session.flush()  # the next job of this instance reads its trail's head from the row
    return ExternalTask(job, instance, {name: typed(data[name]) for name in names})


def _worker(worker_id: str) -> str:
    worker_id = (worker_id or "").strip()
    if not worker_id or len(worker_id) > 200:
        raise InvalidInput("workerId names the worker in 1 to 200 characters")
    return worker_id


def _held(session: Session, ctx: EngineContext, principal: Principal, task_id: str, worker_id: str,
          attempted: str) -> tuple[Instance, Job]:
    """The instance (locked) and the external task ``task_id`` that ``worker_id`` holds; a task held by
    another worker, or by none, is refused (409) and the refusal recorded."""
    worker_id = _worker(worker_id)
    instance, job = _of_topic(session, principal, task_id)
    if job.worker_id != worker_id or job.status != "pending":
        held = ("is an incident until an admin retries it" if job.status == "incident"
                else f"is locked by the worker '{job.worker_id}'" if job.worker_id else "is not locked; fetch it first")
        audit.append_to_instance(session, instance, [audit.Entry(
            action="external_task.refused", actor=principal.username, task_id=job.task_id, element_id=job.element_id,
            detail={"topic": job.topic, "worker": worker_id, "attempted": attempted, "held_by": job.worker_id},
            at=ctx.clock())], None)
        raise ExternalTaskLocked(f"external task '{task_id}' {held}: the worker '{worker_id}' may not {attempted} it",
                                 recorded=True)
    return instance, job


def _of_topic(session: Session, principal: Principal, task_id: str) -> tuple[Instance, Job]:
    """The instance (locked) and the external task ``task_id``, when the caller works on its topic."""
    instance_id = session.execute(
        select(Job.instance_id).where(Job.task_id == task_id, Job.topic.is_not(None))).scalar_one_or_none()
    if instance_id is None:
        raise ExternalTaskNotFound(f"no external task '{task_id}' waits")
    instance = instances.lock_instance(session, instance_id)
    job = session.execute(select(Job).where(Job.task_id == task_id).with_for_update()
                          .execution_options(populate_existing=True)).scalar_one_or_none()
    if job is None:
        raise ExternalTaskNotFound(f"no external task '{task_id}' waits")
    access.require_works_on_topic(principal, str(job.topic))
    if instance.status != RUNNING:
        raise InstanceNotActive(f"instance '{instance.id}' is {instance.status}")
    return instance, job


def _detail(job: Job, worker_id: str, **more: Any) -> dict[str, Any]:
    return {"topic": job.topic, "worker": worker_id.strip(), **more}


# -- what a worker reports ----------------------------------------------------------------------


def complete(session: Session, ctx: EngineContext, principal: Principal, task_id: str, worker_id: str,
             variables: Any) -> Instance:
    """The worker did the task: its variables join the data and the process goes on."""
    instance, job = _held(session, ctx, principal, task_id, worker_id, "complete")
    values = untyped(variables)
    bundle, workflow = instances.load(session, ctx, instance)
    task = _waiting(workflow, job)
    done = audit.Entry(action="external_task.completed", actor=principal.username, task_id=job.task_id,
                       element_id=job.element_id, detail=_detail(job, worker_id, attempts=job.attempts + 1))

    def finish(_: Any) -> None:
        task.data.update(values)
        task.complete()

    session.delete(job)
    return instances.transition(session, ctx, instance, instances.Step(
        principal.username, leading=[done], act=finish, default_actor=principal.username), (bundle, workflow))


def report_failure(session: Session, ctx: EngineContext, principal: Principal, task_id: str, worker_id: str,
                   error_message: str | None, error_details: str | None, retries: int, retry_timeout_ms: int) -> Job:
    """The worker could not do the task: with ``retries`` left it is fetchable again after
    ``retry_timeout_ms``; with none, it is an incident (listed with the incidents, retried by an admin)."""
    instance, job = _held(session, ctx, principal, task_id, worker_id, "report a failure of")
    if retries < 0 or retry_timeout_ms < 0:
        raise InvalidInput("retries and retryTimeout are 0 or more")
    now = ctx.clock()
    job.attempts += 1
    job.retries = retries
    job.last_error = (error_message or "the worker reported a failure")[:2000]
    job.error_details = error_details[:100_000] if error_details else None
    job.worker_id = job.locked_until = None
    if retries == 0:
        job.status, action = "incident", "external_task.incident"
    else:
        job.due_at, action = now + timedelta(milliseconds=retry_timeout_ms), "external_task.failed"
    audit.append_to_instance(session, instance, [audit.Entry(
        action=action, actor=principal.username, task_id=job.task_id, element_id=job.element_id, at=now,
        detail=_detail(job, worker_id, error=job.last_error, retries=retries,
                       fetchable_at=audit.timestamp(job.due_at) if retries else None))], None)
    session.flush()
    return job


def report_bpmn_error(session: Session, ctx: EngineContext, principal: Principal, task_id: str, worker_id: str,
                      error_code: str, error_message: str | None, variables: Any) -> Instance:
    """The worker met a business error the process models: the error boundary event of the task (or
    of a sub-process around it) that catches ``error_code`` takes the process on, with the variables.
    When none catches it nothing changes but the record of the attempt (409 ``BpmnErrorUncaught``)."""
    instance, job = _held(session, ctx, principal, task_id, worker_id, "report a BPMN error of")
    code = (error_code or "").strip()
    if not code:
        raise InvalidInput("errorCode names the error")
    values = untyped(variables)
    bundle, workflow = instances.load(session, ctx, instance)
    task = _waiting(workflow, job)
    catcher = catching_boundary(task, ErrorEventDefinition, code)
    detail = _detail(job, worker_id, error_code=code, error_message=(error_message or "")[:2000] or None)
    if catcher is None:
        audit.append_to_instance(session, instance, [audit.Entry(
            action="external_task.bpmn_error_uncaught", actor=principal.username, task_id=job.task_id,
            element_id=job.element_id, detail=detail, at=ctx.clock())], bundle.version_hash)
        raise BpmnErrorUncaught(
            f"no error boundary event of '{task.task_spec.bpmn_name or job.element_id}' or of a sub-process around "
            f"it catches the error code '{code}': nothing changed; report a failure instead", recorded=True)
    raised = audit.Entry(action="external_task.bpmn_error", actor=principal.username, task_id=job.task_id,
                         element_id=job.element_id, detail=detail)

    def throw(_: Any) -> None:
        throw_to(catcher, ErrorEventDefinition, code, values)

    session.delete(job)
    return instances.transition(session, ctx, instance, instances.Step(
        principal.username, leading=[raised], act=throw, default_actor=principal.username), (bundle, workflow))


def extend_lock(session: Session, ctx: EngineContext, principal: Principal, task_id: str, worker_id: str,
                new_duration_ms: int) -> Job:
    """The worker needs longer: its lock now runs ``new_duration_ms`` from now."""
    instance, job = _held(session, ctx, principal, task_id, worker_id, "extend the lock of")
    if not 1 <= new_duration_ms <= MAX_LOCK_MS:
        raise InvalidInput(f"newDuration is between 1 and {MAX_LOCK_MS} milliseconds")
    now = ctx.clock()
    if job.locked_until is None or job.locked_until <= now:
        raise ExternalTaskLocked(f"the lock of external task '{task_id}' has run out; fetch it again")
    job.locked_until = now + timedelta(milliseconds=new_duration_ms)
    audit.append_to_instance(session, instance, [audit.Entry(
        action="external_task.lock_extended", actor=principal.username, task_id=job.task_id,
        element_id=job.element_id, at=now,
        detail=_detail(job, worker_id, locked_until=audit.timestamp(job.locked_until)))], None)
    session.flush()
    return job


def unlock(session: Session, ctx: EngineContext, principal: Principal, task_id: str, worker_id: str | None) -> Job:
    """The task is given back: any worker of its topic may fetch it at once. With ``worker_id``, only
    that worker's lock is given back; without (as Camunda's unlock), any service account of the topic
    frees it — a worker that died holding it, say."""
    if worker_id is None:
        instance, job = _of_topic(session, principal, task_id)
    else:
        instance, job = _held(session, ctx, principal, task_id, worker_id, "unlock")
    audit.append_to_instance(session, instance, [audit.Entry(
        action="external_task.unlocked", actor=principal.username, task_id=job.task_id, element_id=job.element_id,
        detail=_detail(job, worker_id or "", held_by=job.worker_id), at=ctx.clock())], None)
    job.worker_id = job.locked_until = None
    session.flush()
    return job


# -- reading ------------------------------------------------------------------------------------


def listed(session: Session, principal: Principal, topic: str | None = None, worker_id: str | None = None,
           instance_id: str | None = None, limit: int = 100) -> list[ExternalTask]:
    """External tasks, oldest first: every one to auditors and admins, those of its topics to a service
    account; incidents too (``status``)."""
    query = (select(Job, Instance).join(Instance, Instance.id == Job.instance_id)
             .where(Job.topic.is_not(None), Instance.status == RUNNING).order_by(Job.created_at, Job.id).limit(limit))
    for column, value in ((Job.topic, topic), (Job.worker_id, worker_id), (Job.instance_id, instance_id)):
        if value is not None:
            query = query.where(column == value)
    topics = access.external_topics_read_by(principal)
    if topics is not None:
        query = query.where(Job.topic.in_(topics))
    return [ExternalTask(job, instance) for job, instance in session.execute(query).all()]


def get(session: Session, principal: Principal, task_id: str) -> ExternalTask:
    found = session.execute(select(Job, Instance).join(Instance, Instance.id == Job.instance_id)
                            .where(Job.task_id == task_id, Job.topic.is_not(None))).one_or_none()
    if found is None:
        raise ExternalTaskNotFound(f"no external task '{task_id}' waits")
    job, instance = found
    topics = access.external_topics_read_by(principal)
    if topics is not None and job.topic not in topics:
        access.require_works_on_topic(principal, str(job.topic))
    return ExternalTask(job, instance)


# -- the workflow side --------------------------------------------------------------------------


def _waiting(workflow: Any, job: Job) -> Task:
    task = _started_task(workflow, job.task_id)
    if task is None:
        raise ExternalTaskNotFound(f"external task '{job.task_id}' no longer waits (its case moved on)")
    return task


def camunda_time(moment: datetime | None) -> str | None:
    """A moment as Camunda's REST API writes it: ``2026-11-29T03:15:08.123+0000``."""
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" \
        + moment.strftime("%z")

