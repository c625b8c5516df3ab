"""Registry views: the directive register and the pledge board, derived from instance data."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import Anyone, ServicesDep, SessionDep
from engine import registry

router = APIRouter(prefix="/api", tags=["registry"])


@router.get("/directives")
def directives(
    principal: Anyone,
    session: SessionDep,
    services: ServicesDep,
    department: str | None = None,
    status: str | None = None,
    overdue: bool | None = None,
) -> dict[str, Any]:
    """Every directive (filters: ``department``, ``status``, ``overdue``), with 이행률 (closed ÷ total)
    per department and overall."""
    register = registry.directives(session, services.ctx.clock(), department=department, status=status,
                                   overdue=overdue)
    return {
        "items": register.items,
        "overall": register.overall.as_dict(),
        "by_department": {name: rate.as_dict() for name, rate in register.by_department.items()},
        "by_status": register.by_status,
        "overdue": register.overdue,
    }


@router.get("/pledges")
def pledges(
    principal: Anyone,
    session: SessionDep,
    department: str | None = None,
    status: str | None = None,
    category: str | None = None,
) -> dict[str, Any]:
    """Every pledge with its status and progress, with 평균진행률 and 달성률 over all pledges."""
    board = registry.pledges(session, department=department, status=status, category=category)
    return {
        "items": board.items,
        "total": board.total,
        "average_progress": board.average_progress,
        "achievement_rate": board.achievement_rate,
        "by_status": board.by_status,
    }
