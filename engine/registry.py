"""Registry views derived from instance data — never hand-kept tables: the directive register
(지시사항 관리대장, 이행률) and the pledge board (공약 이행현황, 평균진행률, 달성률)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Instance

DIRECTIVE_STATUSES = ("추진중", "완료", "계속관리", "장기검토", "추진불가")
CLOSED_DIRECTIVE = ("완료", "추진불가")
PLEDGE_STATUSES = ("완료", "이행후계속추진", "정상추진", "일부추진", "보류", "폐기")


def _moment(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _instances(session: Session, process_key: str) -> list[Instance]:
    return list(session.execute(
        select(Instance).where(Instance.process_key == process_key, Instance.status != "cancelled")
        .order_by(Instance.started_at.desc())
    ).scalars())


@dataclass
class Rate:
    total: int = 0
    closed: int = 0

    @property
    def rate(self) -> float:
        return round(100 * self.closed / self.total, 1) if self.total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "closed": self.closed, "rate": self.rate}


@dataclass
class DirectiveRegister:
    items: list[dict[str, Any]]
    overall: Rate
    by_department: dict[str, Rate] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    overdue: int = 0


def directives(
    session: Session,
    now: datetime,
    *,
    department: str | None = None,
    status: str | None = None,
    overdue: bool | None = None,
    process_key: str = "directive",
) -> DirectiveRegister:
    """Every directive with its status, department, deadline and whether it is overdue; 이행률
    (closed ÷ total) per department and overall, over all directives."""
    items: list[dict[str, Any]] = []
    overall = Rate()
    by_department: defaultdict[str, Rate] = defaultdict(Rate)
    by_status: dict[str, int] = dict.fromkeys(DIRECTIVE_STATUSES, 0)
    for instance in _instances(session, process_key):
        data = instance.data
        state = str(data.get("status") or "추진중")
        deadline = _moment(data.get("deadline"))
        late = state not in CLOSED_DIRECTIVE and deadline is not None and deadline < now
        dept = str(data.get("lead_department") or "미지정")
        for rate in (overall, by_department[dept]):
            rate.total += 1
            rate.closed += state == "완료"
        by_status[state] = by_status.get(state, 0) + 1
        items.append({
            "id": instance.id, "title": data.get("title") or "", "status": state, "lead_department": dept,
            "deadline": data.get("deadline"), "overdue": late, "issuer": data.get("issuer"),
            "source": data.get("source"), "term": data.get("term"), "issued_on": data.get("issued_on"),
            "closed_on": data.get("closed_on"), "instance_status": instance.status,
        })
    shown = [
        i for i in items
        if (department is None or i["lead_department"] == department)
        and (status is None or i["status"] == status)
        and (overdue is None or i["overdue"] == overdue)
    ]
    return DirectiveRegister(shown, overall, dict(sorted(by_department.items())), by_status,
                             sum(1 for i in items if i["overdue"]))


@dataclass
class PledgeBoard:
    items: list[dict[str, Any]]
    total: int
    average_progress: float
    achievement_rate: float
    by_status: dict[str, int]


def pledges(
    session: Session,
    *,
    department: str | None = None,
    status: str | None = None,
    category: str | None = None,
    process_key: str = "pledge",
) -> PledgeBoard:
    """Every pledge with its status and progress %; 평균진행률 (mean progress) and 달성률
    (완료 ÷ all), over all pledges."""
    items: list[dict[str, Any]] = []
    by_status: dict[str, int] = dict.fromkeys(PLEDGE_STATUSES, 0)
    for instance in _instances(session, process_key):
        data = instance.data
        milestones = data.get("milestones") or []
        progress = data.get("progress")
        if not isinstance(progress, int | float):
            done = sum(1 for m in milestones if isinstance(m, dict) and m.get("done"))
            progress = round(100 * done / len(milestones)) if milestones else 0
        state = str(data.get("status") or "정상추진")
        by_status[state] = by_status.get(state, 0) + 1
        items.append({
            "id": instance.id, "title": data.get("title") or "", "category": data.get("category"),
            "department": data.get("department"), "target_year": data.get("target_year"), "status": state,
            "progress": progress, "milestones": len(milestones), "last_reported_on": data.get("last_reported_on"),
        })
    total = len(items)
    average = round(sum(i["progress"] for i in items) / total, 1) if total else 0.0
    achieved = round(100 * by_status.get("완료", 0) / total, 1) if total else 0.0
    shown = [
        i for i in items
        if (department is None or i["department"] == department)
        and (status is None or i["status"] == status)
        and (category is None or i["category"] == category)
    ]
    return PledgeBoard(shown, total, average, achieved, by_status)


def waiting_tasks(session: Session, process_key: str, now: datetime) -> list[dict[str, Any]]:
    """Open tasks of a process with how long each has waited, oldest first (approvals waiting)."""
    from engine.models import OpenTask

    rows = session.execute(
        select(OpenTask, Instance.data).join(Instance, Instance.id == OpenTask.instance_id)
        .where(OpenTask.process_key == process_key).order_by(OpenTask.created_at)
    ).all()
    result = []
    for task, data in rows:
        drafter = (data or {}).get("drafter")
        if drafter and drafter == (task.claimed_by or task.assignee):
            continue  # the drafter's own tasks (withdraw, revise) are not approvals waiting
        created = task.created_at if task.created_at.tzinfo else task.created_at.replace(tzinfo=UTC)
        result.append({"id": task.id, "instance_id": task.instance_id, "name": task.name,
                       "title": (data or {}).get("title") or "", "waiting_days": (now - created).days,
                       "assignee": task.claimed_by or task.assignee})
    return result


def open_by(session: Session, process_key: str, key: str) -> dict[str, int]:
    """Running instances of a process counted by one of their data fields (field reports by category)."""
    counts: dict[str, int] = defaultdict(int)
    for instance in session.execute(
        select(Instance).where(Instance.process_key == process_key, Instance.status == "running")
    ).scalars():
        counts[str(instance.data.get(key) or "기타")] += 1
    return dict(sorted(counts.items()))
