"""What happens without anyone clicking: timers fire, messages arrive, service tasks call their
handlers (retried with backoff, then an incident), processes start on schedule, e-mail goes out,
and the audit trail is checkpointed.

Each piece of work is its own unit of work. On PostgreSQL several workers run at once: a
worker takes an instance with ``FOR UPDATE SKIP LOCKED`` and re-reads the timer or job under
that lock, so each fires exactly once. On SQLite one worker runs at a time (a file lock).
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from engine import audit, handlers, instances, metrics, notifications
from engine.config import Settings
from engine.context import EngineContext
from engine.db import Database
from engine.definitions import latest_versions, next_scheduled_start
from engine.errors import Conflict, InstanceNotActive, InvalidInput, NotFound
from engine.models import RUNNING, Instance, Job, MessageWait, ProcessSchedule, Timer
from engine.runtime import CONTINUATION, ProcessBundle, data_changes
from engine.script_pool import pool as script_pool

log = logging.getLogger("cityflow.worker")

TIMER_ACTOR = "system:timer"
WORKER_ACTOR = "system:worker"
MESSAGE_ACTOR = "system:message"
BACKOFF_SECONDS = 30.0
MAX_PAUSE_SECONDS = 30.0  # between passes while the database is unavailable
#: A worker that has done nothing for this long in the middle of a pass is stuck (a handler that never
#: returns, a lock never granted): its health check says so, and whatever watches it restarts it.
STUCK_AFTER_SECONDS = 300.0


class MessageUnmatched(NotFound):
    """A message that no waiting instance and no message start event takes."""


# -- timers ----------------------------------------------------------------------------------


def fire_timer(session: Session, ctx: EngineContext, timer_id: int, instance_id: str) -> bool:
    """Fire one due timer (and any other due timer of its instance); False if it is not ours to fire."""
    instance = instances.try_lock_instance(session, instance_id)
    if instance is None or instance.status != RUNNING:
        return False
    timer = session.execute(select(Timer).where(Timer.id == timer_id)).scalar_one_or_none()
    now = ctx.clock()
    if timer is None or timer.due_at > now:
        return False  # fired already, or not due after all
    fired = audit.Entry(action="timer.fired", actor=TIMER_ACTOR, task_id=timer.task_id, element_id=timer.element_id,
                        detail={"due_at": audit.timestamp(timer.due_at)})
    instances.transition(session, ctx, instance, instances.Step(
        TIMER_ACTOR, leading=[fired], act=lambda wf: wf.refresh_timers(), default_actor=TIMER_ACTOR))
    return True


def due_timers(session: Session, now: datetime, limit: int = 100) -> list[tuple[int, str]]:
    rows = session.execute(
        select(Timer.id, Timer.instance_id).where(Timer.due_at <= now).order_by(Timer.due_at, Timer.id).limit(limit)
    )
    return [(row.id, row.instance_id) for row in rows]


# -- messages --------------------------------------------------------------------------------


@dataclass
class Delivery:
    name: str
    delivered: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.delivered) + len(self.started)


def _correlates(instance: Instance, correlation: dict[str, Any]) -> bool:
    for key, value in correlation.items():
        known = instance.business_key if key == "business_key" else instance.data.get(key)
        if known != value:
            return False
    return True


def _catch(task_id: str, name: str, payload: dict[str, Any]) -> Any:
    def trigger(workflow: BpmnWorkflow) -> None:
        task = workflow.get_task_from_id(uuid.UUID(task_id))
        definition = task.task_spec.event_definition
        for each in getattr(definition, "event_definitions", None) or [definition]:
            if getattr(each, "name", None) == name:
                definition = each
        task.data.update(payload)
        workflow.catch(BpmnEvent(definition, payload=payload))

    return trigger


def _deliver_to(session: Session, ctx: EngineContext, instance: Instance, wait: MessageWait,
                payload: dict[str, Any], actor: str) -> None:
    received = audit.Entry(action="message.received", actor=actor, task_id=wait.task_id, element_id=wait.element_id,
                           changes=data_changes({}, payload) or None, detail={"message": wait.message_name})
    instances.transition(session, ctx, instance, instances.Step(
        actor, leading=[received], act=_catch(wait.task_id, wait.message_name, payload), default_actor=MESSAGE_ACTOR))


def message_targets(session: Session, ctx: EngineContext, name: str) -> dict[int, ProcessBundle]:
    """The process versions a message named ``name`` could reach: those with instances waiting for
    it, and the newest versions that start with it."""
    waiting = set(session.execute(
        select(Instance.process_version_id).join(MessageWait, MessageWait.instance_id == Instance.id)
        .where(MessageWait.message_name == name).distinct()
    ).scalars())
    starting = {version_id for version_id, _ in _processes_started_by(session, ctx, name)}
    return {version_id: ctx.bundles.get(session, version_id) for version_id in sorted(waiting | starting)}


def deliver_message(
    session: Session,
    ctx: EngineContext,
    name: str,
    correlation: dict[str, Any],
    payload: dict[str, Any] | None = None,
    actor: str = MESSAGE_ACTOR,
    versions: set[int] | None = None,
) -> Delivery:
    """Deliver a message to every waiting instance it correlates with, or start the process that
    begins with it — among the process ``versions`` given (all when None); a message that matches
    nothing is refused by name and recorded."""
    if not name:
        raise InvalidInput("a message needs a name")
    if not isinstance(correlation, dict) or not isinstance(payload or {}, dict):
        raise InvalidInput("correlation and payload must be JSON objects")
    payload = dict(payload or {})
    delivery = Delivery(name)
    waits = session.execute(
        select(MessageWait).where(MessageWait.message_name == name).order_by(MessageWait.id)
    ).scalars().all()
    for wait in waits:
        if wait.instance_id in delivery.delivered:
            continue
        instance = instances.lock_instance(session, wait.instance_id)
        if versions is not None and instance.process_version_id not in versions:
            continue
        if instance.status == RUNNING and _correlates(instance, correlation):
            _deliver_to(session, ctx, instance, wait, payload, actor)
            delivery.delivered.append(instance.id)
    if not delivery.delivered:
        for version_id, key in _processes_started_by(session, ctx, name):
            if versions is not None and version_id not in versions:
                continue
            started = instances.start_instance(session, ctx, key, {**correlation, **payload}, initiator=actor)
            start_wait = session.execute(
                select(MessageWait).where(MessageWait.instance_id == started.id, MessageWait.message_name == name)
            ).scalars().first()
            if start_wait is not None:
                _deliver_to(session, ctx, started, start_wait, payload, actor)
            delivery.started.append(started.id)
    if delivery.count == 0:
        audit.append_to_system(session, audit.Entry(
            action="message.unmatched", actor=actor, detail={"name": name, "correlation": correlation}))
        raise MessageUnmatched(f"no instance waits for message '{name}' with {correlation or 'no correlation'}, "
                               "and no process starts with it", recorded=True)
    return delivery


def _processes_started_by(session: Session, ctx: EngineContext, name: str) -> list[tuple[int, str]]:
    """(version id, process key) of the newest versions whose start event is the message ``name``."""
    found = []
    for row in latest_versions(session):
        bundle = ctx.bundles.get(session, row.id)
        for spec in bundle.spec.task_specs.values():
            definition = getattr(spec, "event_definition", None)
            if isinstance(spec, StartEvent) and isinstance(definition, MessageEventDefinition) \
                    and definition.name == name:
                found.append((row.id, row.key))
    return found


# -- jobs ------------------------------------------------------------------------------------


def due_jobs(session: Session, now: datetime, limit: int = 100) -> list[tuple[int, str]]:
    rows = session.execute(
        select(Job.id, Job.instance_id).where(Job.status == "pending", Job.due_at <= now, Job.topic.is_(None))
        .order_by(Job.due_at, Job.id).limit(limit)
    )
    return [(row.id, row.instance_id) for row in rows]


def run_job(session: Session, ctx: EngineContext, job_id: int, instance_id: str) -> str:
    """Call a job's handler; on success the service task completes. Returns ``done``, ``retry``,
    ``incident`` or ``skipped``. The handler runs in a savepoint: when it fails, what it wrote is
    undone, while the failure (attempts, next try, the audit record) is kept."""
    instance = instances.try_lock_instance(session, instance_id)
    if instance is None:
        return "skipped"
    job = session.execute(select(Job).where(Job.id == job_id)).scalar_one_or_none()
    now = ctx.clock()
    if job is None or job.status != "pending" or job.due_at > now:
        return "skipped"
    if instance.status != RUNNING:
        session.delete(job)
        return "skipped"
    bundle, workflow = instances.load(session, ctx, instance)
    task = _started_task(workflow, job.task_id)
    if task is None:  # the service task was cancelled (a terminate end, an interrupting event) meanwhile
        session.delete(job)
        return "skipped"
    if job.handler == CONTINUATION:
        return _continue(session, ctx, instance, job, task, (bundle, workflow))
    handler = handlers.find(job.handler)
    params = {k: v["value"] for k, v in task.task_spec.evaluate_params(task).items()}
    call = handlers.HandlerCall(
        handler=job.handler, params=params, data=dict(task.data), instance_id=instance.id,
        process_key=instance.process_key, business_key=instance.business_key, element_id=job.element_id,
        now=now, session=session, link=f"/instances/{instance.id}",
    )
    job.attempts += 1
    try:
        if handler is None:
            raise NotFound(f"no handler named '{job.handler}' is registered")
        with session.begin_nested():
            result = handler(call) or {}
        if not isinstance(result, dict):
            raise InvalidInput(f"handler '{job.handler}' returned {type(result).__name__}, not a dict")
    except Exception as exc:  # a handler may fail in any way; that is what retries are for
        return _failed(session, ctx, instance, job, exc, now)

    def finish(workflow: BpmnWorkflow) -> None:
        kept = (getattr(task.task_spec, "extensions", None) or {}).get("resultVariable")
        if kept:  # camunda:resultVariable: the answer kept under that name
            task.data[kept] = result
        else:
            task.data.update(result)
        task.complete()

    done = audit.Entry(action="job.completed", actor=WORKER_ACTOR, task_id=job.task_id, element_id=job.element_id,
                       detail={"handler": job.handler, "attempts": job.attempts})
    session.delete(job)
    instances.transition(session, ctx, instance, instances.Step(
        WORKER_ACTOR, leading=[done], act=finish, default_actor=WORKER_ACTOR), (bundle, workflow))
    return "done"


def _continue(session: Session, ctx: EngineContext, instance: Instance, job: Job, task: Any,
              loaded: tuple[ProcessBundle, BpmnWorkflow]) -> str:
    """Run an activity drawn with ``camunda:asyncBefore`` past its job boundary; the engine goes on from it.
    A failure there stops the case in error, as anywhere, with everything before the boundary kept."""

    def run(_: BpmnWorkflow) -> None:
        task._set_internal_data(continued=True)
        task.run()

    job.attempts += 1
    went_on = audit.Entry(action="job.completed", actor=WORKER_ACTOR, task_id=job.task_id, element_id=job.element_id,
                          detail={"handler": "asyncBefore", "attempts": job.attempts})
    session.delete(job)
    instances.transition(session, ctx, instance, instances.Step(
        WORKER_ACTOR, leading=[went_on], act=run, default_actor=WORKER_ACTOR), loaded)
    return "done"


def _started_task(workflow: BpmnWorkflow, task_id: str) -> Any:
    """The service task a job is for, if it still waits for its handler."""
    for candidate in [workflow, *workflow.subprocesses.values()]:
        task = candidate.tasks.get(uuid.UUID(task_id))
        if task is not None:
            return task if task.has_state(TaskState.STARTED) else None
    return None


def _failed(session: Session, ctx: EngineContext, instance: Instance, job: Job, exc: Exception, now: datetime) -> str:
    message = f"{exc.__class__.__name__}: {exc}"[:2000]
    job.last_error = message
    if job.attempts >= job.max_attempts:
        job.status = "incident"
        action = "job.incident"
    else:
        job.due_at = now + timedelta(seconds=BACKOFF_SECONDS * 2 ** (job.attempts - 1))
        action = "job.failed"
    log.warning("job %s (%s) failed, attempt %s: %s", job.id, job.handler, job.attempts, message)
    audit.append_to_instance(session, instance, [audit.Entry(
        action=action, actor=WORKER_ACTOR, task_id=job.task_id, element_id=job.element_id,
        detail={"handler": job.handler, "attempt": job.attempts, "error": message,
                "traceback": traceback.format_exception_only(exc)[-1].strip()[:500]},
    )], None)
    session.flush()
    return "incident" if job.status == "incident" else "retry"


def incidents(session: Session, instance_id: str | None = None) -> list[Job]:
    query = select(Job).where(Job.status == "incident").order_by(Job.created_at, Job.id)
    if instance_id is not None:
        query = query.where(Job.instance_id == instance_id)
    return list(session.execute(query).scalars())


def retry_incident(session: Session, ctx: EngineContext, job_id: int, actor: str) -> Job:
    """An admin's retry of an incident (after the handler or its system was fixed)."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    if job.status != "incident":
        raise Conflict(f"job {job_id} is not an incident")
    instance = instances.lock_instance(session, job.instance_id)
    if instance.status != RUNNING:
        raise InstanceNotActive(f"instance '{instance.id}' is {instance.status}")
    job.status, job.attempts, job.due_at = "pending", 0, ctx.clock()
    job.retries = job.worker_id = job.locked_until = None  # an external task is fetched afresh
    audit.append_to_instance(session, instance, [audit.Entry(
        action="job.retried", actor=actor, task_id=job.task_id, element_id=job.element_id,
        detail={"handler": job.handler, "last_error": job.last_error})], None)
    session.flush()
    return job


# -- the loop --------------------------------------------------------------------------------


@dataclass
class Pass:
    """What one pass of the worker did."""

    timers: int = 0
    starts: int = 0
    jobs: int = 0
    retries: int = 0
    incidents: int = 0
    mails: int = 0
    checkpoints: int = 0

    @property
    def total(self) -> int:
        return self.timers + self.starts + self.jobs + self.retries + self.incidents + self.mails + self.checkpoints


class Worker:
    """Drains what is due, over and over (or once)."""

    def __init__(self, database: Database, ctx: EngineContext, settings: Settings, batch: int = 100,
                 stuck_after: float = STUCK_AFTER_SECONDS) -> None:
        self.database, self.ctx, self.settings, self.batch = database, ctx, settings, batch
        self.stuck_after = stuck_after
        self._next_checkpoint = float("-inf")  # time.monotonic() of the next look at the trail
        self._working_since: float | None = None  # time.monotonic() of the last step of the pass under way

    def stuck(self) -> str | None:
        """Why this worker looks stuck — in a pass, and nothing done in it for ``stuck_after`` seconds — or
        None. Between passes (waiting, or pausing while the database is down) it is not."""
        since = self._working_since
        if since is None or (idle := time.monotonic() - since) <= self.stuck_after:
            return None
        return f"nothing done for {idle:.0f} s in the middle of a pass (a handler or a lock has not returned)"

    def _stepped(self) -> None:
        self._working_since = time.monotonic()

    def run_pass(self) -> Pass:
        self._stepped()
        try:
            return self._pass()
        finally:
            self._working_since = None

    def _pass(self) -> Pass:
        done = Pass()
        now = self.ctx.clock()
        with self.database.unit_of_work() as session:
            timers = due_timers(session, now, self.batch)
        for timer_id, instance_id in timers:
            done.timers += self._each(lambda s, t=timer_id, i=instance_id: fire_timer(s, self.ctx, t, i))
        with self.database.unit_of_work() as session:
            schedules = due_schedules(session, now)
        for schedule_id in schedules:
            done.starts += self._each(lambda s, i=schedule_id: start_scheduled(s, self.ctx, i) is not None)
        with self.database.unit_of_work() as session:
            jobs = due_jobs(session, now, self.batch)
        self._stepped()
        for job_id, instance_id in jobs:
            with self.database.unit_of_work() as session:
                outcome = run_job(session, self.ctx, job_id, instance_id)
            self._stepped()
            done.jobs += outcome == "done"
            done.retries += outcome == "retry"
            done.incidents += outcome == "incident"
        if self.settings.smtp_host:
            with self.database.unit_of_work() as session:
                done.mails = notifications.send_mail(
                    session, self.settings.smtp_host, self.settings.smtp_port, self.settings.smtp_from, now,
                    self.settings.smtp_user, self.settings.smtp_password, self.settings.smtp_starttls)
            self._stepped()
        done.checkpoints = self._checkpoint()
        metrics.count_worker_pass(done)
        return done

    def _each(self, work: Any) -> int:
        try:
            with self.database.unit_of_work() as session:
                return 1 if work(session) else 0
        except Conflict:
            return 0  # someone else changed the instance first; it is looked at again next pass
        finally:
            self._stepped()

    def _checkpoint(self) -> int:
        """Every CITYFLOW_AUDIT_CHECKPOINT_SECONDS (a minute by default): a checkpoint when any chain moved,
        then the anchor log brought up to date (after the commit, so it only ever holds committed ones)."""
        every = timedelta(seconds=self.settings.audit_checkpoint_seconds)
        if time.monotonic() < self._next_checkpoint:
            return 0
        self._next_checkpoint = time.monotonic() + every.total_seconds()
        with self.database.unit_of_work() as session:
            written = audit.write_checkpoint(session, audit.keyring(self.settings), only_if_moved=True)
        try:
            with self.database.unit_of_work() as session:
                audit.anchor(session, self.settings)
        except OSError:
            log.exception("the audit anchor log %s could not be written; the next checkpoint tries again",
                          self.settings.audit_anchor_log)
        return 0 if written is None else 1

    def drain(self) -> Pass:
        """Passes until nothing more is due now (``--once``)."""
        total = Pass()
        for _ in range(10_000):
            done = self.run_pass()
            for name in vars(total):
                setattr(total, name, getattr(total, name) + getattr(done, name))
            if done.timers + done.starts + done.jobs + done.mails == 0:
                break
        return total

    def run_forever(self, idle_seconds: float = 1.0) -> None:
        """Passes without end. A pass the database fails — it restarts, fails over, refuses connections,
        or picks the pass as a deadlock's victim — is rolled back and tried again, after a pause that
        doubles while the failures go on (up to ``MAX_PAUSE_SECONDS``): the worker outlives the outage."""
        script_pool().start_spare()  # the first script need not wait for its process to start
        pause = idle_seconds
        while True:
            try:
                busy = self.run_pass().total > 0
            except (OperationalError, InterfaceError) as exc:
                log.warning("the database failed this pass, trying again in %.0f s: %s", pause,
                            str(exc.orig or exc).strip().partition("\n")[0])
                time.sleep(pause)
                pause = min(2 * pause, MAX_PAUSE_SECONDS)
                continue
            pause = idle_seconds
            if not busy:
                time.sleep(idle_seconds)


@contextmanager
def single_worker(settings: Settings, dialect: str) -> Iterator[None]:
    """On SQLite only one worker may run: a lock file under var/ (PostgreSQL needs none)."""
    if dialect != "sqlite":
        yield
        return
    path = Path(settings.var_dir) / "worker.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(str(os.getpid()))
        handle.flush()
        yield




# -- processes that start themselves ---------------------------------------------------------


def due_schedules(session: Session, now: datetime, limit: int = 20) -> list[int]:
    return list(session.execute(
        select(ProcessSchedule.id).where(ProcessSchedule.due_at.is_not(None), ProcessSchedule.due_at <= now)
        .order_by(ProcessSchedule.due_at).limit(limit)
    ).scalars())


def start_scheduled(session: Session, ctx: EngineContext, schedule_id: int) -> str | None:
    """Start the process whose timer start event is due; the schedule moves to its next time."""
    schedule = session.execute(
        select(ProcessSchedule).where(ProcessSchedule.id == schedule_id).with_for_update(skip_locked=True)
    ).scalar_one_or_none()
    now = ctx.clock()
    if schedule is None or schedule.due_at is None or schedule.due_at > now:
        return None
    instance = instances.start_instance(session, ctx, schedule.process_key, {}, initiator=TIMER_ACTOR, scheduled=True)
    if schedule.remaining > 0:
        schedule.remaining -= 1
    if schedule.remaining == 0:
        schedule.due_at = None
    elif schedule.interval_seconds:
        schedule.due_at = schedule.due_at + timedelta(seconds=schedule.interval_seconds)
    else:  # a cron cycle, or a single start
        bundle = ctx.bundles.get(session, schedule.process_version_id)
        schedule.due_at = next_scheduled_start(bundle, schedule.due_at) if schedule.remaining else None
    return instance.id
