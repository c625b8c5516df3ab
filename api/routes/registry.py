"""Registers as their processes declare them (``register.json``): any process's at
``/api/registers/{process_key}``; the directive register and the pledge board also under their old names."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.deps import Anyone, ServicesDep, SessionDep
from engine import registry

router = APIRouter(prefix="/api", tags=["registry"])
PAGING = ("limit", "offset")


@router.get("/registers/{process_key}")
def register(
    process_key: str,
    request: Request,
    principal: Anyone,
    session: SessionDep,
    services: ServicesDep,
    limit: int = registry.DEFAULT_LIMIT,
    offset: int = 0,
) -> dict[str, Any]:
    """The register of a process: figures over all its instances (by status, by department with the
    declared rate, overdue, the mean) and a page of the items the caller may read. The filters its
    declaration offers are query parameters (e.g. ``department``, ``status``, ``overdue=true``);
    others are refused."""
    filters = {name: value for name, value in request.query_params.items() if name not in PAGING}
    found = registry.register(session, process_key, services.ctx.clock(), filters=filters, limit=limit,
                              offset=offset, reader=principal)
    return found.as_dict()


@router.get("/directives")
def directives(
    principal: Anyone,
    session: SessionDep,
    services: ServicesDep,
    department: str | None = None,
    status: str | None = None,
    overdue: bool | None = None,
    limit: int = registry.DEFAULT_LIMIT,
    offset: int = 0,
) -> dict[str, Any]:
    """``/api/registers/directive``: every directive (filters ``department``, ``status``, ``overdue``),
    with 이행률 (closed ÷ total) per department and overall."""
    filters = {"department": department, "status": status, "overdue": overdue}
    found = registry.register(session, "directive", services.ctx.clock(), filters=filters, limit=limit,
                              offset=offset, reader=principal)
    return found.as_dict()


@router.get("/pledges")
def pledges(
    principal: Anyone,
    session: SessionDep,
    department: str | None = None,
    status: str | None = None,
    category: str | None = None,
    limit: int = registry.DEFAULT_LIMIT,
    offset: int = 0,
) -> dict[str, Any]:
    """``/api/registers/pledge``: every pledge with its status and progress, and by their board's
    names 평균진행률 (``average_progress``) and 달성률 (``achievement_rate``) over all pledges."""
    filters = {"department": department, "status": status, "category": category}
    board = registry.register(session, "pledge", filters=filters, limit=limit, offset=offset, reader=principal)
    return {**board.as_dict(), "average_progress": board.mean, "achievement_rate": board.overall.rate}
