"""The tables. Queries against them live in the engine's service modules, never in ``api``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JsonDict = dict[str, Any]

# An instance's status.
RUNNING, COMPLETED, CANCELLED, ERROR = "running", "completed", "cancelled", "error"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A moment, stored in UTC and read back aware in UTC on every database.

    SQLite keeps no offset and hands back naive values; PostgreSQL hands them back in
    the session's zone. Both come out as UTC here. A naive datetime is refused on the
    way in: whose wall clock it was cannot be known. The DDL stays
    ``DateTime(timezone=True)``, so the schema (and its migrations) are unchanged.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"a UTC date-time column takes a datetime, not {type(value).__name__}")
        if value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} for a UTC column: give it a time zone, "
                             "e.g. datetime.now(UTC) or the engine's clock")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {JsonDict: JSON, datetime: UtcDateTime()}


class ProcessVersion(Base):
    """One deployed version of one ``workflows/<process>/`` folder."""

    __tablename__ = "process_versions"
    __table_args__ = (
        UniqueConstraint("key", "version"),
        UniqueConstraint("key", "hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(500))
    entry_point: Mapped[str] = mapped_column(String(500))
    # The diagrams, forms and the serialized spec: large, never changed once deployed, read through
    # caches keyed by ``hash`` (definitions.files_of, definitions.BundleCache), so loaded only on a miss.
    files: Mapped[JsonDict] = mapped_column(deferred=True)
    spec: Mapped[JsonDict] = mapped_column(deferred=True)
    deployed_at: Mapped[datetime] = mapped_column(default=utcnow)
    deployed_by: Mapped[str] = mapped_column(String(200))


class Instance(Base):
    """A running or finished process instance. ``state`` is the engine state without any spec."""

    __tablename__ = "instances"
    __table_args__ = (Index("ix_instances_key_status", "process_key", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    process_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    business_key: Mapped[str | None] = mapped_column(String(200), index=True)
    initiator: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[JsonDict]
    state: Mapped[str] = mapped_column(Text)
    error: Mapped[JsonDict | None]
    waits: Mapped[JsonDict | None]  # what it waits for: {"timers": {task: due}, "messages": {task: name}}
    audit_seq: Mapped[int] = mapped_column(Integer, default=0)
    audit_head: Mapped[str] = mapped_column(String(64), default="")
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]

    __mapper_args__ = {"version_id_col": lock_version}


class OpenTask(Base):
    """A user task waiting for a person: an index kept in step with the instance state."""

    __tablename__ = "open_tasks"
    # Inboxes page through tasks oldest first: this index lets a page stop after its rows.
    __table_args__ = (Index("ix_open_tasks_created", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(
        ForeignKey("instances.id", ondelete="CASCADE"), index=True
    )
    process_key: Mapped[str] = mapped_column(String(200), index=True)
    element_id: Mapped[str] = mapped_column(String(500))
    name: Mapped[str] = mapped_column(String(500))
    lane: Mapped[str | None] = mapped_column(String(200))
    assignee: Mapped[str | None] = mapped_column(String(200), index=True)
    candidate_users: Mapped[list[str]] = mapped_column(JSON)
    candidate_groups: Mapped[list[str]] = mapped_column(JSON)
    form_key: Mapped[str | None] = mapped_column(String(500))
    claimed_by: Mapped[str | None] = mapped_column(String(200), index=True)
    opened_at: Mapped[datetime | None]  # first looked at by someone it is offered to (개봉)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime | None]
    # camunda:priority (Camunda's default 50) and camunda:followUpDate: when to look at it again
    priority: Mapped[int] = mapped_column(Integer, default=50, server_default="50")
    follow_up_at: Mapped[datetime | None]
    # An option the case offers while it runs (the drafter's 회수): on the case page, not in inboxes.
    standing: Mapped[bool] = mapped_column(default=False, server_default=false())


class Participant(Base):
    """Someone who takes part in an instance, and so may read it: its initiator, present and past
    assignees and candidates (users or groups), deputies who acted, those it was shared with, and
    the groups its process names as overseers. A refused attempt never makes anyone a participant."""

    __tablename__ = "participants"
    __table_args__ = (Index("ix_participants_lookup", "kind", "name", "instance_id"),)

    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # user or group
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    relation: Mapped[str] = mapped_column(String(20))  # how they first came to take part


class TaskCandidate(Base):
    """Who an open task is offered to, one row per user or group, so inboxes are an index lookup."""

    __tablename__ = "open_task_candidates"
    __table_args__ = (Index("ix_open_task_candidates_lookup", "kind", "name"),)

    task_id: Mapped[str] = mapped_column(ForeignKey("open_tasks.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(5), primary_key=True)  # "user" or "group"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)


class AuditRecord(Base):
    """One transition of anything, chained per instance (``chain`` = instance id, or ``system``)."""

    __tablename__ = "audit_records"
    # The auditor's search counts a month's or a process's records through these (engine.trail).
    __table_args__ = (UniqueConstraint("chain", "seq"), Index("ix_audit_records_at", "at"),
                      Index("ix_audit_records_process", "process_key", "id"))

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    chain: Mapped[str] = mapped_column(String(36))
    seq: Mapped[int]
    instance_id: Mapped[str | None] = mapped_column(String(36))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(50), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36), index=True)
    element_id: Mapped[str | None] = mapped_column(String(500))
    element_name: Mapped[str | None] = mapped_column(String(500))
    lane: Mapped[str | None] = mapped_column(String(200))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    changes: Mapped[JsonDict | None]
    detail: Mapped[JsonDict | None]
    process_key: Mapped[str | None] = mapped_column(String(200))
    process_version: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The audit key the hash is keyed with; 0: written before keys, a plain sha256 (see engine/audit.py).
    key_id: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ChainHead(Base):
    """Head of a chain that has no instance row to hold it (the system chain)."""

    __tablename__ = "audit_chain_heads"

    chain: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}


class AuditCheckpoint(Base):
    """The chain heads that moved since the checkpoint before (all of them in checkpoints written
    before ``summary`` existed), chained and signed with the audit key ``key_id``."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    heads: Mapped[JsonDict]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Chains and records in all, and the unkeyed records written before keys: {"chains", "records", "legacy"}.
    summary: Mapped[JsonDict | None]


# -- organisation and identity ---------------------------------------------------------------


class Department(Base):
    """A 국/실/과/팀; ``parent`` is the bureau a department belongs to."""

    __tablename__ = "departments"

    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("departments.code"))


class User(Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    department_code: Mapped[str | None] = mapped_column(ForeignKey("departments.code"))
    position: Mapped[str | None] = mapped_column(String(50))
    rank: Mapped[int] = mapped_column(Integer, default=0)
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    locale: Mapped[str] = mapped_column(String(10), default="ko")
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Absence(Base):
    """출장, 휴가, 교육, 병가: while it lasts, ``deputy`` acts for ``username`` (대결)."""

    __tablename__ = "absences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    deputy: Mapped[str] = mapped_column(ForeignKey("users.username"), index=True)


class ApiToken(Base):
    """An opaque bearer token; only its sha256 is stored."""

    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # "api" or "web" (a browser session)
    csrf_token: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class TaskDraft(Base):
    """What someone entered into a task's form and saved without completing it; it goes with the
    open task (the database drops it when the task leaves the index)."""

    __tablename__ = "task_drafts"

    task_id: Mapped[str] = mapped_column(ForeignKey("open_tasks.id", ondelete="CASCADE"), primary_key=True)
    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    data: Mapped[JsonDict]
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    author: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Attachment(Base):
    """A file attached to an instance; its content is stored once, by sha256, outside the database."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Decoded as an image when stored: only such a file is shown in the page, beside its thumbnail
    # (a JPEG of at most 320 px, turned upright, without the photo's metadata), stored like the file.
    thumbnail_sha256: Mapped[str | None] = mapped_column(String(64), default=None)

    @property
    def verified_image(self) -> bool:
        return self.thumbnail_sha256 is not None


# -- time and the outside world --------------------------------------------------------------


class Timer(Base):
    """A timer event some instance waits on; the worker fires it when ``due_at`` has passed."""

    __tablename__ = "timers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(500))
    due_at: Mapped[datetime] = mapped_column(index=True)


class MessageWait(Base):
    """A message some instance waits for (catch event, receive task, boundary event)."""

    __tablename__ = "message_waits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(500))
    message_name: Mapped[str] = mapped_column(String(500), index=True)


class Job(Base):
    """A service task's call to its handler, retried with backoff; after the last try, an incident.
    With a ``topic``, an external task that a worker outside cityflow fetches, locks and completes."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str] = mapped_column(String(36), unique=True)
    element_id: Mapped[str] = mapped_column(String(500))
    handler: Mapped[str] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)  # pending | incident
    due_at: Mapped[datetime] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # An external task (engine.external_tasks): done by a system outside cityflow that fetches its topic,
    # locked to one worker until a moment; ``retries`` is what the worker said is left after a failure.
    topic: Mapped[str | None] = mapped_column(String(200), index=True)
    worker_id: Mapped[str | None] = mapped_column(String(200))
    locked_until: Mapped[datetime | None]
    retries: Mapped[int | None] = mapped_column(Integer)
    error_details: Mapped[str | None] = mapped_column(Text)


class ProcessSchedule(Base):
    """The next time a process with a timer start event starts by itself."""

    __tablename__ = "process_schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"), unique=True)
    process_key: Mapped[str] = mapped_column(String(200), index=True)
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    remaining: Mapped[int] = mapped_column(Integer)  # -1: for ever
    interval_seconds: Mapped[float | None]


class Notification(Base):
    """Something a person should know, shown in the app (and e-mailed when mail is configured)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(500))
    instance_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


class OutgoingMail(Base):
    """The e-mail outbox: written with the change that caused it, sent by the worker."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class ScheduleEvent(Base):
    """An entry of someone's schedule (단체장 일정): a meeting, field visit, event or interview, with
    its time, place, people and the cases it concerns. A private one shows to others only as busy."""

    __tablename__ = "schedule_events"
    __table_args__ = (Index("ix_schedule_events_owner_starts", "owner", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(ForeignKey("users.username"))  # whose schedule
    kind: Mapped[str] = mapped_column(String(20))  # 회의, 현장방문, 행사, 면담
    title: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    place: Mapped[str] = mapped_column(String(300), default="")
    location: Mapped[JsonDict | None]  # {"lat", "lon", "address"} when the place was picked on a map
    attendees: Mapped[list[str]] = mapped_column(JSON, default=list)  # colleagues by username
    guests: Mapped[list[str]] = mapped_column(JSON, default=list)  # people from outside, by name
    cases: Mapped[list[str]] = mapped_column(JSON, default=list)  # the cases it concerns, by instance id
    notes: Mapped[str] = mapped_column(Text, default="")
    private: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]


class CalendarFeed(Base):
    """A person's iCalendar feed: its address holds a secret token, of which only the sha256 is kept."""

    __tablename__ = "calendar_feeds"

    username: Mapped[str] = mapped_column(ForeignKey("users.username"), primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Remark(Base):
    """What the mayor (or another speaker) said (말씀): at a meeting, in a speech, on a visit — its
    day, occasion, topics and full text, the schedule entry it was said at; the directives it
    produced carry it as their source."""

    __tablename__ = "remarks"
    __table_args__ = (Index("ix_remarks_speaker_said", "speaker", "said_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    speaker: Mapped[str] = mapped_column(ForeignKey("users.username"))
    said_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(20))  # 회의, 연설, 현장, 면담, 행사, 기타
    occasion: Mapped[str] = mapped_column(String(200))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    text: Mapped[str] = mapped_column(Text)
    schedule_entry_id: Mapped[int | None] = mapped_column(ForeignKey("schedule_events.id"))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Record(Base):
    """A finished 전자결재 document kept as a record (기록물): its 문서번호, 분류 (단위업무), 보존기간 and
    공개 구분 as chosen at 기안, with a copy of its content. Registered in the transition that
    finishes the document; afterwards only the disposal process (records_disposal) changes it —
    disposing of it (the content removed, the row kept) or keeping it for longer."""

    __tablename__ = "records"
    __table_args__ = (Index("ix_records_department_year", "department", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"), unique=True)
    document_number: Mapped[str] = mapped_column(String(100), index=True)  # the approval process's numbering
    title: Mapped[str] = mapped_column(String(500))
    unit: Mapped[str] = mapped_column(String(200), index=True)  # 분류: the unit task (단위업무)
    retention: Mapped[str] = mapped_column(String(10))  # 1년, 3년, 5년, 10년, 30년, 준영구, 영구
    disclosure: Mapped[str] = mapped_column(String(10))  # 공개, 부분공개, 비공개
    disclosure_ground: Mapped[str] = mapped_column(String(10), default="")  # 제1호 … 제8호
    produced_at: Mapped[datetime]  # when it was approved
    year: Mapped[int] = mapped_column(Integer)  # the year it was produced in the city's time
    retain_until: Mapped[str | None] = mapped_column(String(10))  # ISO date; none for 준영구 and 영구
    drafter: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(200))  # the drafter's, when it was approved
    approved_by: Mapped[str] = mapped_column(String(100), default="")
    content: Mapped[JsonDict | None]  # body, kind, amount, approval course; removed on disposal
    status: Mapped[str] = mapped_column(String(10), default="보존")  # 보존, 폐기
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    disposed_at: Mapped[datetime | None]
    disposal_case: Mapped[str | None] = mapped_column(String(36))  # the records_disposal case that decided
    disposal_note: Mapped[str] = mapped_column(Text, default="")


class Person(Base):
    """Someone the mayor meets (인물): a citizen, an expert, an official, an organisation's or the
    press's person. This row is what everyone who works here may read — who they are; their personal
    data (contacts, notes) are a ``PersonContact`` apart. Erased on request: the row then keeps only
    when, by whom and how the request came (``erased_*``), everything else emptied."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100), index=True)  # None once erased
    kind: Mapped[str | None] = mapped_column(String(20))  # 시민, 전문가, 공무원, 기관·단체, 언론, 의원, 기타
    organisation: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[str] = mapped_column(String(100), default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)  # topics, not remarks about the person
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    erased_at: Mapped[datetime | None]
    erased_by: Mapped[str | None] = mapped_column(String(200))
    erasure_channel: Mapped[str | None] = mapped_column(String(20))  # 전화, 방문, 서면, 전자우편, 기타


class PersonContact(Base):
    """A person's personal data: read only by those who need them, each reading for a purpose and on
    record; the row is deleted when the person asks to be erased."""

    __tablename__ = "person_contacts"

    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    notes: Mapped[str] = mapped_column(Text, default="")


class PersonLink(Base):
    """Where a person appears: a schedule entry they attended, a remark, a case (a directive, a pledge)."""

    __tablename__ = "person_links"
    __table_args__ = (UniqueConstraint("person_id", "kind", "target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # schedule, remark, case
    target: Mapped[str] = mapped_column(String(36))  # the entry's or remark's id, the case's id
    role: Mapped[str] = mapped_column(String(50), default="")  # 참석, 요청, 자문, 언급 …
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
