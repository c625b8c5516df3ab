"""The audit trail for auditors: search it, verify it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Reader, ServicesDep, SessionDep
from api.schemas import AuditPage, VerifyOut
from engine import audit
from engine.errors import InvalidInput

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("", response_model=AuditPage)
def search(
    principal: Reader,
    session: SessionDep,
    actor: str | None = None,
    process_key: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> AuditPage:
    """Audit records matching every filter given, oldest first; ``cursor`` continues a page."""
    if cursor is not None and not (cursor.isdigit() and len(cursor) < 19):
        raise InvalidInput("cursor is not one this server gave out")
    rows = audit.find_records(
        session, actor=actor, process_key=process_key, action=action, since=since, until=until,
        after_id=int(cursor) if cursor else None, limit=limit,
    )
    next_cursor = str(rows[-1]["id"]) if len(rows) == limit else None
    return AuditPage(items=rows, next_cursor=next_cursor)


@router.get("/verify", response_model=VerifyOut)
def verify(principal: Reader, session: SessionDep, services: ServicesDep, instance: str | None = None) -> VerifyOut:
    """Recompute every chain (or one instance's), its head, the checkpoints and the anchor log, and compare
    them: ``ok`` when nothing is wrong, else every finding named. The same report as ``cityflow audit verify``."""
    result = audit.verify(session, audit.keyring(services.settings), instance, settings=services.settings)
    return VerifyOut(**result.as_dict())
