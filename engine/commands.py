"""The use cases people bring to the engine, one command each.

Every command does the same things in the same order, here and nowhere else: **lock** the
instance, **authorize** the person (``engine.access``), **validate** what they sent, **act**,
and **persist** with the **audit** records — through the one transition pipeline
(``instances.transition``) whenever the instance itself changes. The API, the pages, the CLI
and the worker only translate their input into a call here and the result into their output,
so the same attempt gets the same answer wherever it comes from.

A refused attempt on a task is recorded (``task.refused``) but never makes the person a
participant. An administrator may act on a task not offered to them only by saying so
(``override=True``); the override is its own record.

The worker's commands — firing a timer, running a job — live in ``engine.worker``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jsonschema
from SpiffWorkflow.task import Task
from sqlalchemy.orm import Session

from engine import (
    access,
    attachments,
    audit,
    definitions,
    identity,
    instance_migration,
    instances,
    persons,
    remarks,
    runtime,
    schedule,
    worker,
    worklist,
)
from engine.context import EngineContext
from engine.errors import (
    Conflict,
    FormInvalid,
    InstanceNotActive,
    InvalidInput,
    NotAllowed,
    NotFound,
    PersonalDataRefused,
)
from engine.identity import Principal
from engine.instances import Step
from engine.models import (
    Absence,
    Comment,
    Instance,
    OpenTask,
    Person,
    Remark,
    ScheduleEvent,
    TaskCandidate,
    TaskDraft,
)
from engine.runtime import data_changes

COMMENT_LIMIT = 10_000
UNKNOWN_FIELD = {"ko": "이 서식에 없는 항목입니다.", "en": "this form has no such field"}
OUTPUTS_PROPERTY = "outputs"  # a task without a form names the data it gives back: "a, b, c"


# -- starting ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """A file sent with a start form, to become an attachment of the new case."""

    filename: str
    content_type: str
    data: bytes


def start(
    session: Session, ctx: EngineContext, principal: Principal, process_key: str,
    data: dict[str, Any] | None = None, business_key: str | None = None, *,
    files: dict[str, list[Upload]] | None = None, store: attachments.BlobStore | None = None,
    max_bytes: int = attachments.MAX_BYTES,
) -> Instance:
    """Start the newest version of a process as ``principal``; it runs until people or time must act.

    A start event that names an initiator (``camunda:initiator``) gets the starter's username in
    that variable, whatever the data said, so nobody starts a case in someone else's name. A start
    event with a form (``camunda:formKey``) takes only data that form accepts, with the people and
    departments chosen on it filled in from the organisation (422 naming each field, nothing
    started); the ``files`` uploaded on it (field path → uploads) become attachments of the new case.
    """
    access.require_staff(principal, "start a process")
    if data is not None and not isinstance(data, dict):
        raise InvalidInput("the start data must be a JSON object")
    data = dict(data or {})
    version = definitions.version_row(session, process_key)
    process_key = version.key  # started by its BPMN process id, it is still the folder's process
    bundle = ctx.bundles.get(session, version.id)
    initiator = bundle.start_event.initiator if bundle.start_event is not None else None
    if initiator is not None:
        data.pop(initiator, None)  # the engine says who started it, never the caller
    document = definitions.start_form(version, bundle)
    if document is not None:
        data = _checked(session, ctx, principal, document, set(_fields_of(document)), data, instance_id="")
    if initiator is not None:
        data[initiator] = principal.username
    if not files:
        return instances.start_instance(session, ctx, process_key, data, business_key, principal.username)
    if store is None or document is None:
        raise InvalidInput("files are sent with a start form only")
    with session.begin_nested():  # a refused file starts nothing
        instance = instances.start_instance(session, ctx, process_key, data, business_key, principal.username)
        refused = []
        for path, uploads in files.items():
            for upload in uploads:
                try:
                    attachments.add_attachment(session, store, principal, instance.id, upload.filename,
                                               upload.content_type, upload.data, at=ctx.clock(), max_bytes=max_bytes)
                except InvalidInput as exc:
                    refused.append({"field": path, "message": exc.detail})
        if refused:
            raise FormInvalid(refused)
    return instance


def may_start_and_complete(
    session: Session, ctx: EngineContext, principal: Principal, process_key: str, element_id: str,
) -> bool:
    """Whether ``principal`` may start ``process_key`` and do its task ``element_id`` at once (see
    :func:`start_and_complete`), as the newest version's BPMN offers that task."""
    if not principal.has_role("staff"):
        return False
    try:
        version = definitions.version_row(session, process_key)
    except NotFound:
        return False
    spec = next((s for s in ctx.bundles.get(session, version.id).spec.task_specs.values()
                 if getattr(s, "bpmn_id", None) == element_id), None)
    return spec is not None and access.designed_for(principal, getattr(spec, "extensions", {}) or {},
                                                   getattr(spec, "lane", None))


def start_and_complete(
    session: Session, ctx: EngineContext, principal: Principal, process_key: str, start_data: dict[str, Any],
    element_id: str, task_data: dict[str, Any], *, files: dict[str, list[Upload]] | None = None,
    store: attachments.BlobStore | None = None, max_bytes: int = attachments.MAX_BYTES,
) -> Instance:
    """Start a case and do its first task at once: one form for both, as when the mayor gives a
    directive on site (현장 지시) and it is registered as given.

    The task ``element_id`` must open for ``principal`` as the case starts. The ``files`` (field path →
    uploads) become attachments of that task, named in ``task_data`` at their field (a list where the
    task's form takes several). The task is completed as :func:`complete` would — the same form, the
    same checks; nothing is kept unless all of it is."""
    with session.begin_nested():
        instance = start(session, ctx, principal, process_key, start_data)
        task = next((t for t in instances.open_tasks(session, instance.id) if t.element_id == element_id), None)
        if task is None:
            raise InvalidInput(f"starting '{process_key}' does not open the task '{element_id}'")
        version = definitions.deployed_files(session, ctx.bundles, instance.process_version_id)
        document = definitions.form_document(version, task.element_id, task.form_key) or {}
        properties = (document.get("schema", document) or {}).get("properties") or {}
        data, refused = dict(task_data), []
        for path, uploads in (files or {}).items():
            if store is None:
                raise InvalidInput("files need the attachment store")
            references = []
            for upload in uploads:
                try:
                    stored = attachments.add_attachment(
                        session, store, principal, instance.id, upload.filename, upload.content_type, upload.data,
                        task_id=task.id, at=ctx.clock(), max_bytes=max_bytes)
                except InvalidInput as exc:
                    refused.append({"field": path, "message": exc.detail})
                else:
                    references.append(f"attachment:{stored.id}")
            several = (properties.get(path) or {}).get("type") == "array"
            if references:
                data[path] = references if several else references[0]
        if refused:
            raise FormInvalid(refused)
        return complete(session, ctx, principal, task.id, data)


# -- tasks -------------------------------------------------------------------------------------


def _refused(session: Session, ctx: EngineContext, principal: Principal, instance: Instance, task: OpenTask,
             attempted: str) -> NotAllowed:
    """Record a refused attempt on the instance's trail and return the error to raise."""
    audit.append_to_instance(session, instance, [audit.Entry(
        action="task.refused", actor=principal.username, task_id=task.id, element_id=task.element_id,
        element_name=task.name, lane=task.lane, detail={"attempted": attempted}, at=ctx.clock(),
    )], None)
    session.flush()
    return NotAllowed(f"you may not {attempted} this task: it is not offered to you", recorded=True)


def _record(session: Session, ctx: EngineContext, instance: Instance, task: OpenTask, action: str, actor: str,
            detail: dict[str, Any]) -> None:
    """Put what someone did to a task on its instance's trail, at the engine's time."""
    audit.append_to_instance(session, instance, [audit.Entry(
        action=action, actor=actor, task_id=task.id, element_id=task.element_id, element_name=task.name,
        lane=task.lane, detail=detail, at=ctx.clock())], None)


@dataclass(frozen=True)
class _Acting:
    """Whom someone acts for on a task, and whether an administrator overrides the offer to do it."""

    on_behalf_of: str | None
    overridden: bool


def _authorize(
    session: Session, ctx: EngineContext, principal: Principal, instance: Instance, task: OpenTask, attempted: str,
    override: bool,
) -> _Acting:
    acting = access.acting_for(principal, task)
    if acting is not None:
        return _Acting(acting if acting != principal.username else None, False)
    if override and access.may_override(principal):
        _record(session, ctx, instance, task, "task.overridden", principal.username,
                {"attempted": attempted, "offered_to": task.claimed_by or task.assignee
                 or {"users": task.candidate_users, "groups": task.candidate_groups}})
        return _Acting(None, True)
    raise _refused(session, ctx, principal, instance, task, attempted)


def open_task(session: Session, ctx: EngineContext, principal: Principal, task_id: str) -> OpenTask:
    """A task someone may see; the first look by someone it is offered to opens it (개봉, recorded)."""
    task = _readable_task(session, principal, task_id)
    if task.opened_at is None and access.acting_for(principal, task) is not None:
        instance, task = instances.lock_by_task(session, task_id)  # then the same questions under the lock
        if task.opened_at is None and access.acting_for(principal, task) is not None:
            task.opened_at = ctx.clock()
            _record(session, ctx, instance, task, "task.opened", principal.username, {})
            session.flush()
    return task


def _readable_task(session: Session, principal: Principal, task_id: str) -> OpenTask:
    """A task is read by those it is offered to and by everyone who may read its case."""
    task = worklist.open_task(session, task_id)
    if not access.may_see_task(principal, task):
        access.require_may_see(session, principal, instances.get_instance(session, task.instance_id))
    return task


def claim(session: Session, ctx: EngineContext, principal: Principal, task_id: str, override: bool = False) -> OpenTask:
    """Take a task offered to you (or to a colleague you stand in for), so others see it is yours."""
    instance, task = instances.lock_by_task(session, task_id)
    acting = _authorize(session, ctx, principal, instance, task, "claim", override)
    task.claimed_by = principal.username
    access.add_participants(session, instance.id, [("user", principal.username, "assignee")])
    _record(session, ctx, instance, task, "task.claimed", principal.username,
            {"on_behalf_of": acting.on_behalf_of or (None if acting.overridden else principal.username)})
    session.flush()
    return task


def unclaim(session: Session, ctx: EngineContext, principal: Principal, task_id: str) -> OpenTask:
    """Give a claimed task back to everyone it was offered to (its claimant, or an admin)."""
    instance, task = instances.lock_by_task(session, task_id)
    if task.claimed_by != principal.username and not principal.has_role("admin"):
        raise _refused(session, ctx, principal, instance, task, "unclaim")
    previous, task.claimed_by = task.claimed_by, None
    _record(session, ctx, instance, task, "task.unclaimed", principal.username, {"was_claimed_by": previous})
    session.flush()
    return task


def delegate(session: Session, ctx: EngineContext, principal: Principal, task_id: str, to_user: str) -> OpenTask:
    """Hand a task to another user (you act on it, or you are an admin), who then alone may act on it."""
    instance, task = instances.lock_by_task(session, task_id)
    _authorize(session, ctx, principal, instance, task, "delegate", override=principal.has_role("admin"))
    target = identity.get_user(session, to_user)
    if not target.active:
        raise InvalidInput(f"{target.display_name} no longer works here")
    previous = task.claimed_by or task.assignee
    task.assignee = target.username
    task.claimed_by = target.username
    if session.get(TaskCandidate, (task.id, "user", target.username)) is None:
        session.add(TaskCandidate(task_id=task.id, kind="user", name=target.username))
    access.add_participants(session, instance.id, [("user", target.username, "assignee")])
    _record(session, ctx, instance, task, "task.delegated", principal.username,
            {"from": previous, "to": target.username})
    session.flush()
    return task


def save_draft(session: Session, ctx: EngineContext, principal: Principal, task_id: str,
               data: dict[str, Any]) -> TaskDraft:
    """Keep what someone entered so far; only they see it, until the task is completed."""
    _, task = instances.lock_by_task(session, task_id)
    if access.acting_for(principal, task) is None:
        raise NotAllowed("this task is not offered to you")
    if not isinstance(data, dict):
        raise InvalidInput("a draft must be a JSON object")
    draft = session.get(TaskDraft, (task_id, principal.username))
    if draft is None:
        draft = TaskDraft(task_id=task_id, username=principal.username, data=data, saved_at=ctx.clock())
        session.add(draft)
    else:
        draft.data, draft.saved_at = data, ctx.clock()
    session.flush()
    return draft


def complete(
    session: Session, ctx: EngineContext, principal: Principal, task_id: str, data: dict[str, Any] | None,
    *, override: bool = False,
) -> Instance:
    """Complete a task offered to ``principal`` (or, as deputy, to the absent colleague) with the
    data its form asks for — nothing else — and let the engine run on."""
    instance, task = instances.lock_by_task(session, task_id)
    acting = _authorize(session, ctx, principal, instance, task, "complete", override)
    if instance.status not in instances.ACTIVE_STATUSES:
        raise InstanceNotActive(f"instance '{instance.id}' is {instance.status}")
    data = dict(data or {})
    bundle, workflow = instances.load(session, ctx, instance)
    ready = instances.ready_task(workflow, task_id)
    data = _check_submission(session, ctx, principal, instance, task, ready, data)
    step = Step(principal.username, completing=ready, data=data, on_behalf_of=acting.on_behalf_of,
                known=instances.offered_to(task))
    return instances.transition(session, ctx, instance, step, (bundle, workflow))


class NotCaught(Conflict):
    """A BPMN error or escalation thrown from a task that nothing in the diagram catches."""


def throw_from_task(
    session: Session, ctx: EngineContext, principal: Principal, task_id: str, kind: str, code: str,
    message: str | None = None, data: dict[str, Any] | None = None,
) -> Instance:
    """The person working a task says it cannot be done as drawn: a BPMN ``kind`` (``error`` or
    ``escalation``) with ``code``, caught by the task's boundary event for that code (or by one of a
    sub-process around it), as Camunda's ``/task/{id}/bpmnError`` and ``/bpmnEscalation`` do. The data
    given goes with it (only fields of the task's form, none of them required). When nothing catches the
    code, nothing changes but the record of the attempt (409 ``NotCaught``)."""
    definition = runtime.THROWN.get(kind)
    if definition is None:
        raise InvalidInput(f"a task throws an error or an escalation, not '{kind}'")
    code = (code or "").strip()
    if not code or len(code) > 200:
        raise InvalidInput(f"name the {kind} by its code (up to 200 characters), as the diagram's boundary event does")
    instance, task = instances.lock_by_task(session, task_id)
    acting = _authorize(session, ctx, principal, instance, task, "complete", False)
    if instance.status not in instances.ACTIVE_STATUSES:
        raise InstanceNotActive(f"instance '{instance.id}' is {instance.status}")
    bundle, workflow = instances.load(session, ctx, instance)
    ready = instances.ready_task(workflow, task_id)
    version = definitions.deployed_files(session, ctx.bundles, instance.process_version_id)
    document = definitions.form_document(version, task.element_id, task.form_key)
    if document is not None:  # a form half filled in: what is there must be right, nothing is required
        document = json.loads(json.dumps(document))
        (document.get("schema", document) or {}).pop("required", None)
    accepted = set(_fields_of(document)) if document is not None else set(declared_outputs(ready))
    data = _checked(session, ctx, principal, document, accepted, dict(data or {}), instance.id)
    detail = {"code": code, "message": (message or "").strip()[:2000] or None}
    catcher = runtime.catching_boundary(ready, definition, code)
    if catcher is None:
        audit.append_to_instance(session, instance, [audit.Entry(
            action=f"task.{kind}_uncaught", actor=principal.username, task_id=task_id, element_id=task.element_id,
            detail=detail, at=ctx.clock())], bundle.version_hash)
        raise NotCaught(f"no {kind} boundary event of '{task.name}' or of a sub-process around it catches "
                        f"the code '{code}': nothing changed", recorded=True)
    thrown = audit.Entry(action=f"task.{kind}_thrown", actor=principal.username, task_id=task_id,
                         element_id=task.element_id, detail=detail, changes=data_changes({}, data) or None)
    step = Step(principal.username, leading=[thrown], on_behalf_of=acting.on_behalf_of,
                act=lambda _: runtime.throw_to(catcher, definition, code, data), known=instances.offered_to(task))
    return instances.transition(session, ctx, instance, step, (bundle, workflow))


def _check_submission(
    session: Session, ctx: EngineContext, principal: Principal, instance: Instance, task: OpenTask,
    ready: Task, data: dict[str, Any],
) -> dict[str, Any]:
    """The data as the task keeps it; 422 naming each field when ``data`` is not what the task's form
    (or its declared outputs) takes."""
    version = definitions.deployed_files(session, ctx.bundles, instance.process_version_id)
    document = definitions.form_document(version, task.element_id, task.form_key)
    accepted = set(_fields_of(document)) if document is not None else set(declared_outputs(ready))
    return _checked(session, ctx, principal, document, accepted, data, instance.id)


def _fields_of(document: dict[str, Any]) -> list[str]:
    schema = document.get("schema", document) or {}
    return list(schema.get("properties") or {})


def _checked(
    session: Session, ctx: EngineContext, principal: Principal, document: dict[str, Any] | None,
    accepted: set[str], data: dict[str, Any], instance_id: str,
) -> dict[str, Any]:
    """What a form (``document``; None: a task without one, taking the ``accepted`` fields) keeps of
    ``data``, people and departments filled in from the organisation; 422 naming each field it refuses.
    Files are those of the case ``instance_id`` ("": a case yet to start has none)."""
    message = UNKNOWN_FIELD.get(principal.locale, UNKNOWN_FIELD["en"])
    errors = [{"field": key, "message": message} for key in sorted(data) if key not in accepted]
    if not errors and document is not None:
        if ctx.form_check is not None:
            checked = ctx.form_check(document, data, principal.locale, identity.Directory(session))
            data, found = checked.data, checked.errors
        else:
            schema = document.get("schema", document) or {}
            found = [(".".join(str(p) for p in e.absolute_path), e.message)
                     for e in jsonschema.Draft202012Validator(schema).iter_errors(data)]
        errors += [{"field": f, "message": m} for f, m in found]
    errors += [{"field": f, "message": m} for f, m in attachments.bad_references(session, instance_id, data)]
    if errors:
        raise FormInvalid(errors)
    return data


def declared_outputs(task: Task) -> list[str]:
    """The fields a task without a form gives back, as its BPMN names them (property ``outputs``)."""
    extensions = getattr(task.task_spec, "extensions", {}) or {}
    text = str((extensions.get("properties") or {}).get(OUTPUTS_PROPERTY) or "")
    return [name.strip() for name in text.split(",") if name.strip()]


# -- instances ---------------------------------------------------------------------------------


def cancel(session: Session, ctx: EngineContext, principal: Principal, instance_id: str, reason: str = "") -> Instance:
    """Cancel an instance: whoever started it, or an admin."""
    instance = instances.lock_instance(session, instance_id)
    access.require_staff(principal, "cancel an instance")
    access.require_may_see(session, principal, instance)
    access.require_may_cancel(principal, instance)
    return instances.cancel_instance(session, ctx, instance_id, principal.username, reason.strip())


def edit_data(
    session: Session, ctx: EngineContext, principal: Principal, instance_id: str, changes: dict[str, Any],
) -> Instance:
    """An administrator's correction of a running or failed instance's data; open tasks and timers
    that read it are evaluated again."""
    instances.lock_instance(session, instance_id)
    access.require_admin(principal, "correct an instance's data")
    return instances.edit_data(session, ctx, instance_id, changes, principal.username)


def retry(session: Session, ctx: EngineContext, principal: Principal, instance_id: str) -> Instance:
    """Run an instance that stopped with an error again (admins), after the cause was fixed."""
    instances.lock_instance(session, instance_id)
    access.require_admin(principal, "retry an instance")
    return instances.retry_instance(session, ctx, instance_id, principal.username)


def migrate_instances(
    session: Session, ctx: EngineContext, principal: Principal, process_key: str, from_version: int,
    to_version: int, *, dry_run: bool = False,
) -> instance_migration.Migration:
    """Move the running instances of a process at one version to another (designers and admins):
    each whose current tasks exist unchanged there moves, every other one stays, with the reason.
    ``dry_run`` says what would happen and changes nothing (``engine.instance_migration``)."""
    access.require_designer(principal, "move running cases to another version")
    return instance_migration.migrate_instances(session, ctx, process_key, from_version, to_version,
                                                principal.username, dry_run=dry_run)


def retry_incident(session: Session, ctx: EngineContext, principal: Principal, job_id: int) -> Any:
    """Try a failed service task's handler again (admins)."""
    access.require_admin(principal, "retry an incident")
    return worker.retry_incident(session, ctx, job_id, principal.username)


def comment(
    session: Session, ctx: EngineContext, principal: Principal, instance_id: str, body: str, task_id: str | None = None,
) -> Comment:
    """A comment on an instance (or one of its tasks), by staff who take part in it."""
    instance = instances.lock_instance(session, instance_id)
    access.require_may_take_part(session, principal, instance, "comment")
    body = body.strip()
    if not body:
        raise InvalidInput("a comment needs some text")
    if len(body) > COMMENT_LIMIT:
        raise InvalidInput(f"a comment is limited to {COMMENT_LIMIT:,} characters")
    now = ctx.clock()
    added = Comment(instance_id=instance_id, task_id=task_id, author=principal.username, body=body, created_at=now)
    session.add(added)
    audit.append_to_instance(session, instance, [audit.Entry(
        action="comment.added", actor=principal.username, task_id=task_id, detail={"body": body}, at=now)], None)
    session.flush()
    return added


def share(session: Session, ctx: EngineContext, principal: Principal, instance_id: str, username: str) -> Instance:
    """Let a colleague read an instance you take part in (recorded); they may then follow and comment."""
    instance = instances.lock_instance(session, instance_id)
    access.require_may_take_part(session, principal, instance, "share this instance")
    colleague = identity.get_user(session, username)
    access.add_participants(session, instance.id, [("user", colleague.username, "shared")])
    audit.append_to_instance(session, instance, [audit.Entry(
        action="instance.shared", actor=principal.username, detail={"with": colleague.username}, at=ctx.clock())],
        None)
    session.flush()
    return instance


# -- messages ----------------------------------------------------------------------------------


def send_message(
    session: Session, ctx: EngineContext, principal: Principal, name: str, correlation: dict[str, Any],
    payload: dict[str, Any] | None = None,
) -> worker.Delivery:
    """Deliver a message to the instances it correlates with, or start the process it starts —
    only where the process accepts that message from ``principal``. An empty correlation (which
    would match every waiting instance) is refused."""
    if not name:
        raise InvalidInput("a message needs a name")
    if not isinstance(correlation, dict) or not correlation:
        raise InvalidInput("a message needs a correlation: the keys that say which case it is for")
    if not isinstance(payload or {}, dict):
        raise InvalidInput("the payload must be a JSON object")
    targets = worker.message_targets(session, ctx, name)
    allowed = {version for version, bundle in targets.items() if _may_send(principal, name, bundle.senders(name))}
    if targets and not allowed:
        access.require_may_send(principal, name, ())
    return worker.deliver_message(session, ctx, name, correlation, payload, actor=principal.username,
                                  versions=allowed)


def _may_send(principal: Principal, name: str, senders: list[str]) -> bool:
    try:
        access.require_may_send(principal, name, senders)
    except NotAllowed:
        return False
    return True


# -- absences (대결) ---------------------------------------------------------------------------


def record_absence(
    session: Session, ctx: EngineContext, principal: Principal, username: str | None, deputy: str, kind: str,
    starts_at: datetime | None, ends_at: datetime | None,
) -> Absence:
    """Record an absence (출장, 휴가, 교육, 병가) during which ``deputy`` acts for the absent person (대결):
    one's own, or anyone's by an admin. Every field wrong is named at once."""
    username = username or principal.username
    access.require_staff(principal, "record an absence")
    if username != principal.username:
        access.require_admin(principal, "record another person's absence")
    now = ctx.clock()
    errors: list[dict[str, str]] = []
    if username != principal.username and not _active(session, username):
        errors.append({"field": "username", "message": "there is no such person"})
    if kind not in identity.ABSENCE_KINDS:
        errors.append({"field": "kind",
                       "message": "choose 출장 (business trip), 휴가 (leave), 교육 (training) or 병가 (sick leave)"})
    if not deputy:
        errors.append({"field": "deputy", "message": "choose a deputy"})
    elif deputy == username:
        errors.append({"field": "deputy", "message": "nobody can be their own deputy"})
    elif not _active(session, deputy):
        errors.append({"field": "deputy", "message": "the deputy must be someone working here"})
    for field, moment in (("starts_at", starts_at), ("ends_at", ends_at)):
        if moment is None:
            errors.append({"field": field, "message": "give a date and time"})
        elif moment.tzinfo is None or moment.utcoffset() is None:
            errors.append({"field": field, "message": "give the time with its offset, e.g. +09:00"})
    if not errors and starts_at is not None and ends_at is not None:
        if ends_at <= starts_at:
            errors.append({"field": "ends_at", "message": "an absence must end after it starts"})
        elif ends_at <= now:
            errors.append({"field": "ends_at", "message": "this absence would be over already"})
    if errors:
        raise FormInvalid(errors)
    assert starts_at is not None
    assert ends_at is not None
    absence = identity.add_absence(session, username, deputy, kind, starts_at, ends_at, actor=principal.username)
    session.flush()
    return absence


def end_absence(
    session: Session, ctx: EngineContext, principal: Principal, absence_id: int, ends_at: datetime | None = None,
) -> Absence:
    """End an absence now (or at ``ends_at``, earlier than planned); one that has not begun is called
    off. One's own, or anyone's by an admin."""
    absence = identity.lock_absence(session, absence_id)
    access.require_staff(principal, "end an absence")
    if absence.username != principal.username:
        access.require_admin(principal, "end another person's absence")
    now = ctx.clock()
    if absence.ends_at <= now:
        raise Conflict("this absence is over already")
    ends_at = now if ends_at is None else ends_at
    if ends_at.tzinfo is None or ends_at.utcoffset() is None:
        raise FormInvalid([{"field": "ends_at", "message": "give the time with its offset, e.g. +09:00"}])
    if not now <= ends_at < absence.ends_at:
        raise FormInvalid([{"field": "ends_at", "message": "an absence ends between now and its planned end"}])
    identity.end_absence(session, absence, ends_at, actor=principal.username)
    session.flush()
    return absence


def _active(session: Session, username: str) -> bool:
    return bool(identity.colleagues(session, [username]))


# -- schedules (단체장 일정) ---------------------------------------------------------------------


def add_schedule_entry(session: Session, ctx: EngineContext, principal: Principal, draft: schedule.Draft,
                       ) -> ScheduleEvent:
    """Put an entry on a schedule one keeps (one's own, or the mayor's as 수행비서); every field wrong
    is named at once."""
    access.require_keeps_schedule_of(principal, draft.owner)
    return schedule.add(session, draft, principal.username, ctx.clock())


def change_schedule_entry(session: Session, ctx: EngineContext, principal: Principal, entry_id: int,
                          draft: schedule.Draft) -> ScheduleEvent:
    """Change an entry of a schedule one keeps; it stays on the same person's schedule."""
    event = schedule.get(session, entry_id)
    access.require_keeps_schedule_of(principal, event.owner)
    if draft.owner != event.owner:
        raise InvalidInput("an entry stays on the schedule it was put on")
    if event.cancelled_at is not None:
        raise InvalidInput("this entry was cancelled")
    return schedule.change(session, event, draft, principal.username, ctx.clock())


def cancel_schedule_entry(session: Session, ctx: EngineContext, principal: Principal, entry_id: int,
                          ) -> ScheduleEvent:
    event = schedule.get(session, entry_id)
    access.require_keeps_schedule_of(principal, event.owner)
    return schedule.cancel(session, event, principal.username, ctx.clock())


def renew_calendar_feed(session: Session, ctx: EngineContext, principal: Principal) -> str:
    """A new address for one's calendar feed (the old one stops working); the token is shown once."""
    access.require_staff(principal, "have a calendar feed")
    return schedule.renew_feed(session, principal.username, ctx.clock())


# -- remarks (말씀) ----------------------------------------------------------------------------------


def add_remark(session: Session, ctx: EngineContext, principal: Principal, draft: remarks.Draft) -> Remark:
    """Write down what someone said (their 비서실, or they themselves); every field wrong is named."""
    access.require_records_remarks_of(principal, draft.speaker)
    return remarks.add(session, draft, principal.username, ctx.clock())


def change_remark(session: Session, ctx: EngineContext, principal: Principal, remark_id: int,
                  draft: remarks.Draft) -> Remark:
    remark = remarks.get(session, remark_id)
    access.require_records_remarks_of(principal, remark.speaker)
    return remarks.change(session, remark, draft, principal.username, ctx.clock())


# -- people the mayor meets (인물) ------------------------------------------------------------------


def add_person(session: Session, ctx: EngineContext, principal: Principal, draft: persons.Draft) -> Person:
    """Register a person (those who keep the register); every field wrong is named."""
    access.require_keeps_persons(principal, persons.kept_schedules(session), "register people")
    return persons.add(session, draft, principal.username, ctx.clock())


def change_person(session: Session, ctx: EngineContext, principal: Principal, person_id: int,
                  draft: persons.Draft) -> Person:
    person = persons.get(session, person_id, lock=True)
    access.require_keeps_persons(principal, persons.kept_schedules(session), "change people")
    return persons.change(session, person, draft, principal.username, ctx.clock())


def read_personal_data(session: Session, ctx: EngineContext, principal: Principal, person_id: int,
                       purpose: str) -> persons.PersonalData:
    """A person's contacts and notes, for a purpose, to those who keep the register; the reading is
    recorded, and so is a refused attempt (which the refusal keeps)."""
    person = persons.get(session, person_id)
    if not persons.keeps(session, principal):
        persons.record_refusal(session, person.id, principal.username, "read personal data", ctx.clock())
        raise PersonalDataRefused("you may not read people's personal data: they are for the group "
                                  f"{access.PERSONS_GROUP}, the mayor and the mayor's office (비서실)", recorded=True)
    return persons.reveal(session, person, purpose, principal.username, ctx.clock())


def link_person(session: Session, ctx: EngineContext, principal: Principal, person_id: int, kind: str, target: str,
                role: str = "") -> Person:
    """Say where a person appears: a schedule entry, a remark or a case the linker may read."""
    person = persons.get(session, person_id, lock=True)
    access.require_keeps_persons(principal, persons.kept_schedules(session), "link people")
    persons.link(session, principal, person, kind, target, role, ctx.clock())
    return person


def unlink_person(session: Session, ctx: EngineContext, principal: Principal, person_id: int, link_id: int) -> Person:
    person = persons.get(session, person_id, lock=True)
    access.require_keeps_persons(principal, persons.kept_schedules(session), "unlink people")
    persons.unlink(session, person, link_id, principal.username, ctx.clock())
    return person


def erase_person(session: Session, ctx: EngineContext, principal: Principal, person_id: int, channel: str) -> Person:
    """Erase a person at their request (개인정보 삭제 요청): see ``engine.persons.erase``."""
    person = persons.get(session, person_id, lock=True)
    access.require_keeps_persons(principal, persons.kept_schedules(session), "erase people")
    return persons.erase(session, person, channel, principal.username, ctx.clock())
