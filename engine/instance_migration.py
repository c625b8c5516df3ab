"""Moving running instances of a process to another of its deployed versions, when a designer asks.

A running instance stays on the version it started on (``engine.definitions``); this module moves
the ones that can go on, unchanged in what they are doing now, on another version's diagram.

What "unchanged" means. An instance is doing what its current tasks are doing: those READY (a
user task waiting for someone), WAITING (a catch event, a boundary event, a receive task, a join)
or STARTED (a service task whose job is pending, a sub-process or call activity under way), in
its process and in every sub-process running. Each of them must exist in the target version, in
the same (sub-)process (matched by the sub-process's id), with

- the same element id and the same type (a user task stays a user task);
- the same form: ``camunda:formKey``, the form file properties, and the form file's content;
- the same assignment: ``camunda:assignee`` / ``candidateUsers`` / ``candidateGroups``, the lane,
  and ``camunda:dueDate``;
- the same event definition (a timer's expression, a message's name and correlation) and the same
  interrupting or not, for an event it waits at;
- the same boundary events attached, each unchanged;
- for a join it waits at, the same incoming flows;
- every other attribute SpiffWorkflow keeps of it the same (scripts before and after, data
  associations, multi-instance settings, properties other than the form's).

Its name, its documentation and where its outgoing flows lead may differ: that is what a new
version changes for a case already under way. The tasks it has finished are history — the audit
trail holds them — and only need a counterpart of the same id when the case still holds them on a
path that is open (the one task the case was compacted to is kept whatever it was).

An instance is kept, with the reason, when a current task is missing or changed, when a running
sub-process or call activity's process is not in the target version, when a multi-instance or
loop activity is running (its instances are not matched one by one), or when it stopped with an
error (retry or cancel it first).

A moved instance keeps its task ids, so its open tasks (with their claims, openings and drafts),
its timers (with the moment they were set for) and its message waits stay as they were; what
comes after its current tasks is predicted afresh from the target version, so the next completion
follows the new diagram. The move is one step of the instance (``instances.transition``): its
state, its version and an ``instance.migrated`` record on its audit chain, written together.

SpiffWorkflow's own ``bpmn.util.diff`` (``SpecDiff``, ``migrate_workflow``) aligns specs by id too,
but resets the ready and waiting tasks: their internal data (a timer's moment) would go and the
engine would run again. Here nothing runs: the stored state is restored against the target's specs
and only the predicted tasks after the current ones are predicted again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, definitions, instances
from engine.context import EngineContext
from engine.errors import InvalidInput
from engine.models import ERROR, RUNNING, Instance, OpenTask, ProcessVersion
from engine.runtime import REGISTRY, ProcessBundle, dump_state, load_state

MIGRATED = "instance.migrated"

CURRENT = TaskState.READY | TaskState.WAITING | TaskState.STARTED
PREDICTED = TaskState.PREDICTED_MASK | TaskState.FUTURE

# What a new version may change of a task an instance is at: its place in the diagram and its words.
_FREE = frozenset({"name", "description", "lookahead", "inputs", "outputs", "bpmn_name", "documentation"})
_ASSIGNMENT = ("assignee", "candidateUsers", "candidateGroups")
_FORM_PROPERTIES = frozenset({"formJsonSchemaFilename", "formUiSchemaFilename"})
_EVENT_WORDS = {"Timer": "timer", "TimeDate": "timer", "Duration": "timer", "Cycle": "timer",
                "Message": "message", "Signal": "signal", "Error": "error", "Escalation": "escalation",
                "Conditional": "condition"}


@dataclass(frozen=True)
class InstanceMove:
    """What became (or would become) of one instance: moved, or kept with the reasons."""

    instance_id: str
    business_key: str | None
    at: list[str]  # the element ids of its current tasks
    reasons: list[str] = field(default_factory=list)

    @property
    def moved(self) -> bool:
        return not self.reasons


@dataclass(frozen=True)
class Migration:
    """The instances of ``process_key`` at ``from_version`` and what became of each."""

    process_key: str
    from_version: int
    to_version: int
    dry_run: bool
    moves: list[InstanceMove]

    @property
    def moved(self) -> list[InstanceMove]:
        return [m for m in self.moves if m.moved]

    @property
    def kept(self) -> list[InstanceMove]:
        return [m for m in self.moves if not m.moved]


@dataclass(frozen=True)
class _Versions:
    """The version instances come from and the one they go to, with their parsed specs."""

    source: ProcessVersion
    target: ProcessVersion
    source_bundle: ProcessBundle
    target_bundle: ProcessBundle


def migrate_instances(
    session: Session, ctx: EngineContext, process_key: str, from_version: int, to_version: int, actor: str,
    dry_run: bool = False,
) -> Migration:
    """Move every running instance of ``process_key`` at ``from_version`` whose current tasks exist
    unchanged in ``to_version`` there; say why each other one stays. ``dry_run`` changes nothing.

    Who may ask is the caller's business (``engine.commands.migrate_instances``); the caller commits."""
    if from_version == to_version:
        raise InvalidInput(f"instances of '{process_key}' are at version {from_version} already")
    source = definitions.version_row(session, process_key, from_version)
    target = definitions.version_row(session, process_key, to_version)
    versions = _Versions(source, target, ctx.bundles.get(session, source.id), ctx.bundles.get(session, target.id))
    query = (select(Instance.id).where(Instance.process_version_id == source.id,
                                       Instance.status.in_((RUNNING, ERROR)))
             .order_by(Instance.started_at, Instance.id))
    moves = []
    for instance_id in list(session.execute(query).scalars()):
        instance = (session.get(Instance, instance_id) if dry_run
                    else instances.lock_instance(session, instance_id))
        assert instance is not None
        if instance.process_version_id != source.id or instance.status not in (RUNNING, ERROR):
            continue  # moved or finished meanwhile
        moves.append(_move(session, ctx, versions, instance, actor, dry_run))
    return Migration(process_key, from_version, to_version, dry_run, moves)


def _move(session: Session, ctx: EngineContext, versions: _Versions, instance: Instance, actor: str,
          dry_run: bool) -> InstanceMove:
    workflow = load_state(instance.state, versions.source_bundle, ctx.script_engine)
    current = list(workflow.get_tasks(state=CURRENT))  # in running sub-processes too
    at = sorted({_element(t) for t in current if t.task_spec.bpmn_id is not None})
    if instance.status == ERROR:
        return InstanceMove(instance.id, instance.business_key, at,
                            ["it stopped with an error; retry or cancel it first"])
    reasons = _reasons(versions, workflow, current)
    if reasons:
        return InstanceMove(instance.id, instance.business_key, at, reasons)
    try:
        moved = _moved_workflow(workflow, current, versions.target_bundle, ctx)
    except Exception as exc:  # SpiffWorkflow could not lay the case onto the new diagram
        return InstanceMove(instance.id, instance.business_key, at, [f"it could not be laid onto version "
                                                                      f"{versions.target.version}: {exc}"])
    if not dry_run:
        _persist(session, ctx, versions, instance, moved, at, actor)
    return InstanceMove(instance.id, instance.business_key, at)


# -- deciding ----------------------------------------------------------------------------------


def _element(task: Task) -> str:
    return str(task.task_spec.bpmn_id or task.task_spec.name)


def _target_specs(bundle: ProcessBundle, top: BpmnWorkflow, workflow: Any) -> dict[str, Any] | None:
    """The task specs of the process (or sub-process) ``workflow`` runs, in the target version."""
    if workflow is top:
        return dict(bundle.spec.task_specs)
    spec = bundle.subprocess_specs.get(workflow.spec.name)
    return dict(spec.task_specs) if spec is not None else None


def _running(workflow: BpmnWorkflow) -> list[Any]:
    """The workflow and its sub-processes that have not finished."""
    return [workflow, *(sp for sp in workflow.subprocesses.values() if not sp.completed)]


def _reasons(versions: _Versions, workflow: BpmnWorkflow, current: list[Task]) -> list[str]:
    """Why the instance cannot move, in the words the designer reads; none when it can."""
    reasons: list[str] = []
    number = versions.target.version
    for sub in _running(workflow)[1:]:
        if _target_specs(versions.target_bundle, workflow, sub) is None:
            caller = _element(workflow.get_task_from_id(sub.parent_task_id))
            reasons.append(f"a sub-process/call activity is running ('{caller}') and its process "
                           f"'{sub.spec.name}' is not in version {number}")
    for task in current:
        spec = task.task_spec
        if task.has_state(TaskState.STARTED) and not isinstance(spec, ServiceTask | SubWorkflowTask):
            reasons.append(f"a multi-instance or loop activity is running ('{_element(task)}')")
            continue
        targets = _target_specs(versions.target_bundle, workflow, task.workflow)
        if targets is None:
            continue  # said above
        new = targets.get(spec.name)
        if new is None:
            kind = "task" if spec.bpmn_id is not None else "step"
            reasons.append(f"{kind} '{_element(task)}' is not in version {number}")
            continue
        reasons.extend(_task_changes(versions, task, new, targets))
    reasons.extend(_held_history(versions, workflow, current))
    return list(dict.fromkeys(reasons))


def _task_changes(versions: _Versions, task: Task, new_spec: Any, targets: dict[str, Any]) -> list[str]:
    old, new = REGISTRY.convert(task.task_spec), REGISTRY.convert(new_spec)
    name = _element(task)
    if old.get("typename") != new.get("typename"):
        return [f"task '{name}' changed: its type differs ({old.get('typename')} → {new.get('typename')})"]
    reasons = []
    if "event_definition" in old and (old.get("event_definition") != new.get("event_definition")
                                      or old.get("cancel_activity") != new.get("cancel_activity")):
        reasons.append(f"waiting on a {_event_word(old['event_definition'])} ('{name}') whose definition changed")
    differs = _differences(versions, name, old, new)
    if task.has_state(TaskState.WAITING) and "event_definition" not in old \
            and sorted(old.get("inputs") or []) != sorted(new.get("inputs") or []):
        differs.append("incoming flows")
    if _boundary_events(task.task_spec, dict(task.workflow.spec.task_specs)) != _boundary_events(new_spec, targets):
        differs.append("boundary events")
    if differs:
        reasons.append(f"task '{name}' changed: its {_listed(differs)} {'differs' if len(differs) == 1 else 'differ'}")
    return reasons


def _listed(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _event_word(definition: dict[str, Any]) -> str:
    typename = str(definition.get("typename", ""))
    for part, word in _EVENT_WORDS.items():
        if part in typename:
            return word
    return "event"


def _differences(versions: _Versions, element_id: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Which of what a task does differ between its two specs, named as a designer would."""
    found = []
    if old.get("lane") != new.get("lane"):
        found.append("lane")
    old_ext, new_ext = dict(old.get("extensions") or {}), dict(new.get("extensions") or {})
    old_props, new_props = dict(old_ext.pop("properties", None) or {}), dict(new_ext.pop("properties", None) or {})
    if _form(versions.source, element_id, old_ext, old_props) != _form(versions.target, element_id, new_ext, new_props):
        found.append("form")
    if any(old_ext.get(key) != new_ext.get(key) for key in _ASSIGNMENT):
        found.append("assignment")
    if old_ext.get("dueDate") != new_ext.get("dueDate"):
        found.append("due date")
    known = {*_ASSIGNMENT, "dueDate", "formKey"}
    found.extend(sorted(
        {k for k in old_ext.keys() | new_ext.keys() if k not in known and old_ext.get(k) != new_ext.get(k)}
        | {k for k in old_props.keys() | new_props.keys()
           if k not in _FORM_PROPERTIES and old_props.get(k) != new_props.get(k)}
        | {k for k in old.keys() | new.keys()
           if k not in _FREE and k not in ("lane", "extensions", "event_definition", "cancel_activity", "typename")
           and old.get(k) != new.get(k)}))
    return found


def _form(row: ProcessVersion, element_id: str, extensions: dict[str, Any],
          properties: dict[str, Any]) -> tuple[Any, ...]:
    """A task's form as it would be shown: what names it, and the form file's content."""
    form_key = extensions.get("formKey") or properties.get("formJsonSchemaFilename")
    names = tuple(properties.get(key) for key in sorted(_FORM_PROPERTIES))
    files = definitions.files_of(row)
    resolved = definitions.resolve_form(files, element_id, form_key)
    return extensions.get("formKey"), names, files.get(resolved) if resolved else None


def _boundary_events(spec: Any, specs: dict[str, Any]) -> dict[str, Any]:
    """The boundary events attached to a task, each as SpiffWorkflow keeps it (but for its flows)."""
    split = specs.get(f"{spec.name}.BoundaryEventSplit")
    if split is None or split not in spec.inputs:
        return {}
    return {output.name: {k: v for k, v in REGISTRY.convert(output).items() if k not in _FREE}
            for output in split.outputs if output is not spec}


def _held_history(versions: _Versions, workflow: BpmnWorkflow, current: list[Task]) -> list[str]:
    """Finished tasks the case still holds on an open path must exist in the target version."""
    predicted = {t.id for c in current for t in _predicted_below(c)}
    reasons = []
    for sub in _running(workflow):
        targets = _target_specs(versions.target_bundle, workflow, sub)
        if targets is None:
            continue
        for task in list(sub.tasks.values()):
            if task is sub.task_tree or task.parent is sub.task_tree or task.id in predicted:
                continue  # the root and the task the case was compacted to are kept as they are
            if task.task_spec.name in targets:
                continue
            if task.has_state(TaskState.FINISHED_MASK):
                reasons.append(f"it has passed '{_element(task)}' on a path still open, and that is not in "
                               f"version {versions.target.version}")
            elif not task.has_state(CURRENT):
                reasons.append(f"step '{_element(task)}' it is about to take is not in version "
                               f"{versions.target.version}")
    return reasons


# -- moving ------------------------------------------------------------------------------------


def _predicted_below(task: Task) -> list[Task]:
    """The tasks SpiffWorkflow predicted after a current task: dropped, and predicted again from the new diagram."""
    found, stack = [], [c for c in task.children if c.has_state(PREDICTED)]
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(child.children)
    return found


def _moved_workflow(workflow: BpmnWorkflow, current: list[Task], target: ProcessBundle,
                    ctx: EngineContext) -> BpmnWorkflow:
    """The same tasks, with the same ids, data and timers, on the target version's specs."""
    for task in current:
        for child in [c for c in task.children if c.has_state(PREDICTED)]:
            if any(not t.has_state(PREDICTED) for t in _predicted_below(child)):
                raise ValueError(f"'{_element(child)}' after '{_element(task)}' has begun")
            task.workflow._remove_task(child.id)
    for key, subprocess in list(workflow.subprocesses.items()):
        specs = _target_specs(target, workflow, subprocess)
        if subprocess.completed and (specs is None or any(t.task_spec.name not in specs
                                                          for t in subprocess.tasks.values())):
            del workflow.subprocesses[key]  # finished: the trail holds what it did
    for sub in _running(workflow):
        specs = _target_specs(target, workflow, sub) or {}
        for child in sub.task_tree.children:
            if child.task_spec.name not in specs and child.has_state(TaskState.FINISHED_MASK):
                child.task_spec = sub.spec.start  # compacted history: only its data is read any more
    moved = load_state(dump_state(workflow), target, ctx.script_engine)
    for task in current:
        again = moved.get_task_from_id(task.id)
        again.task_spec._predict(again, mask=TaskState.NOT_FINISHED_MASK)
    return moved


def _persist(session: Session, ctx: EngineContext, versions: _Versions, instance: Instance,
             workflow: BpmnWorkflow, at: list[str], actor: str) -> None:
    source, target = versions.source, versions.target
    instance.process_version_id = target.id
    entry = audit.Entry(
        action=MIGRATED, actor=actor, from_state="RUNNING", to_state="RUNNING", at=ctx.clock(),
        detail={"from": {"version": source.version, "hash": source.hash},
                "to": {"version": target.version, "hash": target.hash}, "at": at},
    )
    overseers = set(versions.target_bundle.overseers) - set(versions.source_bundle.overseers)
    step = instances.Step(actor, leading=[entry], run=False,
                          joining=[("group", name, "overseer") for name in sorted(overseers)])
    instances.transition(session, ctx, instance, step, (versions.target_bundle, workflow))
    # A renamed task keeps its place in people's inboxes under its new name.
    for row in session.execute(select(OpenTask).where(OpenTask.instance_id == instance.id)).scalars():
        spec = versions.target_bundle.spec.task_specs.get(row.element_id)
        if spec is not None and (spec.bpmn_name or spec.bpmn_id) != row.name:
            row.name = spec.bpmn_name or spec.bpmn_id
    session.flush()


__all__ = ["MIGRATED", "InstanceMove", "Migration", "migrate_instances"]
