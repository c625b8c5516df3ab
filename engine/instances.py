"""Process instances: start, complete a task, cancel, retry — each one persisted transition.

Every operation follows the same path: lock the instance row, restore its
workflow from stored state (specs come from the version cache), act, let the
engine run, then write the new state, the open-task index and the audit
records in the caller's transaction. Only the caller commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Table, delete, insert, inspect, select
from sqlalchemy.orm import Session

from engine import audit
from engine.clock import Clock
from engine.definitions import BundleCache, latest_version
from engine.errors import (
    CityflowError,
    InstanceNotActive,
    InstanceNotFound,
    InvalidInput,
    ScriptFailed,
    TaskNotFound,
    TaskNotReady,
)
from engine.models import AuditRecord, Instance, Job, MessageWait, OpenTask, TaskCandidate, Timer
from engine.runtime import (
    ProcessBundle,
    Recorder,
    Transition,
    all_tasks,
    compact,
    current_data,
    data_changes,
    dump_state,
    jsonable,
    load_state,
    make_script_engine,
    new_workflow,
    ready_user_tasks,
    recording,
    run_engine,
    state_name,
)
from engine.sandbox import camunda_to_python
from engine.timers import due_at as timer_due_at
from engine.timers import due_from

ENGINE_ACTOR = "system:engine"
COMPLETION_KEYS = ("completed_by", "acting_for")

RUNNING, COMPLETED, CANCELLED, ERROR = "running", "completed", "cancelled", "error"
ACTIVE_STATUSES = frozenset({RUNNING})


@dataclass
class EngineContext:
    """What the services share within one server or worker process."""

    script_engine: PythonScriptEngine
    bundles: BundleCache = field(default_factory=BundleCache)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @classmethod
    def create(cls, script_time_limit: float = 1.0, clock: Callable[[], datetime] | None = None) -> EngineContext:
        clock = clock or Clock()
        return cls(script_engine=make_script_engine(script_time_limit, clock), clock=clock)


def _require_object(data: Any) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput("data must be a JSON object")
    try:
        return dict(jsonable(data))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"data is not JSON: {exc}") from exc


# -- reading ---------------------------------------------------------------------------------


def get_instance(session: Session, instance_id: str) -> Instance:
    instance = session.get(Instance, instance_id)
    if instance is None:
        raise InstanceNotFound(f"no instance '{instance_id}'")
    return instance


def open_tasks(
    session: Session, instance_id: str | None = None, user: str | None = None, limit: int = 1000
) -> list[OpenTask]:
    """Ready user tasks, oldest first; with ``user``, those assigned to or offered to that user."""
    query = select(OpenTask).order_by(OpenTask.created_at, OpenTask.id).limit(limit)
    if instance_id is not None:
        query = query.where(OpenTask.instance_id == instance_id)
    rows = list(session.execute(query).scalars())
    if user is not None:
        rows = [r for r in rows if r.assignee == user or user in r.candidate_users]
    return rows


# -- the shared path of every operation ------------------------------------------------------


def lock_instance(session: Session, instance_id: str) -> Instance:
    """The instance row, locked until the unit of work ends (other writers wait)."""
    instance = session.execute(
        select(Instance)
        .where(Instance.id == instance_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if instance is None:
        raise InstanceNotFound(f"no instance '{instance_id}'")
    return instance


def try_lock_instance(session: Session, instance_id: str) -> Instance | None:
    """The instance row locked, or None when another worker holds it (PostgreSQL skips it)."""
    return session.execute(
        select(Instance)
        .where(Instance.id == instance_id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def load(session: Session, ctx: EngineContext, instance: Instance) -> tuple[ProcessBundle, BpmnWorkflow]:
    """The instance's workflow, restored from its stored state with its version's specs."""
    bundle = ctx.bundles.get(session, instance.process_version_id)
    return bundle, load_state(instance.state, bundle, ctx.script_engine)


def _failure(exc: Exception) -> tuple[str, str]:
    """The error's name and message, looking through SpiffWorkflow's wrapping."""
    inner = getattr(exc, "exception", None) or exc.__cause__
    if isinstance(inner, CityflowError):
        return inner.name, inner.detail
    if isinstance(exc, CityflowError):
        return exc.name, exc.detail
    message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return exc.__class__.__name__, message


def _evaluate_people(ctx: EngineContext, task: Task, expression: str | None) -> list[str]:
    if not expression:
        return []
    text = expression.strip()
    if text.startswith(("${", "#{")):
        value = ctx.script_engine.environment.evaluate(camunda_to_python(text), task.data)
    else:
        value = text
    if value is None:
        return []
    if isinstance(value, list | tuple | set):
        return [str(v) for v in value]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def _sync_open_tasks(
    session: Session, ctx: EngineContext, instance: Instance, workflow: BpmnWorkflow
) -> None:
    """Make the open-task index match the workflow's ready user tasks (all of them)."""
    ready = {str(t.id): t for t in ready_user_tasks(workflow)} if instance.status == RUNNING else {}
    connection = session.connection()
    existing = set(
        connection.execute(select(_OPEN_TASKS.c.id).where(_OPEN_TASKS.c.instance_id == instance.id)).scalars()
    )
    gone = existing - ready.keys()
    if gone:
        connection.execute(delete(_OPEN_TASKS).where(_OPEN_TASKS.c.id.in_(gone)))
    _insert_open_tasks(session, ctx, instance, [task for tid, task in ready.items() if tid not in existing])


def _insert_open_tasks(session: Session, ctx: EngineContext, instance: Instance, tasks: list[Task]) -> None:
    """Index ready user tasks, with who may act on each (assignee, candidates, else lane, else initiator)."""
    if not tasks:
        return
    rows: list[dict[str, Any]] = []
    candidates: list[dict[str, str]] = []
    for task in tasks:
        spec = task.task_spec
        extensions = getattr(spec, "extensions", {}) or {}
        assignees = _evaluate_people(ctx, task, extensions.get("assignee"))
        users = _evaluate_people(ctx, task, extensions.get("candidateUsers"))
        groups = _evaluate_people(ctx, task, extensions.get("candidateGroups"))
        lane = getattr(spec, "lane", None)
        if not (assignees or users or groups):
            if lane:
                groups = [lane]
            elif instance.initiator:
                assignees = [instance.initiator]
        task_id = str(task.id)
        now = ctx.clock()
        due = due_from(str(extensions["dueDate"]), task, now) if extensions.get("dueDate") else None
        rows.append(
            {
                "id": task_id,
                "instance_id": instance.id,
                "process_key": instance.process_key,
                "element_id": spec.bpmn_id,
                "name": spec.bpmn_name or spec.bpmn_id,
                "lane": lane,
                "assignee": assignees[0] if assignees else None,
                "candidate_users": users,
                "candidate_groups": groups,
                "form_key": extensions.get("formKey")
                or (extensions.get("properties") or {}).get("formJsonSchemaFilename"),
                "claimed_by": None,
                "opened_at": None,
                "created_at": now,
                "due_at": due,
            }
        )
        people = {("user", name) for name in [*assignees[:1], *users]} | {("group", name) for name in groups}
        candidates.extend({"task_id": task_id, "kind": kind, "name": name} for kind, name in sorted(people))
    if inspect(instance).pending:
        session.flush()
    connection = session.connection()
    connection.execute(insert(_OPEN_TASKS), rows)
    if candidates:
        connection.execute(insert(_CANDIDATES), candidates)


_TIMERS = cast(Table, Timer.__table__)
_MESSAGE_WAITS = cast(Table, MessageWait.__table__)


def waits_of(workflow: BpmnWorkflow) -> dict[str, dict[str, list[str]]]:
    """The timers and messages the workflow waits for: task id → [element, due time or message name]."""
    timers: dict[str, list[str]] = {}
    messages: dict[str, list[str]] = {}
    for task in workflow.event_manager.tasks.values():
        if not task.has_state(TaskState.WAITING):
            continue
        definition = task.task_spec.event_definition
        for each in getattr(definition, "event_definitions", None) or [definition]:
            if isinstance(each, TimerEventDefinition):
                due = timer_due_at(task)
                if due is not None:
                    timers[str(task.id)] = [task.task_spec.bpmn_id or task.task_spec.name, due.isoformat()]
            elif isinstance(each, MessageEventDefinition):
                messages[str(task.id)] = [task.task_spec.bpmn_id or task.task_spec.name, each.name]
    return {"timers": timers, "messages": messages}


def _sync_waits(session: Session, instance: Instance, workflow: BpmnWorkflow) -> None:
    """Keep the timer and message rows the worker and deliveries look at in step with the workflow."""
    waits = waits_of(workflow) if instance.status == RUNNING else {"timers": {}, "messages": {}}
    known = instance.waits or {"timers": {}, "messages": {}}
    if waits == known:
        return
    if inspect(instance).pending:
        session.flush()
    connection = session.connection()
    if waits["timers"] != known.get("timers"):
        connection.execute(delete(_TIMERS).where(_TIMERS.c.instance_id == instance.id))
        if waits["timers"]:
            connection.execute(insert(_TIMERS), [
                {"instance_id": instance.id, "task_id": task_id, "element_id": element,
                 "due_at": datetime.fromisoformat(due)}
                for task_id, (element, due) in waits["timers"].items()
            ])
    if waits["messages"] != known.get("messages"):
        connection.execute(delete(_MESSAGE_WAITS).where(_MESSAGE_WAITS.c.instance_id == instance.id))
        if waits["messages"]:
            connection.execute(insert(_MESSAGE_WAITS), [
                {"instance_id": instance.id, "task_id": task_id, "element_id": element, "message_name": name}
                for task_id, (element, name) in waits["messages"].items()
            ])
    instance.waits = waits


def _request_jobs(session: Session, ctx: EngineContext, instance: Instance, workflow: BpmnWorkflow) -> None:
    """A job for every service task the engine just reached; the worker calls its handler."""
    for task in workflow.get_tasks(state=TaskState.STARTED):
        if task._get_internal_data("job_requested") and not task._get_internal_data("job_created"):
            if inspect(instance).pending:
                session.flush()
            session.add(Job(instance_id=instance.id, task_id=str(task.id), element_id=task.task_spec.bpmn_id,
                            handler=task.task_spec.operation_name or "", due_at=ctx.clock()))
            task._set_internal_data(job_created=True)


_OPEN_TASKS = cast(Table, OpenTask.__table__)
_CANDIDATES = cast(Table, TaskCandidate.__table__)


def _sync_changed_open_tasks(
    session: Session, ctx: EngineContext, instance: Instance, transitions: list[Transition]
) -> None:
    """Keep the open-task index in step by touching only the user tasks this operation moved."""
    first_state: dict[str, str | None] = {}
    tasks: dict[str, Task] = {}
    for t in transitions:
        if t.task.task_spec.manual:
            first_state.setdefault(str(t.task.id), t.from_state)
            tasks[str(t.task.id)] = t.task
    gone = [tid for tid, task in tasks.items() if first_state[tid] == "READY" and state_name(task) != "READY"]
    if gone:
        session.connection().execute(delete(_OPEN_TASKS).where(_OPEN_TASKS.c.id.in_(gone)))
    added = [t for tid, t in tasks.items() if first_state[tid] != "READY" and state_name(t) == "READY"]
    _insert_open_tasks(session, ctx, instance, added)


def _entries(
    recorder: Recorder,
    actor: str,
    acted_on: str | None,
    on_behalf_of: str | None = None,
    default_actor: str = ENGINE_ACTOR,
) -> list[audit.Entry]:
    entries = []
    for t in recorder.transitions:
        spec = t.task.task_spec
        task_id = str(t.task.id)
        deputy = on_behalf_of is not None and task_id == acted_on and t.to_state == "COMPLETED"
        changes = t.changes
        if task_id == acted_on and changes:  # the record's actor and detail already say who and for whom
            changes = {k: v for k, v in changes.items() if k not in COMPLETION_KEYS}
        entries.append(
            audit.Entry(
                action=f"task.{t.to_state.lower()}",
                actor=actor if task_id == acted_on else default_actor,
                task_id=task_id,
                element_id=spec.bpmn_id,
                element_name=spec.bpmn_name,
                lane=getattr(spec, "lane", None),
                from_state=t.from_state,
                to_state=t.to_state,
                changes=changes or None,
                detail={"on_behalf_of": on_behalf_of} if deputy else None,
                at=t.at,
            )
        )
    return entries


def advance(
    session: Session,
    ctx: EngineContext,
    instance: Instance,
    bundle: ProcessBundle,
    workflow: BpmnWorkflow,
    actor: str,
    completing: Task | None = None,
    data: dict[str, Any] | None = None,
    leading: list[audit.Entry] | None = None,
    rerun_failed: bool = False,
    on_behalf_of: str | None = None,
    trigger: Callable[[BpmnWorkflow], None] | None = None,
    default_actor: str = ENGINE_ACTOR,
) -> Instance:
    """Complete ``completing`` with ``data`` (if given), run the engine, then persist
    state, open tasks and audit records."""
    entries = list(leading or [])
    acted_on = str(completing.id) if completing is not None else None
    with recording(workflow, ctx.clock) as recorder:
        if rerun_failed:
            for failed in workflow.get_tasks(state=TaskState.ERROR):
                failed._set_state(TaskState.READY)
        if completing is not None:
            recorder.snapshot(completing)
            # Who completed it, and for whom when a deputy acted (대결): designers branch on these.
            completing.data.update({**(data or {}), "completed_by": actor, "acting_for": on_behalf_of})
        try:
            if completing is not None:
                completing.run()
            if trigger is not None:
                trigger(workflow)
            run_engine(workflow, recorder)
            failure = None
        except Exception as exc:  # a designer's script or condition failed: keep everything, mark the error
            failure = exc
        if failure is None:
            try:
                resumed = instance.status != RUNNING
                instance.status = COMPLETED if workflow.is_completed() else RUNNING
                if completing is not None and not resumed and instance.status == RUNNING:
                    _sync_changed_open_tasks(session, ctx, instance, recorder.transitions)
                else:
                    _sync_open_tasks(session, ctx, instance, workflow)
                _request_jobs(session, ctx, instance, workflow)
            except ScriptFailed as exc:  # an assignment expression failed
                failure = exc
    entries.extend(_entries(recorder, actor, acted_on, on_behalf_of, default_actor))
    now = ctx.clock()
    if failure is not None:
        name, message = _failure(failure)
        failed_task = getattr(failure, "task", None)
        instance.status = ERROR
        instance.error = {
            "error": name,
            "message": message,
            "task_id": str(failed_task.id) if failed_task is not None else None,
            "element_id": failed_task.task_spec.bpmn_id if failed_task is not None else None,
            "at": audit.timestamp(now),
        }
        recorded = [
            e for e in entries if failed_task is not None and e.task_id == str(failed_task.id) and e.to_state == "ERROR"
        ]
        if recorded:
            recorded[-1].detail = {"error": name, "message": message}
        elif failed_task is not None:
            spec = failed_task.task_spec
            entries.append(
                audit.Entry(
                    action="task.error",
                    actor=ENGINE_ACTOR,
                    task_id=str(failed_task.id),
                    element_id=spec.bpmn_id,
                    element_name=spec.bpmn_name,
                    lane=getattr(spec, "lane", None),
                    from_state=state_name(failed_task),
                    to_state="ERROR",
                    detail={"error": name, "message": message},
                )
            )
        entries.append(
            audit.Entry(action="instance.errored", actor=ENGINE_ACTOR, detail={"error": name, "message": message})
        )
        _sync_open_tasks_after_error(session, instance)
    elif instance.status == COMPLETED:
        instance.ended_at = now
        entries.append(audit.Entry(action="instance.completed", actor=ENGINE_ACTOR, to_state="COMPLETED"))
    for entry in entries:  # every record of this step on the engine's clock
        entry.at = entry.at or now
    instance.data = current_data(workflow)
    _sync_waits(session, instance, workflow)
    compact(workflow)
    instance.state = dump_state(workflow)
    audit.append_to_instance(session, instance, entries, bundle.version_hash)
    session.flush()
    return instance


def _sync_open_tasks_after_error(session: Session, instance: Instance) -> None:
    # While an instance is in error nobody can act on it; its tasks come back on retry.
    session.execute(delete(OpenTask).where(OpenTask.instance_id == instance.id))


# -- operations ------------------------------------------------------------------------------


def start_instance(
    session: Session,
    ctx: EngineContext,
    process_key: str,
    data: dict[str, Any] | None = None,
    business_key: str | None = None,
    initiator: str | None = None,
    scheduled: bool = False,
) -> Instance:
    """Start the latest version of ``process_key`` with ``data`` and run it to its first wait.

    ``scheduled``: the worker starts it because its timer start event is due, so that timer
    counts as fired."""
    data = _require_object(data)
    version_id, version_number = latest_version(session, process_key)
    bundle = ctx.bundles.get(session, version_id)
    workflow = new_workflow(bundle, ctx.script_engine)
    workflow.task_tree.data.update(data)
    now = ctx.clock()
    instance = Instance(
        id=str(uuid.uuid4()),
        process_version_id=version_id,
        process_key=process_key,
        status=RUNNING,
        business_key=business_key,
        initiator=initiator,
        data=data,
        state="",
        audit_seq=0,
        audit_head="",
        started_at=now,
    )
    session.add(instance)
    created = audit.Entry(
        action="instance.created",
        actor=initiator or ENGINE_ACTOR,
        to_state="RUNNING",
        changes=data_changes({}, data) or None,
        detail={"business_key": business_key, "version": version_number},
        at=now,
    )
    return advance(session, ctx, instance, bundle, workflow, initiator or ENGINE_ACTOR, leading=[created],
                   trigger=_fire_start_timers(ctx) if scheduled else None)


def _fire_start_timers(ctx: EngineContext) -> Callable[[BpmnWorkflow], None]:
    def trigger(workflow: BpmnWorkflow) -> None:
        workflow.do_engine_steps()
        now = ctx.clock().isoformat()
        for task in workflow.get_tasks(state=TaskState.WAITING):
            definition = getattr(task.task_spec, "event_definition", None)
            if isinstance(definition, TimerEventDefinition) and task.task_spec.__class__.__name__ == "StartEvent":
                # This instance is one start of the schedule: its start timer fires once, now.
                if isinstance(definition, CycleTimerEventDefinition):
                    task._set_internal_data(event_value={"cycles": 1, "next": now, "duration": 0})
                else:
                    task._set_internal_data(event_fired=True, event_value=now)
        workflow.refresh_timers()  # fires the start event (a cycle spawns its one path here)
        workflow.refresh_timers()  # a cycle, now spent, lets its start event complete

    return trigger


def _lock_by_task(session: Session, task_id: str) -> Instance:
    """Lock the instance that holds open task ``task_id``; 409 when the task is done, 404 when unknown."""
    instance = session.execute(
        select(Instance)
        .join(OpenTask, OpenTask.instance_id == Instance.id)
        .where(OpenTask.id == task_id)
        .with_for_update(of=Instance)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if instance is not None:
        return instance
    seen = session.execute(
        select(AuditRecord.instance_id).where(AuditRecord.task_id == task_id).limit(1)
    ).scalar_one_or_none()
    if seen is not None:
        raise TaskNotReady(f"task '{task_id}' is not waiting for anyone any more")
    raise TaskNotFound(f"no task '{task_id}'")


def complete_task(
    session: Session,
    ctx: EngineContext,
    task_id: str,
    data: dict[str, Any] | None,
    actor: str,
    on_behalf_of: str | None = None,
) -> Instance:
    """Complete a ready user task with ``data`` as ``actor`` (a deputy names ``on_behalf_of``)."""
    data = _require_object(data)
    instance = _lock_by_task(session, task_id)
    if instance.status not in ACTIVE_STATUSES:
        raise InstanceNotActive(f"instance '{instance.id}' is {instance.status}")
    bundle = ctx.bundles.get(session, instance.process_version_id)
    workflow = load_state(instance.state, bundle, ctx.script_engine)
    try:
        task = workflow.get_task_from_id(uuid.UUID(task_id))
    except Exception as exc:
        raise TaskNotReady(f"task '{task_id}' is not waiting for anyone any more") from exc
    if task is None or state_name(task) != "READY" or not task.task_spec.manual:
        raise TaskNotReady(f"task '{task_id}' is not waiting for anyone any more")
    return advance(
        session, ctx, instance, bundle, workflow, actor, completing=task, data=data, on_behalf_of=on_behalf_of
    )


def cancel_instance(
    session: Session, ctx: EngineContext, instance_id: str, actor: str, reason: str = ""
) -> Instance:
    instance = lock_instance(session, instance_id)
    if instance.status in (COMPLETED, CANCELLED):
        raise InstanceNotActive(f"instance '{instance.id}' is {instance.status}")
    bundle = ctx.bundles.get(session, instance.process_version_id)
    workflow = load_state(instance.state, bundle, ctx.script_engine)
    with recording(workflow, ctx.clock) as recorder:
        workflow.cancel()
    entries = _entries(recorder, actor, None)
    entries.append(
        audit.Entry(action="instance.cancelled", actor=actor, to_state="CANCELLED", detail={"reason": reason})
    )
    instance.status = CANCELLED
    instance.ended_at = ctx.clock()
    _sync_waits(session, instance, workflow)
    instance.state = dump_state(workflow)
    _sync_open_tasks(session, ctx, instance, workflow)
    audit.append_to_instance(session, instance, entries, bundle.version_hash)
    session.flush()
    return instance


def edit_data(
    session: Session, ctx: EngineContext, instance_id: str, changes: dict[str, Any], actor: str
) -> Instance:
    """An administrator's correction of an instance's data, applied where the flow goes on."""
    changes = _require_object(changes)
    instance = lock_instance(session, instance_id)
    if instance.status in (COMPLETED, CANCELLED):
        raise InstanceNotActive(f"instance '{instance.id}' is {instance.status}")
    bundle = ctx.bundles.get(session, instance.process_version_id)
    workflow = load_state(instance.state, bundle, ctx.script_engine)
    waiting = [t for t in all_tasks(workflow) if state_name(t) in ("READY", "WAITING", "ERROR")]
    before = dict(instance.data)
    for task in waiting:
        task.data.update(changes)
    instance.state = dump_state(workflow)
    instance.data = {**instance.data, **jsonable(changes)}
    entry = audit.Entry(action="instance.data_edited", actor=actor, changes=data_changes(before, instance.data))
    audit.append_to_instance(session, instance, [entry], bundle.version_hash)
    session.flush()
    return instance


def retry_instance(session: Session, ctx: EngineContext, instance_id: str, actor: str) -> Instance:
    """Run an errored instance's engine again, after the cause (data, a handler, a limit) was fixed."""
    instance = lock_instance(session, instance_id)
    if instance.status != ERROR:
        raise InstanceNotActive(f"instance '{instance.id}' is {instance.status}, not in error")
    bundle = ctx.bundles.get(session, instance.process_version_id)
    workflow = load_state(instance.state, bundle, ctx.script_engine)
    previous = instance.error
    instance.error = None
    retried = audit.Entry(
        action="instance.retried", actor=actor, from_state="ERROR", to_state="RUNNING", detail=previous
    )
    return advance(session, ctx, instance, bundle, workflow, actor, leading=[retried], rerun_failed=True)
