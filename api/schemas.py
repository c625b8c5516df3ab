"""The JSON shapes of the API (see API.md), and how engine rows become them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from engine.models import Instance, OpenTask, ProcessVersion, User
from engine.worklist import Waiting


class Problem(BaseModel):
    error: str
    detail: str
    errors: list[dict[str, Any]] | None = None


class TokenRequest(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the scheme's name, not a secret


class Me(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    groups: list[str]
    department: str | None
    position: str | None
    locale: str
    covering: list[str]


class ProcessOut(BaseModel):
    key: str
    name: str
    version: int
    hash: str
    deployed_at: datetime


class DeployedOut(BaseModel):
    key: str
    version: int
    hash: str
    created: bool


class MigrationRequest(BaseModel):
    """Move the running cases at version ``from`` to version ``to``; ``dry_run`` changes nothing."""

    from_version: int = Field(alias="from", ge=1, le=2**31)
    to: int = Field(ge=1, le=2**31)
    dry_run: bool = False


class InstanceMoveOut(BaseModel):
    instance_id: str
    business_key: str | None
    moved: bool
    at: list[str]  # the element ids of the tasks it is at
    reasons: list[str]  # why it stays, when it does


class MigrationOut(BaseModel):
    key: str
    from_version: int
    to_version: int
    dry_run: bool
    moved: int
    kept: int
    instances: list[InstanceMoveOut]


class Candidates(BaseModel):
    users: list[str]
    groups: list[str]


class TaskOut(BaseModel):
    id: str
    instance_id: str
    process_key: str
    element_id: str
    name: str
    lane: str | None
    state: str = "READY"
    assignee: str | None
    claimed_by: str | None
    candidates: Candidates
    created_at: datetime
    due_at: datetime | None
    overdue: bool = False
    standing: bool = False  # an option its case offers while it runs (회수), not a to-do
    priority: int = 50  # camunda:priority
    follow_up_at: datetime | None = None  # camunda:followUpDate


class FormOut(BaseModel):
    schema_: dict[str, Any] = Field(alias="schema", serialization_alias="schema")
    ui: dict[str, Any] = {}


class TaskDetail(TaskOut):
    form: FormOut | None
    data: dict[str, Any]
    draft: dict[str, Any] | None
    documentation: str | None = None


class InstanceOut(BaseModel):
    id: str
    process_key: str
    version: int
    status: str
    business_key: str | None
    initiator: str | None
    data: dict[str, Any]
    error: dict[str, Any] | None
    tasks: list[TaskOut]
    incidents: list[dict[str, Any]] = []
    started_at: datetime
    ended_at: datetime | None


class InstanceBrief(BaseModel):
    """A case in brief, as an action answers when asked for ``Prefer: return=minimal``: what a client
    needs to act next. ``GET /api/instances/{id}`` gives the whole case."""

    id: str
    process_key: str
    status: str
    business_key: str | None
    error: dict[str, Any] | None
    tasks: list[TaskOut]
    ended_at: datetime | None


class PersonOut(BaseModel):
    name: str
    position: str | None


class WaitingTaskOut(TaskOut):
    """A task in an inbox, with the case it belongs to."""

    title: str
    process_name: str
    started_by: PersonOut | None
    waiting_days: int
    urgency: str | None


class TaskPage(BaseModel):
    items: list[WaitingTaskOut]
    next_cursor: str | None = None


class InstanceSummary(BaseModel):
    id: str
    process_key: str
    status: str
    business_key: str | None
    initiator: str | None
    started_at: datetime
    ended_at: datetime | None


class InstancePage(BaseModel):
    items: list[InstanceSummary]
    next_cursor: str | None = None


class AuditPage(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None = None


class StartRequest(BaseModel):
    process_key: str = Field(min_length=1, max_length=200,
                             description="the process's folder name, or the id of its BPMN process")
    data: dict[str, Any] = {}
    business_key: str | None = Field(default=None, max_length=200)


class CancelRequest(BaseModel):
    reason: str = Field(default="", max_length=2000)


class CompleteRequest(BaseModel):
    data: dict[str, Any] = {}
    comment: str | None = Field(default=None, max_length=10_000)


class ThrowRequest(BaseModel):
    """A BPMN error or escalation thrown by the person working a task (Camunda's ``bpmnError``)."""

    code: str = Field(min_length=1, max_length=200, description="the code the diagram's boundary event catches")
    message: str | None = Field(default=None, max_length=2000)
    data: dict[str, Any] = Field(default={}, description="fields of the task's form to keep; none is required")


class ShareRequest(BaseModel):
    user: str = Field(min_length=1, max_length=100)


class DelegateRequest(BaseModel):
    user: str = Field(min_length=1, max_length=100)


class DraftRequest(BaseModel):
    data: dict[str, Any]


class CommentRequest(BaseModel):
    body: str = Field(min_length=1, max_length=10_000)
    task_id: str | None = None


class CommentOut(BaseModel):
    id: int
    author: str
    body: str
    task_id: str | None
    created_at: datetime


class AttachmentOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    task_id: str | None
    uploaded_by: str
    uploaded_at: datetime
    verified_image: bool = Field(
        description="decoded as a photo when stored: viewable at /api/attachments/{id}/inline, with a thumbnail"
    )


class FindingOut(BaseModel):
    code: str = Field(description="what kind of finding (README: \"What verify reports\")")
    message: str = Field(description="what is wrong, naming the record, chain, checkpoint or anchor line")


class NewestAnchorOut(BaseModel):
    checkpoint: int
    at: str = Field(description="UTC, e.g. 2026-11-28T06:30:00.123456Z")
    city_time: str = Field(description="the same moment in the city's time zone, e.g. 2026-11-28 15:30:00 KST")
    age_seconds: float = Field(description="how long ago: the window in which a deletion could go unnoticed")


class ChainAnchorOut(BaseModel):
    checkpoint: int
    at: str = Field(description="in the city's time zone, as a sentence shows it")
    seq: int = Field(description="the case's records #1 to #seq are anchored")


class VerifyOut(BaseModel):
    """What ``cityflow audit verify --json`` prints too: one report, two ways to ask for it."""

    ok: bool = Field(description="true when there is no finding")
    records: int = Field(description="records verified")
    first_broken: str | None = Field(None, description="the first finding's message")
    findings: list[FindingOut] = []
    more_findings: int = Field(0, description="findings left out of the list (it holds the first 200)")
    instance: str | None = Field(None, description="the one instance verified, when one was asked for")
    legacy_records: int = Field(0, description="records written before audit keys (plain sha256)")
    keys: dict[str, int] = Field({}, description="records per audit key id; \"0\" is the legacy records")
    checkpoints: int = Field(0, description="checkpoints in the database")
    anchor_log: str = Field("", description="the anchor log compared with the database")
    anchors: int = Field(0, description="lines in the anchor log")
    newest_anchor: NewestAnchorOut | None = None
    unanchored_records: int = Field(0, description="records written after the checkpoints that hold their chains")
    chain_anchor: ChainAnchorOut | None = Field(None, description="for one instance: how far it is anchored")
    notes: list[str] = Field([], description="worth knowing, not wrong (legacy records, an old anchor)")


def process_out(row: ProcessVersion) -> ProcessOut:
    return ProcessOut(key=row.key, name=row.name, version=row.version, hash=row.hash, deployed_at=row.deployed_at)


def _overdue(due_at: datetime | None, now: datetime | None) -> bool:
    if due_at is None:
        return False
    moment = now or datetime.now(UTC)
    return due_at < moment


def task_out(row: OpenTask, now: datetime | None = None) -> TaskOut:
    return TaskOut(
        id=row.id,
        instance_id=row.instance_id,
        process_key=row.process_key,
        element_id=row.element_id,
        name=row.name,
        lane=row.lane,
        assignee=row.assignee,
        claimed_by=row.claimed_by,
        candidates=Candidates(users=row.candidate_users, groups=row.candidate_groups),
        created_at=row.created_at,
        due_at=row.due_at,
        overdue=_overdue(row.due_at, now),
        standing=row.standing,
        priority=row.priority,
        follow_up_at=row.follow_up_at,
    )


def waiting_out(row: Waiting, named: dict[str, User], now: datetime) -> WaitingTaskOut:
    """An inbox row: the case's title (else the process's name) and who started it by name."""
    starter = named.get(row.started_by or "")
    return WaitingTaskOut(
        **task_out(row.task, now).model_dump(),
        title=row.title or row.process_name,
        process_name=row.process_name,
        started_by=PersonOut(name=starter.display_name, position=starter.position) if starter else None,
        waiting_days=max(0, (now - row.task.created_at).days),
        urgency=row.urgency,
    )


def instance_out(
    row: Instance,
    version: int,
    tasks: list[OpenTask],
    incidents: list[dict[str, Any]] | None = None,
    now: datetime | None = None,
) -> InstanceOut:
    return InstanceOut(
        id=row.id,
        process_key=row.process_key,
        version=version,
        status=row.status,
        business_key=row.business_key,
        initiator=row.initiator,
        data=row.data,
        error=row.error,
        tasks=[task_out(t, now) for t in tasks],
        incidents=incidents or [],
        started_at=row.started_at,
        ended_at=row.ended_at,
    )
