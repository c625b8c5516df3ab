"""The auditors' view of the trail."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import ServicesDep, SessionDep
from api.web.common import (
    Auditor,
    render,
)
from engine import audit

router = APIRouter(include_in_schema=False)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, viewer: Auditor, session: SessionDep, services: ServicesDep,
    actor: str | None = None, action: str | None = None,
) -> HTMLResponse:
    records = audit.find_records(session, actor=actor or None, action=action or None, limit=200)
    verification = audit.verify(session, services.settings.key("audit"))
    return render(request, "audit.html", viewer, section="audit", records=list(reversed(records)),
                  verification=verification, filters={"actor": actor, "action": action})


