"""People's work, read: the tasks someone may act on (their inbox), the instances they may read,
an instance's open tasks, comments and drafts. Who may see what is ``engine.access``; acting on
tasks and instances is ``engine.commands``.

A task is offered to its claimant if claimed, else to its assignee if it has one, else to its
candidate users and groups; during an absence the deputy sees the absent colleague's tasks too
(대결). Auditors and admins see every task.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, func, or_, select, union
from sqlalchemy.orm import Session

from engine import access, instances
from engine.errors import InvalidInput, TaskNotFound, TaskNotReady
from engine.identity import Principal
from engine.models import (
    AuditRecord,
    Comment,
    Instance,
    OpenTask,
    ProcessVersion,
    TaskCandidate,
    TaskDraft,
    User,
)

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


# Who may see a task is built once per database kind, with the caller's names as parameters:
# building these clauses cost more than the queries they are part of.
_USERS: Any = bindparam("visible_users", expanding=True)
_GROUPS: Any = bindparam("visible_groups", expanding=True)


@functools.cache
def _visible(dialect: str) -> tuple[Any, Any]:
    """(offered to the caller by name or held by them, offered to one of their groups and unclaimed)."""
    unassigned = _unassigned(dialect)
    named = select(TaskCandidate.task_id).where(TaskCandidate.kind == "user", TaskCandidate.name.in_(_USERS))
    # Few tasks name a person: start from those (claimed, assigned or offered by name), then check.
    named_or_held = union(
        named,
        select(OpenTask.id).where(OpenTask.claimed_by.in_(_USERS)),
        select(OpenTask.id).where(OpenTask.assignee.in_(_USERS)),
    )
    personal = and_(
        OpenTask.id.in_(named_or_held),
        or_(
            OpenTask.claimed_by.in_(_USERS),
            and_(OpenTask.claimed_by.is_(None), OpenTask.assignee.in_(_USERS)),
            and_(unassigned, OpenTask.id.in_(named)),
        ),
    )
    offered_to_group = and_(
        unassigned,
        exists().where(TaskCandidate.task_id == OpenTask.id, TaskCandidate.kind == "group",
                       TaskCandidate.name.in_(_GROUPS)),
    )
    return personal, offered_to_group


def _visibility(
    query: Select[Any], principal: Principal, scope: str, dialect: str,
) -> tuple[Select[Any], dict[str, Any]]:
    """``query`` kept to the tasks ``principal`` may act on in ``scope``, and the parameters it needs."""
    users, groups = access.people(principal)
    names = {_USERS.key: sorted(users), _GROUPS.key: sorted(groups)}
    personal, offered_to_group = _visible(dialect)
    if scope == "mine":
        return query.where(personal), names
    if scope == "group":
        return query.where(offered_to_group), names
    if principal.has_role("auditor", "admin"):
        return query, {}
    return query.where(or_(personal, offered_to_group)), names


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _encode_cursor(moment: datetime, row_id: str, due: datetime | None = None, by_due: bool = False) -> str:
    """An opaque page cursor: where the last row of a page stands in its ordering (by age: its
    created-at and id; by deadline: its due date, or none, before those)."""
    place: list[str | None] = [moment.isoformat(), row_id]
    if by_due:
        place = [due.isoformat() if due else None, *place]
    return base64.urlsafe_b64encode(json.dumps(place).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    at, task_id = _decode_place(cursor, 2)
    return _moment(at), str(task_id)


def _decode_place(cursor: str, length: int) -> list[Any]:
    try:
        place = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError) as exc:
        raise InvalidInput("cursor is not one this server gave out") from exc
    if not isinstance(place, list) or len(place) != length:
        raise InvalidInput("cursor is not one this server gave out for this order")
    return place


def _moment(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("cursor is not one this server gave out") from exc


SORTS = ("age", "due")


@dataclass(frozen=True)
class Waiting:
    """An open task as an inbox shows it, with what the case says about itself: its title, the
    process's name, who started it (a username, to be named with ``users_named``) and its urgency."""

    task: OpenTask
    title: str | None
    process_name: str
    started_by: str | None
    urgency: str | None


@dataclass(frozen=True)
class _After:
    created_at: datetime
    task_id: str
    due_at: datetime | None = None


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
    the inbox of ``find_waiting`` without what the cases say (for the CLI)."""
    rows, next_cursor = find_waiting(session, principal, scope, process_key, limit, cursor, instance_id)
    return [row.task for row in rows], next_cursor


def find_waiting(
    session: Session,
    principal: Principal,
    scope: str = "all",
    process_key: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    instance_id: str | None = None,
    *,
    q: str | None = None,
    sort: str = "age",
) -> tuple[list[Waiting], str | None]:
    """A page of the open tasks ``principal`` may act on (``all``: also their groups') — the one
    definition of someone's inbox, for the API, the pages and the CLI. Oldest first (``sort="age"``)
    or due soonest first, tasks without a due date last (``"due"``); ``q`` keeps the tasks whose
    case title holds it (any case). Standing tasks (an option like 회수) are on their case, not
    here. Each row brings its case's title, process name, initiator and urgency from the same query."""
    if scope not in SCOPES:
        raise InvalidInput(f"scope must be one of {', '.join(SCOPES)}")
    if sort not in SORTS:
        raise InvalidInput(f"sort must be one of {', '.join(SORTS)}")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
    by_due = sort == "due"
    after = None
    if cursor:
        place = _decode_place(cursor, 3 if by_due else 2)
        due = _moment(place[0]) if by_due and place[0] is not None else None
        after = _After(_moment(place[-2]), str(place[-1]), due)
    filters = _Filters(process_key, instance_id, (q or "").strip() or None, by_due)

    def key(row: Waiting) -> tuple[Any, ...]:
        age = (row.task.created_at, row.task.id)
        return (row.task.due_at is None, row.task.due_at or row.task.created_at, *age) if by_due else age

    if scope == "all" and not principal.has_role("auditor", "admin"):
        # Two pages, each read through the created-at index, merged: one query with both halves
        # under an OR makes PostgreSQL gather every task offered to the caller's groups first.
        found = {w.task.id: w for part in ("mine", "group")
                 for w in _page(session, principal, part, filters, after, limit + 1)}
        rows = sorted(found.values(), key=key)[: limit + 1]
    else:
        rows = _page(session, principal, scope, filters, after, limit + 1)
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1].task
        next_cursor = _encode_cursor(last.created_at, last.id, last.due_at, by_due)
    return rows[:limit], next_cursor


@dataclass(frozen=True)
class _Filters:
    process_key: str | None
    instance_id: str | None
    q: str | None
    by_due: bool


def _page(
    session: Session, principal: Principal, scope: str, filters: _Filters, after: _After | None, size: int,
) -> list[Waiting]:
    title = Instance.data["title"].as_string()
    urgency = Instance.data["urgency"].as_string()
    query = (
        select(OpenTask, title, ProcessVersion.name, Instance.initiator, urgency)
        .join(Instance, Instance.id == OpenTask.instance_id)
        .join(ProcessVersion, ProcessVersion.id == Instance.process_version_id)
    )
    query, names = _visibility(query, principal, scope, _dialect(session))
    query = query.where(OpenTask.standing.is_(False))
    if filters.instance_id:
        query = query.where(OpenTask.instance_id == filters.instance_id)
    if filters.process_key:
        query = query.where(OpenTask.process_key == filters.process_key)
    if filters.q:
        query = query.where(title.icontains(filters.q, autoescape=True))
    age_order = (OpenTask.created_at, OpenTask.id)
    if after is not None:
        later = or_(OpenTask.created_at > after.created_at,
                    and_(OpenTask.created_at == after.created_at, OpenTask.id > after.task_id))
        if not filters.by_due:
            query = query.where(later)
        elif after.due_at is None:
            query = query.where(OpenTask.due_at.is_(None), later)
        else:
            query = query.where(or_(OpenTask.due_at.is_(None), OpenTask.due_at > after.due_at,
                                    and_(OpenTask.due_at == after.due_at, later)))
    # "Nulls last" as a leading term both SQLite and PostgreSQL order the same way.
    order = (OpenTask.due_at.is_(None), OpenTask.due_at, *age_order) if filters.by_due else age_order
    rows = session.execute(query.order_by(*order).limit(size), names).all()
    return [Waiting(task, title or None, name, initiator, urgency or None)
            for task, title, name, initiator, urgency in rows]


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
