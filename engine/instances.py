"""Process instances: start, complete a task, cancel, retry — each one persisted transition.

Every operation follows the same path: lock the instance row, restore its
workflow from stored state (specs come from the version cache), act, let the
engine run, then write the new state, the open-task index and the audit
records in the caller's transaction. Only the caller commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Table, bindparam, delete, insert, inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from engine import access, audit, labels, notifications
from engine.context import EngineContext
from engine.definitions import deployed_files, latest_version
from engine.errors import (
    CityflowError,
    DataTooLarge,
    InstanceNotActive,
    InstanceNotFound,
    InvalidInput,
    ScriptFailed,
    TaskNotFound,
    TaskNotReady,
)
from engine.models import (
    CANCELLED,
    COMPLETED,
    ERROR,
    RUNNING,
    AuditRecord,
    Instance,
    Job,
    MessageWait,
    OpenTask,
    TaskCandidate,
    Timer,
)
from engine.parsing import DeferredServiceTask
from engine.runtime import (
    CONTINUATION,
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
    new_workflow,
    ready_user_tasks,
    recording,
    run_engine,
    state_name,
)
from engine.sandbox import camunda_to_python, data_size_over
from engine.timers import ClockedTimeDate, due_from, iso_literal
from engine.timers import due_at as timer_due_at

ENGINE_ACTOR = "system:engine"
COMPLETION_KEYS = ("completed_by", "acting_for")

ACTIVE_STATUSES = frozenset({RUNNING})


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


def open_tasks(session: Session, instance_id: str) -> list[OpenTask]:
    """The instance's ready user tasks, oldest first (who may act on them is ``engine.access``)."""
    query = select(OpenTask).where(OpenTask.instance_id == instance_id).order_by(OpenTask.created_at, OpenTask.id)
    return list(session.execute(query).scalars())


# -- the shared path of every operation ------------------------------------------------------


# Every step starts with one of these: built once, with the id as a parameter (building a statement
# cost SQLAlchemy more processor time than running it).
_LOCK_INSTANCE = (select(Instance).where(Instance.id == bindparam("instance_id")).with_for_update()
                  .execution_options(populate_existing=True))
_TRY_LOCK_INSTANCE = (select(Instance).where(Instance.id == bindparam("instance_id"))
                      .with_for_update(skip_locked=True).execution_options(populate_existing=True))


def lock_instance(session: Session, instance_id: str) -> Instance:
    """The instance row, locked until the unit of work ends (other writers wait)."""
    instance = session.execute(_LOCK_INSTANCE, {"instance_id": instance_id}).scalar_one_or_none()
    if instance is None:
        raise InstanceNotFound(f"no instance '{instance_id}'")
    return instance


def try_lock_instance(session: Session, instance_id: str) -> Instance | None:
    """The instance row locked, or None when another worker holds it (PostgreSQL skips it)."""
    return session.execute(_TRY_LOCK_INSTANCE, {"instance_id": instance_id}).scalar_one_or_none()


def load(session: Session, ctx: EngineContext, instance: Instance) -> tuple[ProcessBundle, BpmnWorkflow]:
    """The instance's workflow, restored from its stored state with its version's specs (or as this
    process's last committed step of it left it, when that is exactly what is stored)."""
    bundle = ctx.bundles.get(session, instance.process_version_id)
    kept = ctx.workflows.take(instance.id, instance.process_version_id, instance.state)
    return bundle, kept if kept is not None else load_state(instance.state, bundle, ctx.script_engine)


def _unwrapped(exc: BaseException) -> BaseException | None:
    """The error SpiffWorkflow wrapped ``exc`` around, if it did (it raises its own while handling ours)."""
    inner = getattr(exc, "exception", None) or exc.__cause__
    if inner is None and isinstance(exc.__context__, CityflowError):
        inner = exc.__context__
    return inner


def _failure(exc: Exception) -> tuple[str, str]:
    """The error's name and message, looking through SpiffWorkflow's wrapping."""
    inner = _unwrapped(exc)
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


def _job_handler(task: Task) -> str:
    """Whom a job calls: a service task's handler, or the worker itself going on past an async boundary."""
    if isinstance(task.task_spec, DeferredServiceTask):
        return str(task.task_spec.operation_name or "")
    return CONTINUATION


def _request_jobs(session: Session, ctx: EngineContext, instance: Instance, workflow: BpmnWorkflow) -> None:
    """A job for every service task the engine just reached; the worker calls its handler, or a
    worker outside cityflow fetches it by its topic (``engine.external_tasks``)."""
    for task in workflow.get_tasks(state=TaskState.STARTED):
        if task._get_internal_data("job_requested") and not task._get_internal_data("job_created"):
            if inspect(instance).pending:
                session.flush()
            topic = (getattr(task.task_spec, "extensions", None) or {}).get("externalTopic")
            session.add(Job(instance_id=instance.id, task_id=str(task.id), element_id=task.task_spec.bpmn_id,
                            handler=_job_handler(task), topic=topic, due_at=ctx.clock()))
            task._set_internal_data(job_created=True)


# -- the open-task index ---------------------------------------------------------------------

_OPEN_TASKS = cast(Table, OpenTask.__table__)
_CANDIDATES = cast(Table, TaskCandidate.__table__)
# A step's changes to the index, built once (the ids as parameters).
_INSERT_OPEN_TASKS, _INSERT_CANDIDATES = insert(_OPEN_TASKS), insert(_CANDIDATES)
_DELETE_OPEN_TASKS = delete(_OPEN_TASKS).where(_OPEN_TASKS.c.id.in_(bindparam("task_ids", expanding=True)))


DEFAULT_PRIORITY = 50  # Camunda's


@dataclass
class _Offer:
    """Who a ready user task is offered to, and when it is due, as its BPMN says."""

    assignee: str | None
    users: list[str]
    groups: list[str]
    due_at: datetime | None
    follow_up_at: datetime | None = None
    priority: int = DEFAULT_PRIORITY

    @property
    def candidates(self) -> list[tuple[str, str]]:
        people = {("user", name) for name in [*([self.assignee] if self.assignee else []), *self.users]}
        return sorted(people | {("group", name) for name in self.groups})


def _offer(ctx: EngineContext, instance: Instance, task: Task, now: datetime) -> _Offer:
    """Assignee, else candidates, else the lane (a group; spiff-arena's "Process Initiator" lane is
    whoever started the case), else the initiator."""
    spec = task.task_spec
    extensions = getattr(spec, "extensions", {}) or {}
    assignees = _evaluate_people(ctx, task, extensions.get("assignee"))
    users = _evaluate_people(ctx, task, extensions.get("candidateUsers"))
    groups = _evaluate_people(ctx, task, extensions.get("candidateGroups"))
    lane = getattr(spec, "lane", None)
    if not (assignees or users or groups):
        if access.is_initiator_lane(lane):
            assignees = [instance.initiator] if instance.initiator else []
        elif lane:
            groups = [lane]
        elif instance.initiator:
            assignees = [instance.initiator]
    due = due_from(str(extensions["dueDate"]), task, now) if extensions.get("dueDate") else None
    follow_up = due_from(str(extensions["followUpDate"]), task, now) if extensions.get("followUpDate") else None
    return _Offer(assignees[0] if assignees else None, users, groups, due, follow_up,
                  _priority(ctx, task, extensions.get("priority")))


def _priority(ctx: EngineContext, task: Task, expression: str | None) -> int:
    """``camunda:priority``: a whole number, written out or computed from the data (``${urgent ? 80 : 50}``)."""
    text = (expression or "").strip()
    if not text:
        return DEFAULT_PRIORITY
    value = (ctx.script_engine.environment.evaluate(camunda_to_python(text), task.data)
             if text.startswith(("${", "#{")) else text)
    try:
        if isinstance(value, bool) or float(value) != int(float(value)):
            raise ValueError
        return int(float(value))
    except (TypeError, ValueError):
        raise InvalidInput(f"the priority of '{task.task_spec.bpmn_name or task.task_spec.bpmn_id}' is "
                           f"{value!r}, not a whole number") from None


@dataclass
class _Arrival:
    """A task that has just become open and whose BPMN asks to tell its people (``notify`` = ``arrival``)."""

    task: Task
    offer: _Offer


def _announces_arrival(task: Task) -> bool:
    properties = (getattr(task.task_spec, "extensions", {}) or {}).get("properties") or {}
    return str(properties.get("notify", "")).strip().lower() == "arrival"


def _standing(task: Task) -> bool:
    """A task whose BPMN says ``standing = true``: an option its case offers while it runs (the
    drafter's 회수), shown on the case page as an action and never in an inbox as a to-do."""
    properties = (getattr(task.task_spec, "extensions", {}) or {}).get("properties") or {}
    return str(properties.get("standing", "")).strip().lower() == "true"


def _announce_arrivals(session: Session, ctx: EngineContext, instance: Instance, arrivals: list[_Arrival],
                       actor: str, now: datetime) -> None:
    """Tell everyone a new task is offered to — its assignee or candidates, the members of its candidate
    groups, and whoever stands in for an absent one of those named (대결) — in the app and by mail.
    Only those who may act on tasks are told (an auditor in the group is not), and whoever brought it
    about in this step is not told of work they are looking at. Each is told in their own language:
    the BPMN's title (``notify_title``, ``notify_title_en``), else "new task" and the task's name
    in that language (labels.json)."""
    if not arrivals:
        return
    words = labels.labels_of(deployed_files(session, ctx.bundles, instance.process_version_id))
    for arrival in arrivals:
        spec = arrival.task.task_spec
        properties = (getattr(spec, "extensions", {}) or {}).get("properties") or {}
        name = spec.bpmn_name or spec.bpmn_id
        titles = {language: str(properties.get("notify_title" if language == "ko" else f"notify_title_{language}")
                                or "").strip() or template.format(task=words.element(spec.bpmn_id, language, name))
                  for language, template in notifications.ARRIVAL_TITLES.items()}
        named = [*([arrival.offer.assignee] if arrival.offer.assignee else []), *arrival.offer.users]
        case_title = arrival.task.data.get("title")
        body = str(case_title) if isinstance(case_title, str | int | float) and case_title != "" else ""
        notifications.notify_people(
            session,
            users=[*named, *notifications.deputies_of(session, named, now)],
            groups=arrival.offer.groups,
            title=titles["ko"],
            translations={language: (title, body) for language, title in titles.items()},
            body=body,
            link=f"/tasks/{arrival.task.id}",
            instance_id=instance.id,
            now=now,
            sparing=[actor],
            roles=access.STAFF,
        )


def _insert_open_tasks(
    session: Session, ctx: EngineContext, instance: Instance, tasks: list[Task],
    arrivals: list[_Arrival] | None = None,
) -> set[tuple[str, str]]:
    """Index ready user tasks with who may act on each; returns everyone they are offered to.
    Those that announce their arrival are added to ``arrivals``."""
    if not tasks:
        return set()
    rows: list[dict[str, Any]] = []
    candidates: list[dict[str, str]] = []
    offered: set[tuple[str, str]] = set()
    now = ctx.clock()
    for task in tasks:
        spec = task.task_spec
        extensions = getattr(spec, "extensions", {}) or {}
        offer = _offer(ctx, instance, task, now)
        task_id = str(task.id)
        rows.append({
            "id": task_id, "instance_id": instance.id, "process_key": instance.process_key,
            "element_id": spec.bpmn_id, "name": spec.bpmn_name or spec.bpmn_id, "lane": getattr(spec, "lane", None),
            "assignee": offer.assignee, "candidate_users": offer.users, "candidate_groups": offer.groups,
            "form_key": extensions.get("formKey")
            or (extensions.get("properties") or {}).get("formJsonSchemaFilename"),
            "claimed_by": None, "opened_at": None, "created_at": now, "due_at": offer.due_at,
            "follow_up_at": offer.follow_up_at, "priority": offer.priority,
            "standing": _standing(task),
        })
        candidates.extend({"task_id": task_id, "kind": kind, "name": name} for kind, name in offer.candidates)
        offered.update(offer.candidates)
        if arrivals is not None and _announces_arrival(task):
            arrivals.append(_Arrival(task, offer))
    if inspect(instance).pending:
        session.flush()
    connection = session.connection()
    connection.execute(_INSERT_OPEN_TASKS, rows)
    if candidates:
        connection.execute(_INSERT_CANDIDATES, candidates)
    return offered


def _remove_open_tasks(session: Session, task_ids: Iterable[str]) -> None:
    """Tasks nobody waits on any more leave the index; their candidates and the drafts people kept
    for them go with them (the database cascades)."""
    gone = list(task_ids)
    if gone:
        session.connection().execute(_DELETE_OPEN_TASKS, {"task_ids": gone})


def _sync_open_tasks(
    session: Session, ctx: EngineContext, instance: Instance, workflow: BpmnWorkflow,
    transitions: list[Transition] | None, arrivals: list[_Arrival] | None = None,
) -> set[tuple[str, str]]:
    """Make the open-task index match the workflow's ready user tasks; returns whom the new ones
    are offered to.

    With ``transitions`` (the index was in step before this step), only the user tasks that moved
    are touched; without, the whole index of the instance is compared with the workflow."""
    running = instance.status == RUNNING
    if transitions is not None and running:
        first_state: dict[str, str | None] = {}
        moved: dict[str, Task] = {}
        for t in transitions:
            if t.task.task_spec.manual:
                first_state.setdefault(str(t.task.id), t.from_state)
                moved[str(t.task.id)] = t.task
        _remove_open_tasks(session, [tid for tid, task in moved.items()
                                     if first_state[tid] == "READY" and state_name(task) != "READY"])
        return _insert_open_tasks(session, ctx, instance, [
            task for tid, task in moved.items() if first_state[tid] != "READY" and state_name(task) == "READY"],
            arrivals)
    ready = {str(t.id): t for t in ready_user_tasks(workflow)} if running else {}
    if inspect(instance).pending:
        session.flush()
    existing = set(session.connection().execute(
        select(_OPEN_TASKS.c.id).where(_OPEN_TASKS.c.instance_id == instance.id)).scalars())
    _remove_open_tasks(session, existing - ready.keys())
    return _insert_open_tasks(session, ctx, instance, [task for tid, task in ready.items() if tid not in existing],
                              arrivals)


def _refresh_open_tasks(
    session: Session, ctx: EngineContext, instance: Instance, workflow: BpmnWorkflow
) -> set[tuple[str, str]]:
    """The data under open tasks changed: who they are offered to and when they are due may too.
    Claims, openings and drafts stay. Returns whom they are offered to now."""
    now = ctx.clock()
    offered: set[tuple[str, str]] = set()
    for task in ready_user_tasks(workflow):
        row = session.get(OpenTask, str(task.id))
        if row is None:
            continue
        offer = _offer(ctx, instance, task, now)
        row.assignee, row.candidate_users, row.candidate_groups, row.due_at = (
            offer.assignee, offer.users, offer.groups, offer.due_at)
        row.follow_up_at, row.priority = offer.follow_up_at, offer.priority
        session.execute(delete(TaskCandidate).where(TaskCandidate.task_id == row.id))
        session.add_all(TaskCandidate(task_id=row.id, kind=kind, name=name) for kind, name in offer.candidates)
        offered.update(offer.candidates)
    return offered


def _recompute_timers(workflow: BpmnWorkflow) -> None:
    """Timers whose moment is computed from the data (``${deadline}``) compute it again."""
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        for each in getattr(definition, "event_definitions", None) or [definition]:
            if isinstance(each, ClockedTimeDate) and iso_literal(each.expression or "", "date") is None:
                task.internal_data.pop("event_value", None)
                task.internal_data.pop("event_fired", None)
                each.has_fired(task)


# -- the one transition pipeline ---------------------------------------------------------------


@dataclass
class Step:
    """One change of an instance. Every change — a start, a completed task, a fired timer, a
    message, a job's result, a retry, a cancellation, a data correction — is a ``Step`` that
    ``transition`` persists the same way."""

    actor: str  # who is recorded for what they did
    leading: list[audit.Entry] = field(default_factory=list)  # records that open this step's trail
    completing: Task | None = None  # the user task the actor completes ...
    data: dict[str, Any] | None = None  # ... with this data
    on_behalf_of: str | None = None  # the absent colleague a deputy acts for (대결)
    act: Callable[[BpmnWorkflow], None] | None = None  # what else happens (a timer fires, a message arrives)
    edits: dict[str, Any] | None = None  # an administrator's correction of the data
    run: bool = True  # let the engine run on afterwards
    rerun_failed: bool = False  # tasks in error run again (a retry)
    cancel: str | None = None  # the step cancels the instance, for this reason
    joining: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, name, relation) who join the case
    known: frozenset[tuple[str, str]] = frozenset()  # (kind, name) known to take part already: not written again
    default_actor: str = ENGINE_ACTOR  # who is recorded for what the engine does meanwhile


def _entries(recorder: Recorder, step: Step, acted_on: str | None) -> list[audit.Entry]:
    entries = []
    for t in recorder.transitions:
        spec = t.task.task_spec
        task_id = str(t.task.id)
        deputy = step.on_behalf_of is not None and task_id == acted_on and t.to_state == "COMPLETED"
        changes = t.changes
        if task_id == acted_on and changes:  # the record's actor and detail already say who and for whom
            changes = {k: v for k, v in changes.items() if k not in COMPLETION_KEYS}
        entries.append(audit.Entry(
            action=f"task.{t.to_state.lower()}",
            actor=step.actor if task_id == acted_on else step.default_actor,
            task_id=task_id, element_id=spec.bpmn_id, element_name=spec.bpmn_name, lane=getattr(spec, "lane", None),
            from_state=t.from_state, to_state=t.to_state, changes=changes or None,
            detail={"on_behalf_of": step.on_behalf_of} if deputy else None, at=t.at,
        ))
    return entries


def _act(workflow: BpmnWorkflow, recorder: Recorder, step: Step) -> None:
    if step.rerun_failed:
        for failed in workflow.get_tasks(state=TaskState.ERROR):
            failed._set_state(TaskState.READY)
    if step.edits is not None:
        for task in all_tasks(workflow):
            if state_name(task) in ("READY", "WAITING", "ERROR"):
                task.data.update(step.edits)
        _recompute_timers(workflow)
    if step.completing is not None:
        recorder.snapshot(step.completing)
        # Who completed it, and for whom when a deputy acted (대결): designers branch on these.
        step.completing.data.update({**(step.data or {}), "completed_by": step.actor, "acting_for": step.on_behalf_of})
        step.completing.run()
    if step.act is not None:
        step.act(workflow)
    if step.cancel is not None:
        workflow.cancel()
    if step.run:
        run_engine(workflow, recorder)


def _holds_too_much(workflow: BpmnWorkflow, limit: int) -> bool:
    """Whether any task the case waits at (or its last) holds more data than a case may."""
    tasks = workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.ERROR) or [
        workflow.last_task or workflow.task_tree]
    return any(data_size_over(task.data, limit) for task in tasks) or data_size_over(workflow.data, limit)


def _error_entries(instance: Instance, entries: list[audit.Entry], failure: Exception, now: datetime) -> None:
    """Mark the instance in error, naming the task and the cause, on the record."""
    name, message = _failure(failure)
    failed_task = getattr(failure, "task", None)
    instance.status = ERROR
    instance.error = {
        "error": name, "message": message, "at": audit.timestamp(now),
        "task_id": str(failed_task.id) if failed_task is not None else None,
        "element_id": failed_task.task_spec.bpmn_id if failed_task is not None else None,
    }
    recorded = [e for e in entries
                if failed_task is not None and e.task_id == str(failed_task.id) and e.to_state == "ERROR"]
    if recorded:
        recorded[-1].detail = {"error": name, "message": message}
    elif failed_task is not None:
        spec = failed_task.task_spec
        entries.append(audit.Entry(
            action="task.error", actor=ENGINE_ACTOR, task_id=str(failed_task.id), element_id=spec.bpmn_id,
            element_name=spec.bpmn_name, lane=getattr(spec, "lane", None), from_state=state_name(failed_task),
            to_state="ERROR", detail={"error": name, "message": message},
        ))
    entries.append(audit.Entry(action="instance.errored", actor=ENGINE_ACTOR,
                               detail={"error": name, "message": message}))


def transition(
    session: Session, ctx: EngineContext, instance: Instance, step: Step,
    loaded: tuple[ProcessBundle, BpmnWorkflow] | None = None,
) -> Instance:
    """Persist one step of an instance: act, let the engine run, then write the state, the open
    tasks and who takes part, the timer and message waits, the jobs, and the audit records — in
    the caller's transaction. The caller holds the instance's lock."""
    bundle, workflow = loaded or load(session, ctx, instance)
    entries = list(step.leading)
    acted_on = str(step.completing.id) if step.completing is not None else None
    was_running = instance.status == RUNNING and not inspect(instance).pending
    failure: Exception | None = None
    arrivals: list[_Arrival] = []
    joining = list(step.joining)
    if acted_on is not None and step.on_behalf_of:
        # Whoever else completes a task takes part already, as one it was offered to (by name or
        # group); a deputy (대결) acted for someone else, so they join the case themselves.
        joining.append(("user", step.actor, "deputy"))
    with recording(workflow, ctx.clock) as recorder:
        try:
            _act(workflow, recorder, step)
        except Exception as exc:  # a designer's script or condition failed: keep everything, mark the error
            failure = exc
        # too much data, found by a script process or counted here: the step is not kept
        too_much = (failure is not None and isinstance(_unwrapped(failure) or failure, DataTooLarge)) or (
            failure is None and _holds_too_much(workflow, ctx.max_data_bytes))
        if too_much:
            failure = DataTooLarge(f"this step would leave the case holding more than {ctx.max_data_bytes:,} "
                                   "bytes of data (CITYFLOW_MAX_DATA_BYTES); nothing of it was kept")
        if failure is None:
            try:
                if step.cancel is not None:
                    instance.status = CANCELLED
                elif instance.status == ERROR and not step.rerun_failed:
                    pass  # corrected while in error: it stays there until someone retries it
                else:
                    instance.status = COMPLETED if workflow.is_completed() else RUNNING
                in_step = was_running and step.completing is not None
                offered = _sync_open_tasks(session, ctx, instance, workflow,
                                           recorder.transitions if in_step else None, arrivals)
                if step.edits is not None and instance.status == RUNNING:
                    offered |= _refresh_open_tasks(session, ctx, instance, workflow)
                joining += [(kind, name, "candidate") for kind, name in sorted(offered)]
                _request_jobs(session, ctx, instance, workflow)
            except ScriptFailed as exc:  # an assignment or due-date expression failed
                failure = exc
            except (SQLAlchemyError, CityflowError):
                raise  # the database's trouble or a refusal: the step is not taken at all
            except Exception as exc:  # a designer's expression failed some other way (a due date, say)
                failure = exc
    if too_much:  # not kept: the case stays where it was before this step, stopped with the cause
        if instance.state:
            bundle, workflow = load(session, ctx, instance)
        else:  # a case being started stays at its start, with the data it was started with
            workflow = new_workflow(bundle, ctx.script_engine)
            workflow.task_tree.data.update(instance.data)
    else:
        entries.extend(_entries(recorder, step, acted_on))
    now = ctx.clock()
    if failure is not None:
        _error_entries(instance, entries, failure, now)
        _sync_open_tasks(session, ctx, instance, workflow, None)  # nobody acts on an instance in error
    elif instance.status == CANCELLED:
        instance.ended_at = now
        entries.append(audit.Entry(action="instance.cancelled", actor=step.actor, to_state="CANCELLED",
                                   detail={"reason": step.cancel}))
    elif instance.status == COMPLETED:
        instance.ended_at = now
        entries.append(audit.Entry(action="instance.completed", actor=ENGINE_ACTOR, to_state="COMPLETED"))
    for entry in entries:  # every record of this step on the engine's clock
        entry.at = entry.at or now
    if inspect(instance).pending:
        session.flush()  # the rows written below refer to it
    with session.no_autoflush:  # the instance's row is written once, at the end
        before = dict(instance.data or {})
        instance.data = current_data(workflow)
        if step.edits is not None:
            instance.data = {**before, **jsonable(step.edits)}
            entries.insert(len(step.leading), audit.Entry(
                action="instance.data_edited", actor=step.actor, changes=data_changes(before, instance.data), at=now))
        access.add_participants(session, instance.id, [j for j in joining if (j[0], j[1]) not in step.known])
        if failure is None and instance.status == RUNNING:
            _announce_arrivals(session, ctx, instance, arrivals, step.actor, now)
        _sync_waits(session, instance, workflow)
        compact(workflow)
        instance.state = dump_state(workflow)
        audit.append_to_instance(session, instance, entries, bundle.version_hash)
    session.flush()
    ctx.workflows.keep_when_committed(session, instance.id, instance.process_version_id, instance.state, workflow)
    return instance


# -- operations (the engine's own; people reach them through engine.commands) ------------------


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

    ``scheduled``: the worker starts it
    because its timer start event is due, so that timer counts as fired."""
    data = _require_object(data)
    if data_size_over(data, ctx.max_data_bytes):
        raise DataTooLarge(f"the data to start with is more than a case may hold ({ctx.max_data_bytes:,} bytes, "
                           "CITYFLOW_MAX_DATA_BYTES)")
    version_id, version_number = latest_version(session, process_key)
    bundle = ctx.bundles.get(session, version_id)
    workflow = new_workflow(bundle, ctx.script_engine)
    workflow.task_tree.data.update(data)
    now = ctx.clock()
    instance = Instance(
        id=str(uuid.uuid4()), process_version_id=version_id, process_key=process_key, status=RUNNING,
        business_key=business_key, initiator=initiator, data=data, state="", audit_seq=0, audit_head="",
        started_at=now,
    )
    session.add(instance)
    created = audit.Entry(
        action="instance.created", actor=initiator or ENGINE_ACTOR, to_state="RUNNING",
        changes=data_changes({}, data) or None, detail={"business_key": business_key, "version": version_number},
        at=now,
    )
    joining = [("user", initiator or "", "initiator"), *(("group", name, "overseer") for name in bundle.overseers)]
    step = Step(initiator or ENGINE_ACTOR, leading=[created], act=_fire_start_timers(ctx) if scheduled else None,
                joining=joining)
    return transition(session, ctx, instance, step, (bundle, workflow))


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


_LOCK_BY_TASK = (select(Instance, OpenTask).join(OpenTask, OpenTask.instance_id == Instance.id)
                 .where(OpenTask.id == bindparam("task_id")).with_for_update(of=Instance)
                 .execution_options(populate_existing=True))


def lock_by_task(session: Session, task_id: str) -> tuple[Instance, OpenTask]:
    """Lock the instance that holds open task ``task_id`` and read the task under that lock;
    409 when the task is done, 404 when it never was."""
    found = session.execute(_LOCK_BY_TASK, {"task_id": task_id}).one_or_none()
    if found is not None:
        return found[0], found[1]
    seen = session.execute(
        select(AuditRecord.instance_id).where(AuditRecord.task_id == task_id).limit(1)
    ).scalar_one_or_none()
    if seen is not None:
        raise TaskNotReady(f"task '{task_id}' is not waiting for anyone any more", instance_id=seen)
    raise TaskNotFound(f"no task '{task_id}'")


def offered_to(task: OpenTask) -> frozenset[tuple[str, str]]:
    """Who an open task was offered to: they joined its case when it was, so a step need not say it again."""
    users = {name for name in (task.assignee, task.claimed_by, *task.candidate_users) if name}
    return frozenset({("user", name) for name in users} | {("group", name) for name in task.candidate_groups})


def ready_task(workflow: BpmnWorkflow, task_id: str) -> Task:
    """The workflow's user task ``task_id``, if it is ready for a person; else 409."""
    try:
        task = workflow.get_task_from_id(uuid.UUID(task_id))
    except Exception as exc:
        raise TaskNotReady(f"task '{task_id}' is not waiting for anyone any more") from exc
    if task is None or state_name(task) != "READY" or not task.task_spec.manual:
        raise TaskNotReady(f"task '{task_id}' is not waiting for anyone any more")
    return task


def complete_task(
    session: Session,
    ctx: EngineContext,
    task_id: str,
    data: dict[str, Any] | None,
    actor: str,
    on_behalf_of: str | None = None,
    leading: list[audit.Entry] | None = None,
) -> Instance:
    """Complete a ready user task with ``data`` as ``actor`` (a deputy names ``on_behalf_of``)."""
    data = _require_object(data)
    instance, task = lock_by_task(session, task_id)
    if instance.status not in ACTIVE_STATUSES:
        raise InstanceNotActive(f"instance '{instance.id}' is {instance.status}")
    bundle, workflow = load(session, ctx, instance)
    step = Step(actor, leading=list(leading or []), completing=ready_task(workflow, task_id), data=data,
                on_behalf_of=on_behalf_of, known=offered_to(task))
    return transition(session, ctx, instance, step, (bundle, workflow))


def cancel_instance(
    session: Session, ctx: EngineContext, instance_id: str, actor: str, reason: str = ""
) -> Instance:
    instance = lock_instance(session, instance_id)
    if instance.status in (COMPLETED, CANCELLED):
        raise InstanceNotActive(f"instance '{instance.id}' is {instance.status}")
    return transition(session, ctx, instance, Step(actor, cancel=reason, run=False))


def edit_data(
    session: Session, ctx: EngineContext, instance_id: str, changes: dict[str, Any], actor: str
) -> Instance:
    """An administrator's correction of an instance's data, applied where the flow goes on: open
    tasks and timers that read the data are evaluated again."""
    changes = _require_object(changes)
    instance = lock_instance(session, instance_id)
    if instance.status in (COMPLETED, CANCELLED):
        raise InstanceNotActive(f"instance '{instance.id}' is {instance.status}")
    return transition(session, ctx, instance, Step(actor, edits=changes, run=False))


def retry_instance(session: Session, ctx: EngineContext, instance_id: str, actor: str) -> Instance:
    """Run an errored instance's engine again, after the cause (data, a handler, a limit) was fixed."""
    instance = lock_instance(session, instance_id)
    if instance.status != ERROR:
        raise InstanceNotActive(f"instance '{instance.id}' is {instance.status}, not in error")
    previous = instance.error
    instance.error = None
    retried = audit.Entry(
        action="instance.retried", actor=actor, from_state="ERROR", to_state="RUNNING", detail=previous
    )
    return transition(session, ctx, instance, Step(actor, leading=[retried], rerun_failed=True))
