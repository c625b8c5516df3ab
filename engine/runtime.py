"""SpiffWorkflow underneath: specs and states in and out of JSON, and every task transition observed.

Instance state is stored without its process spec: the spec is stored once per
deployed version and cached here, keyed by the version hash.

Transitions are observed in the engine itself: every state change of a SpiffWorkflow
task goes through ``Task._set_state``, which is hooked once at import (as is
``Task._add_child``, for tasks created directly in a state), and a ``Recorder``
bound to the current context collects the ones a person would call a transition —
READY, WAITING, COMPLETED, ERROR, CANCELLED — never the predicted MAYBE, LIKELY
or FUTURE states, and only for tasks that are BPMN elements. Logging plays no
part: SpiffWorkflow's loggers are the operators' to configure.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import wraps
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.bpmn.specs.defaults import EventBasedGateway
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
    EscalationEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.data_object import DataObject as SpiffDataObject
from SpiffWorkflow.spiff.specs.defaults import CallActivity as SpiffCallActivity
from SpiffWorkflow.spiff.specs.defaults import NoneTask as SpiffNoneTask
from SpiffWorkflow.spiff.specs.defaults import ServiceTask as SpiffServiceTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.citytime import CityTime, script_helpers_at, warm_holidays
from engine.decisions import DecisionTask, DecisionTaskConverter
from engine.modelling import (
    DocumentedDataStore,
    FirstEventGateway,
    MappedCallActivity,
    PassThroughTask,
    ProcessDataObject,
)
from engine.parsing import DeferredServiceTask
from engine.sandbox import SandboxEnvironment, data_size_over
from engine.timers import CLOCKED

RECORDED_STATES = frozenset({"WAITING", "READY", "COMPLETED", "ERROR", "CANCELLED"})
STATE_FORMAT = "cityflow-1"


class _StatelessWorkflowConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    """Converts a workflow without its specs; they are passed back in on restore."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(
        self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None
    ) -> BpmnWorkflow:
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = _StatelessWorkflowConverter
for _spiff_timer, _clocked_timer in CLOCKED.items():
    _config[_clocked_timer] = _config[_spiff_timer]
_config[DeferredServiceTask] = _config[SpiffServiceTask]
_config[DecisionTask] = DecisionTaskConverter
_config[FirstEventGateway] = _config[EventBasedGateway]
_config[PassThroughTask] = _config[SpiffNoneTask]
_config[MappedCallActivity] = _config[SpiffCallActivity]
_config[ProcessDataObject] = _config[SpiffDataObject]
_config[DocumentedDataStore] = _config[TaskDataReference]  # both are a bpmn id and a name
REGISTRY = BpmnWorkflowSerializer.configure(_config)


THROWN = {"error": ErrorEventDefinition, "escalation": EscalationEventDefinition}
"""What the person working a task may throw, by the word the API uses for it."""


@dataclass(frozen=True)
class Throw:
    """A BPMN error or escalation a task's boundary event catches: its kind, its code, its name, and
    the boundary event's id (for its words in other languages)."""

    kind: str
    code: str
    name: str
    element_id: str


@dataclass(frozen=True)
class StartEvent:
    """How a person starts a process, as its start event declares (Camunda's attributes):
    ``initiator`` — the variable the engine sets to the starter's username (``camunda:initiator``);
    ``form_key`` — the form filled in before it starts (``camunda:formKey``)."""

    element_id: str
    initiator: str | None = None
    form_key: str | None = None


def _name(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


@dataclass
class ProcessBundle:
    """Everything needed to run one deployed version: its specs, parsed once."""

    key: str
    version: int
    version_hash: str
    spec: Any
    subprocess_specs: dict[str, Any]
    # Who else may read and reach its cases, as the process declares: ``overseers`` (groups that
    # read every case) and ``senders`` (message name → the role:, group: and user: that may send it).
    access: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": REGISTRY.convert(self.spec),
            "subprocess_specs": {k: REGISTRY.convert(v) for k, v in self.subprocess_specs.items()},
            "access": self.access,
        }

    @property
    def overseers(self) -> list[str]:
        return list(self.access.get("overseers", []))

    def senders(self, message: str) -> list[str]:
        return list(self.access.get("senders", {}).get(message, []))

    @property
    def start_event(self) -> StartEvent | None:
        """The start event a person starts the process at (its none start event), if it has one."""
        for spec in self.spec.start.outputs:
            definition = getattr(spec, "event_definition", None)
            if spec.__class__.__name__ == "StartEvent" and definition.__class__.__name__ == "NoneEventDefinition":
                extensions = getattr(spec, "extensions", None) or {}
                return StartEvent(str(spec.bpmn_id), _name(extensions.get("initiator")),
                                  _name(extensions.get("formKey")))
        return None

    def throws(self, element_id: str) -> list[Throw]:
        """The BPMN errors and escalations the person working task ``element_id`` may report: those its
        boundary events catch by code, named as the diagram names them."""
        found: list[Throw] = []
        for spec in (self.spec, *self.subprocess_specs.values()):
            split = spec.task_specs.get(f"{element_id}.BoundaryEventSplit")
            for event in getattr(split, "outputs", None) or []:
                definition = getattr(event, "event_definition", None)
                kind = next((k for k, cls in THROWN.items() if isinstance(definition, cls)), None)
                code = getattr(definition, "code", None)
                if kind is not None and code:
                    found.append(Throw(kind, str(code), event.bpmn_name or getattr(definition, "name", None) or code,
                                       str(event.bpmn_id)))
        return found

    def documentation(self, element_id: str) -> str | None:
        """The documentation a designer wrote on a BPMN element, if any."""
        for spec in (self.spec, *self.subprocess_specs.values()):
            for task_spec in spec.task_specs.values():
                if getattr(task_spec, "bpmn_id", None) == element_id:
                    text = getattr(task_spec, "documentation", None)
                    return str(text) if text else None
        return None

    @classmethod
    def from_dict(cls, key: str, version: int, version_hash: str, dct: dict[str, Any]) -> ProcessBundle:
        bundle = cls(
            key=key,
            version=version,
            version_hash=version_hash,
            spec=REGISTRY.restore(dct["spec"]),
            subprocess_specs={k: REGISTRY.restore(v) for k, v in dct["subprocess_specs"].items()},
            access=dct.get("access") or {},
        )
        for spec in (bundle.spec, *bundle.subprocess_specs.values()):
            _async_boundaries(spec)
        return bundle


CONTINUATION = "cityflow:continue"
"""The handler name of a job that runs an activity drawn with ``camunda:asyncBefore``."""


def _async_boundaries(workflow_spec: Any) -> None:
    """An activity drawn with ``camunda:asyncBefore="true"`` is a job boundary, as in Camunda 7: the step
    that reaches it ends there (and is committed); the worker runs the activity itself, as a job with
    retries. A service task is a job anyway, and a person's task waits for its person."""
    for task_spec in workflow_spec.task_specs.values():
        extensions = getattr(task_spec, "extensions", None) or {}
        if (str(extensions.get("asyncBefore", "")).strip().lower() != "true" or task_spec.manual
                or isinstance(task_spec, DeferredServiceTask)):
            continue
        run_now = task_spec._run

        def held(my_task: Task, run_now: Callable[[Task], bool | None] = run_now) -> bool | None:
            if my_task._get_internal_data("continued"):
                return run_now(my_task)
            my_task._set_internal_data(job_requested=True)
            return None

        task_spec._run = held


class ScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """The sandboxed script engine, with the clock timers read; scripts read it as ``now()``,
    and count local dates and working days with the city's helpers (``engine.citytime``)."""

    def __init__(self, time_limit: float, clock: Callable[[], datetime], city_time: CityTime | None = None,
                 result_limit: int = 1024 * 1024) -> None:
        self.city_time = city_time or CityTime.from_settings()
        warm_holidays(self.city_time.today(clock()).year)  # a script's first working-day question is quick
        helpers = {"now": clock, **self.city_time.script_helpers(clock)}
        city = self.city_time
        environment = SandboxEnvironment(
            time_limit=time_limit, environment_globals=helpers, result_limit=result_limit,
            helper_recipe=lambda: (script_helpers_at, (city, clock())),
        )
        super().__init__(environment=environment)
        self.clock = clock


def make_script_engine(
    time_limit: float, clock: Callable[[], datetime] | None = None, result_limit: int = 1024 * 1024,
) -> PythonScriptEngine:
    return ScriptEngine(time_limit, clock or (lambda: datetime.now(UTC)), result_limit=result_limit)


def new_workflow(bundle: ProcessBundle, script_engine: PythonScriptEngine) -> BpmnWorkflow:
    return BpmnWorkflow(bundle.spec, bundle.subprocess_specs, script_engine=script_engine)


def dump_state(workflow: BpmnWorkflow) -> str:
    dct = REGISTRY.convert(workflow)
    dct["format"] = STATE_FORMAT
    return json.dumps(dct, separators=(",", ":"), default=str)


def load_state(text: str, bundle: ProcessBundle, script_engine: PythonScriptEngine) -> BpmnWorkflow:
    dct = json.loads(text)
    dct.pop("format", None)
    workflow = REGISTRY.restore(dct, spec=bundle.spec, subprocess_specs=bundle.subprocess_specs)
    workflow.script_engine = script_engine
    return workflow


def all_tasks(workflow: BpmnWorkflow) -> Iterator[Task]:
    yield from workflow.tasks.values()
    for subprocess in workflow.subprocesses.values():
        yield from subprocess.tasks.values()


def jsonable(value: Any) -> Any:
    """A JSON-safe copy of a data value (dates become ISO strings)."""
    return json.loads(json.dumps(value, default=str))


_SHARED = frozenset({str, int, float, bool, type(None)})


def data_copy(value: Any) -> Any:
    """A deep copy of task data: dicts and lists copied, strings, numbers and ``None`` shared (they never
    change), anything else by ``copy.deepcopy``. Several times quicker than ``deepcopy`` alone on the
    JSON-like data cases carry, and taken before every automatic step."""
    kind = type(value)
    if kind is dict:
        return {key: item if type(item) in _SHARED else data_copy(item) for key, item in value.items()}
    if kind is list:
        return [item if type(item) in _SHARED else data_copy(item) for item in value]
    if kind in _SHARED:
        return value
    return copy.deepcopy(value)


# A value larger than this is not copied into the trail's record of a change, only said to be too large
# (such a step is not kept anyway: see ``EngineContext.max_data_bytes``).
RECORDED_VALUE_LIMIT = 16 * 1024 * 1024


def data_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``{key: [old, new]}`` for every key added, changed or removed."""
    changes: dict[str, Any] = {}

    def shown(value: Any) -> Any:
        return {"too_large": True} if data_size_over(value, RECORDED_VALUE_LIMIT) else jsonable(value)

    for key in before.keys() | after.keys():
        old, new = before.get(key), after.get(key)
        if key not in before or key not in after or (old is not new and old != new):
            changes[key] = [shown(old), shown(new)]
    return dict(sorted(changes.items()))


@dataclass
class Transition:
    task: Task
    from_state: str | None
    to_state: str
    at: datetime
    changes: dict[str, Any] | None = None


@dataclass
class Recorder:
    """Collects the transitions of one workflow during one operation."""

    workflow: BpmnWorkflow
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    transitions: list[Transition] = field(default_factory=list)
    _known: dict[UUID, str] = field(default_factory=dict)
    _before: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    # (position, task id, from, to, at, only if the task is still in ``to`` when the operation ends)
    _pending: list[tuple[int, UUID, str | None, str, datetime, bool]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for task in all_tasks(self.workflow):
            name = TaskState.get_name(task.state)
            if name in RECORDED_STATES:
                self._known[task.id] = name

    def snapshot(self, task: Task) -> None:
        """Remember a task's data before it runs, so its completion can say what it changed."""
        self._before[task.id] = data_copy(task.data)

    def state_changed(self, task_id: UUID, state: str) -> None:
        if state not in RECORDED_STATES:
            return
        previous = self._known.get(task_id)
        self._known[task_id] = state
        at = self.clock()
        task = self._find(task_id)
        if task is None:
            # A subprocess announces its first tasks before it is attached to the workflow.
            self._pending.append((len(self.transitions), task_id, previous, state, at, False))
            return
        self._add(task, previous, state, at)

    def task_created(self, task_id: UUID, state: str) -> None:
        """A task SpiffWorkflow created directly in ``state``: no state change announces that one.

        READY is a transition like any other (an ad hoc subprocess starts its conditional
        activities READY). WAITING is where each new instance of a multi-instance or loop
        activity is parked until SpiffWorkflow updates it a moment later (to READY, or STARTED
        for a subprocess); it is on record only if it lasts, as for a receive task's instances
        waiting for their message.
        """
        if state == "READY":
            self.state_changed(task_id, state)
        elif state in RECORDED_STATES:
            self._pending.append((len(self.transitions), task_id, None, state, self.clock(), True))

    def finish(self) -> None:
        """Resolve transitions of tasks that were not yet reachable when they happened."""
        for position, task_id, previous, state, at, if_lasting in reversed(self._pending):
            task = self._find(task_id)
            if task is None:
                continue
            # Any change after its creation is on record (``_known``); the state it was created in was fleeting.
            if if_lasting and (task_id in self._known or TaskState.get_name(task.state) != state):
                continue
            self._add(task, previous, state, at, position)
        self._pending.clear()

    def _find(self, task_id: UUID) -> Task | None:
        task = self.workflow.tasks.get(task_id)
        if task is None:
            for subprocess in self.workflow.subprocesses.values():
                task = subprocess.tasks.get(task_id)
                if task is not None:
                    break
        return task

    def _add(self, task: Task, previous: str | None, state: str, at: datetime, position: int | None = None) -> None:
        if getattr(task.task_spec, "bpmn_id", None) is None:
            return
        changes = None
        if state == "COMPLETED":
            before = self._before.pop(task.id, None)
            if before is None:
                before = task.parent.data if task.parent is not None else {}
            changes = data_changes(before, task.data)
        transition = Transition(task, previous, state, at, changes)
        if position is None:
            self.transitions.append(transition)
        else:
            self.transitions.insert(position, transition)


_current: ContextVar[Recorder | None] = ContextVar("cityflow_recorder", default=None)


_SPIFF_TASK_LOG = logging.getLogger("spiff.task")
_RECORDED_VALUES: dict[int, str] = {getattr(TaskState, name): name for name in RECORDED_STATES}


def _observe_task_states() -> None:
    """Hook SpiffWorkflow's ``Task`` so that its state changes reach the recorder of the current context.

    The audit trail is built from these changes, so they are taken where they happen rather
    than read back from SpiffWorkflow's log messages: a server's logging configuration
    (``dictConfig``/``fileConfig`` disable existing loggers by default) or a level raised on
    ``spiff.task`` would otherwise drop transitions without a word. Every state change goes
    through ``Task._set_state`` (the ``state`` setter calls it); ``Task.__init__`` sets the first
    state without it, so new tasks are seen at ``Task._add_child``, where the engine creates them
    while it runs (a new process's root starts FUTURE; restoring a stored instance changes nothing).
    Installed once, at import; installing again (a reloaded module) hooks SpiffWorkflow's own
    methods afresh, never a hook of a hook. With no recorder active a hook costs one ContextVar lookup.
    """
    if "_cityflow_unhooked" not in vars(Task):
        Task._cityflow_unhooked = (Task._set_state, Task._add_child)
    set_state, add_child = Task._cityflow_unhooked

    @wraps(set_state)
    def _set_state(task: Task, value: int) -> None:
        before = task._state
        if value != before and not _SPIFF_TASK_LOG.isEnabledFor(logging.INFO):
            # SpiffWorkflow's own change, without the log record nobody reads (its fields, the task's
            # data among them, are gathered before the logger is asked whether it wants them).
            task.last_state_change = time.time()
            task._state = value
        elif value != before or _SPIFF_TASK_LOG.isEnabledFor(logging.DEBUG):
            set_state(task, value)
        if value != before and (recorder := _current.get()) is not None and value in _RECORDED_VALUES:
            recorder.state_changed(task.id, _RECORDED_VALUES[value])

    @wraps(add_child)
    def _add_child(task: Task, task_spec: Any, state: int = TaskState.MAYBE) -> Task:
        child = add_child(task, task_spec, state)
        if (recorder := _current.get()) is not None and state in _RECORDED_VALUES:
            recorder.task_created(child.id, _RECORDED_VALUES[state])
        return child

    Task._set_state = _set_state
    Task._add_child = _add_child


_observe_task_states()


@contextmanager
def recording(workflow: BpmnWorkflow, clock: Callable[[], datetime] | None = None) -> Iterator[Recorder]:
    """Collect the transitions ``workflow`` makes inside the block, timed by ``clock``."""
    recorder = Recorder(workflow, clock) if clock is not None else Recorder(workflow)
    token = _current.set(recorder)
    try:
        yield recorder
    finally:
        _current.reset(token)
        recorder.finish()


def run_engine(workflow: BpmnWorkflow, recorder: Recorder) -> None:
    """Run every automatic step (gateways, scripts, events) until people or time must act."""
    workflow.do_engine_steps(will_complete_task=recorder.snapshot)


def compact(workflow: BpmnWorkflow) -> int:
    """Drop finished history from the task tree; returns how many tasks were dropped.

    SpiffWorkflow keeps every completed task, so a loop grows the tree, the stored
    state and the cost of each step without bound (and its iterators stop at depth
    1,000). The audit trail already holds that history, so once a transition is
    recorded, everything above the point where all unfinished work hangs is dropped:
    the tree is re-rooted there, under the original root.
    """
    dropped = sum(_compact_tree(wf) for wf in [workflow, *workflow.subprocesses.values()])
    if dropped:
        _drop_orphaned_subprocesses(workflow)
    return dropped


def _compact_tree(workflow: Any) -> int:
    root = workflow.task_tree
    unfinished = [t for t in workflow.tasks.values() if t.state & TaskState.NOT_FINISHED_MASK]
    if not unfinished:
        return 0
    path: list[Task] = []
    node = unfinished[0]
    while node is not None:
        path.append(node)
        node = node.parent
    path.reverse()
    on_path = {task.id: i for i, task in enumerate(path)}
    meets: dict[UUID, int] = {}
    lowest = len(path) - 1
    for task in unfinished[1:]:
        walked = []
        node = task
        while node.id not in on_path and node.id not in meets:
            walked.append(node.id)
            node = node.parent
        meet = on_path[node.id] if node.id in on_path else meets[node.id]
        for task_id in walked:
            meets[task_id] = meet
        lowest = min(lowest, meet)
    # Keep a completed task as the new top: unfinished tasks re-read their parent's data.
    pivot = path[lowest]
    while not pivot.has_state(TaskState.COMPLETED) and lowest > 0:
        lowest -= 1
        pivot = path[lowest]
    if lowest <= 1 or not pivot.has_state(TaskState.COMPLETED):
        return 0
    kept = {root.id: root}
    stack = [pivot]
    while stack:
        task = stack.pop()
        kept[task.id] = task
        stack.extend(task.children)
    dropped = len(workflow.tasks) - len(kept)
    workflow.tasks = kept
    root._children = [pivot.id]
    pivot._parent = root.id
    if workflow.last_task is not None and workflow.last_task.id not in kept:
        workflow.last_task = pivot
    return dropped


def _drop_orphaned_subprocesses(workflow: BpmnWorkflow) -> None:
    while True:
        present = set(workflow.tasks)
        for subprocess in workflow.subprocesses.values():
            present.update(subprocess.tasks)
        orphans = [key for key, sp in workflow.subprocesses.items() if sp.parent_task_id not in present]
        if not orphans:
            return
        for key in orphans:
            del workflow.subprocesses[key]


def state_name(task: Task) -> str:
    return str(TaskState.get_name(task.state))


def ready_user_tasks(workflow: BpmnWorkflow) -> list[Task]:
    """READY tasks that wait for a person, in the main process and in every subprocess."""
    return list(workflow.get_tasks(state=TaskState.READY, manual=True))


def current_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The instance's data as people see it: what the waiting tasks of its BPMN elements hold (merged,
    newest last), or, once it has ended, what its last task held. SpiffWorkflow's own joins (of boundary
    events, of the end) keep the copy they took when they began waiting, older than the work since."""
    frontier = sorted(
        (t for t in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
         if getattr(t.task_spec, "bpmn_id", None) is not None),
        key=lambda t: t.last_state_change,
    )
    data: dict[str, Any] = {}
    for task in frontier or [workflow.last_task or workflow.task_tree]:
        data.update(REGISTRY.clean(task.data))
    result: dict[str, Any] = jsonable(data)
    return result


def catching_boundary(task: Task, kind: type, code: str) -> Task | None:
    """The waiting boundary event of ``kind`` (an error or an escalation definition) that catches
    ``code`` thrown by ``task``: one on the task itself, else on the sub-process around it, and so on
    outwards, as BPMN propagates them. A boundary event that names no code catches every code."""
    scope: Task | None = task
    while scope is not None:
        split = scope.parent
        if split is not None and isinstance(split.task_spec, BoundaryEventSplit):
            for event in split.children:
                definition = getattr(event.task_spec, "event_definition", None)
                if (isinstance(event.task_spec, BoundaryEvent) and event.has_state(TaskState.WAITING)
                        and isinstance(definition, kind) and getattr(definition, "code", None) in (None, "", code)):
                    return event
        workflow = scope.workflow
        scope = workflow.top_workflow.get_task_from_id(workflow.parent_task_id) if workflow.parent_task_id else None
    return None


def throw_to(catcher: Task, kind: type, code: str, payload: dict[str, Any]) -> None:
    """Let ``catcher`` (from :func:`catching_boundary`) catch ``code`` with ``payload`` as its data."""
    catcher.task_spec.catch(catcher, BpmnEvent(kind(code, code=code), payload=payload))
    catcher.task_spec._update(catcher)
    catcher.data.update(payload)  # SpiffWorkflow keeps a payload only in a variable named on the event
