"""People's work, read: the tasks someone may act on (their inbox), the instances they may read,
an instance's open tasks, comments and drafts. Who may see what is ``engine.access``; acting on
tasks and instances is ``engine.commands``.

A task is offered to its claimant if claimed, else to its assignee if it has one, else to its
candidate users and groups; during an absence the deputy sees the absent colleague's tasks too
(대결). Auditors and admins see every task.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select, union
from sqlalchemy.orm import Session

from engine import access, instances
from engine.errors import InvalidInput, TaskNotFound, TaskNotReady
from engine.identity import Principal
from engine.models import AuditRecord, Comment, Instance, OpenTask, TaskCandidate, TaskDraft, User

SCOPES = ("mine", "group", "all")
MAX_PAGE = 200


# -- finding tasks -----------------------------------------------------------------------------


def _unassigned(dialect: str) -> Any:
    """"Nobody has it yet", worded for each planner so an inbox is read oldest first through the
    created-at index and stops after one page: SQLite would otherwise gather every unclaimed task
    through the claimed-by index, so it gets a form no index serves; PostgreSQL estimates the plain
    form well and misjudges the other."""
    if dialect == "sqlite":
        return func.coalesce(OpenTask.claimed_by, OpenTask.assignee, "") == ""
    return and_(OpenTask.claimed_by.is_(None), OpenTask.assignee.is_(None))


def _visibility(query: Select[Any], principal: Principal, scope: str, dialect: str) -> Select[Any]:
    users, groups = access.people(principal)
    unassigned = _unassigned(dialect)
    named = select(TaskCandidate.task_id).where(TaskCandidate.kind == "user", TaskCandidate.name.in_(users))
    # Few tasks name a person: start from those (claimed, assigned or offered by name), then check.
    named_or_held = union(
        named,
        select(OpenTask.id).where(OpenTask.claimed_by.in_(users)),
        select(OpenTask.id).where(OpenTask.assignee.in_(users)),
    )
    personal = and_(
        OpenTask.id.in_(named_or_held),
        or_(
            OpenTask.claimed_by.in_(users),
            and_(OpenTask.claimed_by.is_(None), OpenTask.assignee.in_(users)),
            and_(unassigned, OpenTask.id.in_(named)),
        ),
    )
    offered_to_group = and_(
        unassigned,
        exists().where(
            TaskCandidate.task_id == OpenTask.id, TaskCandidate.kind == "group", TaskCandidate.name.in_(groups or {""})
        ),
    )
    if scope == "mine":
        return query.where(personal)
    if scope == "group":
        return query.where(offered_to_group)
    if principal.has_role("auditor", "admin"):
        return query
    return query.where(or_(personal, offered_to_group))


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _encode_cursor(moment: datetime, row_id: str) -> str:
    """An opaque page cursor: where the last row of a page stands in its ordering."""
    return base64.urlsafe_b64encode(json.dumps([moment.isoformat(), row_id]).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, task_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(at), str(task_id)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("cursor is not one this server gave out") from exc


def find_tasks(
    session: Session,
    principal: Principal,
    scope: str = "all",
    process_key: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    instance_id: str | None = None,
) -> tuple[list[OpenTask], str | None]:
    """A page of the open tasks ``principal`` may act on (``all``: also their groups'), oldest first —
    the one definition of someone's inbox, for the API, the pages and the CLI."""
    if scope not in SCOPES:
        raise InvalidInput(f"scope must be one of {', '.join(SCOPES)}")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
    after = _decode_cursor(cursor) if cursor else None
    if scope == "all" and not principal.has_role("auditor", "admin"):
        # Two pages, each read through the created-at index, merged: one query with both halves
        # under an OR makes PostgreSQL gather every task offered to the caller's groups first.
        found = {t.id: t for part in ("mine", "group")
                 for t in _page(session, principal, part, process_key, after, limit + 1, instance_id)}
        rows = sorted(found.values(), key=lambda t: (t.created_at, t.id))[: limit + 1]
    else:
        rows = _page(session, principal, scope, process_key, after, limit + 1, instance_id)
    next_cursor = _encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def _page(
    session: Session, principal: Principal, scope: str, process_key: str | None,
    after: tuple[datetime, str] | None, size: int, instance_id: str | None = None,
) -> list[OpenTask]:
    query = _visibility(select(OpenTask), principal, scope, _dialect(session))
    if instance_id:
        query = query.where(OpenTask.instance_id == instance_id)
    if process_key:
        query = query.where(OpenTask.process_key == process_key)
    if after is not None:
        at, task_id = after
        query = query.where(or_(OpenTask.created_at > at, and_(OpenTask.created_at == at, OpenTask.id > task_id)))
    return list(session.execute(query.order_by(OpenTask.created_at, OpenTask.id).limit(size)).scalars())


def open_task(session: Session, task_id: str) -> OpenTask:
    """An open task by id; 409 when it existed but is done, 404 when it never did."""
    task = session.get(OpenTask, task_id)
    if task is not None:
        return task
    seen = session.execute(select(AuditRecord.instance_id).where(AuditRecord.task_id == task_id).limit(1)).first()
    if seen is not None:
        raise TaskNotReady(f"task '{task_id}' is not waiting for anyone any more", instance_id=seen[0])
    raise TaskNotFound(f"no task '{task_id}'")


def draft_of(session: Session, principal: Principal, task_id: str) -> dict[str, Any] | None:
    """What ``principal`` kept of a task's form so far, if anything."""
    draft = session.get(TaskDraft, (task_id, principal.username))
    return dict(draft.data) if draft is not None else None


def comments(session: Session, instance_id: str) -> Sequence[Comment]:
    return session.execute(
        select(Comment).where(Comment.instance_id == instance_id).order_by(Comment.created_at, Comment.id)
    ).scalars().all()


def users_named(session: Session, usernames: Sequence[str]) -> dict[str, User]:
    rows = session.execute(select(User).where(User.username.in_(usernames))).scalars()
    return {u.username: u for u in rows}


def find_instances(
    session: Session,
    principal: Principal,
    *,
    process_key: str | None = None,
    status: str | None = None,
    business_key: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Instance], str | None]:
    """A page of the instances ``principal`` may see, newest first."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
    query = access.visible_instances(select(Instance), principal)
    if process_key:
        query = query.where(Instance.process_key == process_key)
    if status:
        query = query.where(Instance.status == status)
    if business_key:
        query = query.where(Instance.business_key == business_key)
    if cursor:
        at, instance_id = _decode_cursor(cursor)
        query = query.where(or_(Instance.started_at < at, and_(Instance.started_at == at, Instance.id < instance_id)))
    query = query.order_by(Instance.started_at.desc(), Instance.id.desc()).limit(limit + 1)
    rows = list(session.execute(query).scalars())
    next_cursor = _encode_cursor(rows[limit - 1].started_at, rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def instance_of(session: Session, task: OpenTask) -> Instance:
    """The instance a task belongs to (whoever may see the task may read its instance)."""
    return instances.get_instance(session, task.instance_id)


def instance_for(session: Session, principal: Principal, instance_id: str) -> Instance:
    instance = instances.get_instance(session, instance_id)
    access.require_may_see(session, principal, instance)
    return instance


def tasks_of(session: Session, instance_id: str) -> list[OpenTask]:
    return list(
        session.execute(
            select(OpenTask).where(OpenTask.instance_id == instance_id).order_by(OpenTask.created_at, OpenTask.id)
        ).scalars()
    )
