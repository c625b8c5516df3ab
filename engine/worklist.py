"""People's work: which tasks someone sees, who may act on a task, claims, delegation, drafts, comments.

A task is offered to its claimant if claimed, else to its assignee if it has one,
else to its candidate users and groups. During an absence the deputy may act for
the absent colleague (대결); the record names both. Auditors see every task and
change nothing; admins see everything and may reassign, but act on a task only
when it is offered to them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, delete, exists, func, or_, select, union
from sqlalchemy.orm import Session

from engine import audit, instances
from engine.errors import InvalidInput, NotAllowed, TaskNotFound, TaskNotReady
from engine.identity import Principal, get_user
from engine.instances import EngineContext
from engine.models import AuditRecord, Comment, Instance, OpenTask, TaskCandidate, TaskDraft, User

SCOPES = ("mine", "group", "all")
MAX_PAGE = 200


def _offered_to(person: Principal, task: OpenTask) -> bool:
    if task.claimed_by:
        return person.username == task.claimed_by
    if task.assignee:
        return person.username == task.assignee
    return person.username in task.candidate_users or bool(person.groups.intersection(task.candidate_groups))


def acting_for(principal: Principal, task: OpenTask) -> str | None:
    """Whom ``principal`` would act for on ``task``: themselves, an absent colleague, or nobody."""
    if _offered_to(principal, task):
        return principal.username
    for absent in principal.covering:
        if _offered_to(absent, task):
            return absent.username
    return None


def may_see(principal: Principal, task: OpenTask) -> bool:
    return principal.has_role("auditor", "admin") or acting_for(principal, task) is not None


# -- finding tasks -----------------------------------------------------------------------------


def _people(principal: Principal) -> tuple[set[str], set[str]]:
    users = {principal.username} | {p.username for p in principal.covering}
    groups = set(principal.groups).union(*(p.groups for p in principal.covering))
    return users, groups


def _unassigned(dialect: str) -> Any:
    """"Nobody has it yet", worded for each planner so an inbox is read oldest first through the
    created-at index and stops after one page: SQLite would otherwise gather every unclaimed task
    through the claimed-by index, so it gets a form no index serves; PostgreSQL estimates the plain
    form well and misjudges the other."""
    if dialect == "sqlite":
        return func.coalesce(OpenTask.claimed_by, OpenTask.assignee, "") == ""
    return and_(OpenTask.claimed_by.is_(None), OpenTask.assignee.is_(None))


def _visibility(query: Select[Any], principal: Principal, scope: str, dialect: str) -> Select[Any]:
    users, groups = _people(principal)
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
) -> tuple[list[OpenTask], str | None]:
    """A page of the open tasks ``principal`` may act on (``all``: also their groups'), oldest first."""
    if scope not in SCOPES:
        raise InvalidInput(f"scope must be one of {', '.join(SCOPES)}")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
    after = _decode_cursor(cursor) if cursor else None
    if scope == "all" and not principal.has_role("auditor", "admin"):
        # Two pages, each read through the created-at index, merged: one query with both halves
        # under an OR makes PostgreSQL gather every task offered to the caller's groups first.
        found = {t.id: t for part in ("mine", "group")
                 for t in _page(session, principal, part, process_key, after, limit + 1)}
        rows = sorted(found.values(), key=lambda t: (t.created_at, t.id))[: limit + 1]
    else:
        rows = _page(session, principal, scope, process_key, after, limit + 1)
    next_cursor = _encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def _page(
    session: Session, principal: Principal, scope: str, process_key: str | None,
    after: tuple[datetime, str] | None, size: int,
) -> list[OpenTask]:
    query = _visibility(select(OpenTask), principal, scope, _dialect(session))
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
    seen = session.execute(select(AuditRecord.id).where(AuditRecord.task_id == task_id).limit(1)).first()
    if seen is not None:
        raise TaskNotReady(f"task '{task_id}' is not waiting for anyone any more")
    raise TaskNotFound(f"no task '{task_id}'")


def get_task(session: Session, principal: Principal, task_id: str, now: datetime | None = None) -> OpenTask:
    """A task someone may see; the first look by someone it is offered to opens it (개봉, recorded)."""
    task = open_task(session, task_id)
    if not may_see(principal, task):
        raise NotAllowed("this task is not offered to you")
    if task.opened_at is None and acting_for(principal, task) is not None:
        task.opened_at = now or datetime.now(UTC)
        _record(session, task, "task.opened", principal.username, {})
        session.flush()
    return task


def unopened(session: Session, instance_id: str) -> bool:
    """True while nobody has opened any of the instance's open tasks (so its drafter may withdraw it)."""
    return session.execute(
        select(OpenTask.id).where(OpenTask.instance_id == instance_id, OpenTask.opened_at.is_not(None)).limit(1)
    ).first() is None


# -- acting on tasks -------------------------------------------------------------------------


def _refuse(session: Session, principal: Principal, task: OpenTask, attempted: str) -> NotAllowed:
    """Record a refused attempt on the instance's trail and return the error to raise."""
    instance = instances.lock_instance(session, task.instance_id)
    audit.append_to_instance(
        session,
        instance,
        [
            audit.Entry(
                action="task.refused",
                actor=principal.username,
                task_id=task.id,
                element_id=task.element_id,
                element_name=task.name,
                lane=task.lane,
                detail={"attempted": attempted},
            )
        ],
        None,
    )
    session.flush()
    return NotAllowed(f"you may not {attempted} this task: it is not offered to you", recorded=True)


def _record(session: Session, task: OpenTask, action: str, actor: str, detail: dict[str, Any]) -> None:
    instance = instances.lock_instance(session, task.instance_id)
    audit.append_to_instance(
        session,
        instance,
        [audit.Entry(action=action, actor=actor, task_id=task.id, element_id=task.element_id,
                     element_name=task.name, lane=task.lane, detail=detail)],
        None,
    )


def claim(session: Session, principal: Principal, task_id: str) -> OpenTask:
    """Take a task offered to you (or to a colleague you stand in for), so others see it is yours."""
    task = open_task(session, task_id)
    on_behalf_of = acting_for(principal, task)
    if on_behalf_of is None:
        raise _refuse(session, principal, task, "claim")
    task.claimed_by = principal.username
    _record(session, task, "task.claimed", principal.username, {"on_behalf_of": on_behalf_of})
    session.flush()
    return task


def unclaim(session: Session, principal: Principal, task_id: str) -> OpenTask:
    """Give a claimed task back to everyone it was offered to."""
    task = open_task(session, task_id)
    if task.claimed_by != principal.username and not principal.has_role("admin"):
        raise _refuse(session, principal, task, "unclaim")
    previous, task.claimed_by = task.claimed_by, None
    _record(session, task, "task.unclaimed", principal.username, {"was_claimed_by": previous})
    session.flush()
    return task


def delegate(session: Session, principal: Principal, task_id: str, to_user: str) -> OpenTask:
    """Hand a task to another user, who then is the only one it is offered to."""
    task = open_task(session, task_id)
    if acting_for(principal, task) is None and not principal.has_role("admin"):
        raise _refuse(session, principal, task, "delegate")
    target = get_user(session, to_user)
    previous = task.claimed_by or task.assignee
    task.assignee = target.username
    task.claimed_by = target.username
    if session.get(TaskCandidate, (task.id, "user", target.username)) is None:
        session.add(TaskCandidate(task_id=task.id, kind="user", name=target.username))
    _record(session, task, "task.delegated", principal.username, {"from": previous, "to": target.username})
    session.flush()
    return task


def complete(
    session: Session, ctx: EngineContext, principal: Principal, task_id: str, data: dict[str, Any] | None
) -> Instance:
    """Complete a task offered to ``principal`` (or, as deputy, to the absent colleague)."""
    task = open_task(session, task_id)
    on_behalf_of = acting_for(principal, task)
    if on_behalf_of is None:
        raise _refuse(session, principal, task, "complete")
    session.execute(delete(TaskDraft).where(TaskDraft.task_id == task_id))
    return instances.complete_task(
        session, ctx, task_id, data, principal.username,
        on_behalf_of=on_behalf_of if on_behalf_of != principal.username else None,
    )


# -- drafts and comments -------------------------------------------------------------------


def save_draft(session: Session, principal: Principal, task_id: str, data: dict[str, Any]) -> TaskDraft:
    """Keep what someone entered so far; only they see it, until the task is completed."""
    task = open_task(session, task_id)
    if acting_for(principal, task) is None:
        raise NotAllowed("this task is not offered to you")
    if not isinstance(data, dict):
        raise InvalidInput("a draft must be a JSON object")
    draft = session.get(TaskDraft, (task_id, principal.username))
    if draft is None:
        draft = TaskDraft(task_id=task_id, username=principal.username, data=data)
        session.add(draft)
    else:
        draft.data = data
        draft.saved_at = datetime.now(draft.saved_at.tzinfo)
    session.flush()
    return draft


def draft_of(session: Session, principal: Principal, task_id: str) -> dict[str, Any] | None:
    draft = session.get(TaskDraft, (task_id, principal.username))
    return dict(draft.data) if draft is not None else None


def add_comment(
    session: Session, principal: Principal, instance_id: str, body: str, task_id: str | None = None
) -> Comment:
    """A comment on an instance (or one of its tasks), by someone who takes part in it."""
    body = body.strip()
    if not body:
        raise InvalidInput("a comment needs some text")
    if len(body) > 10_000:
        raise InvalidInput("a comment is limited to 10,000 characters")
    instance = instances.lock_instance(session, instance_id)
    if not may_see_instance(session, principal, instance) or principal.roles == frozenset({"auditor"}):
        raise NotAllowed("you take no part in this instance")
    comment = Comment(instance_id=instance_id, task_id=task_id, author=principal.username, body=body)
    session.add(comment)
    audit.append_to_instance(
        session, instance, [audit.Entry(action="comment.added", actor=principal.username, task_id=task_id,
                                        detail={"body": body})], None
    )
    session.flush()
    return comment


def comments(session: Session, instance_id: str) -> Sequence[Comment]:
    return session.execute(
        select(Comment).where(Comment.instance_id == instance_id).order_by(Comment.created_at, Comment.id)
    ).scalars().all()


def may_see_instance(session: Session, principal: Principal, instance: Instance) -> bool:
    """Auditors and admins see every instance; others the ones they started, acted on or are offered."""
    if principal.has_role("auditor", "admin") or instance.initiator == principal.username:
        return True
    users, _ = _people(principal)
    took_part = session.execute(
        select(AuditRecord.id).where(AuditRecord.chain == instance.id, AuditRecord.actor.in_(users)).limit(1)
    ).first()
    if took_part is not None:
        return True
    offered = _visibility(select(OpenTask.id).where(OpenTask.instance_id == instance.id), principal, "all",
                          _dialect(session))
    return session.execute(offered.limit(1)).first() is not None


def users_named(session: Session, usernames: Sequence[str]) -> dict[str, User]:
    rows = session.execute(select(User).where(User.username.in_(usernames))).scalars()
    return {u.username: u for u in rows}


def _instance_visibility(query: Select[Any], principal: Principal, dialect: str) -> Select[Any]:
    if principal.has_role("auditor", "admin"):
        return query
    users, _ = _people(principal)
    took_part = exists().where(AuditRecord.chain == Instance.id, AuditRecord.actor.in_(users))
    offered = _visibility(
        select(OpenTask.id).where(OpenTask.instance_id == Instance.id), principal, "all", dialect
    ).exists()
    return query.where(or_(Instance.initiator.in_(users), took_part, offered))


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
    query = _instance_visibility(select(Instance), principal, _dialect(session))
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


def instance_for(session: Session, principal: Principal, instance_id: str) -> Instance:
    instance = instances.get_instance(session, instance_id)
    if not may_see_instance(session, principal, instance):
        raise NotAllowed("you take no part in this instance")
    return instance


def tasks_of(session: Session, instance_id: str) -> list[OpenTask]:
    return list(
        session.execute(
            select(OpenTask).where(OpenTask.instance_id == instance_id).order_by(OpenTask.created_at, OpenTask.id)
        ).scalars()
    )
