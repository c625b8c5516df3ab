"""Absences (출장, 휴가, 교육, 병가) and who stands in meanwhile (대결)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import Anyone, RowId, ServicesDep, SessionDep, Staff
from engine import commands, identity
from engine.models import Absence

router = APIRouter(prefix="/api", tags=["absences"])


class AbsenceIn(BaseModel):
    username: str | None = Field(default=None, max_length=200, description="whose absence (admins); default: mine")
    deputy: str = Field(max_length=200, description="who acts meanwhile (대결자)")
    kind: str = Field(max_length=20, description="출장, 휴가, 교육 or 병가")
    starts_at: datetime = Field(description="with its offset, e.g. 2026-12-01T09:00:00+09:00")
    ends_at: datetime


class EndIn(BaseModel):
    ends_at: datetime | None = Field(default=None, description="earlier than planned; default: now")


class AbsenceOut(BaseModel):
    id: int
    username: str
    deputy: str
    kind: str
    starts_at: datetime
    ends_at: datetime


def _out(absence: Absence) -> AbsenceOut:
    return AbsenceOut.model_validate(absence, from_attributes=True)


@router.get("/absences", response_model=list[AbsenceOut])
def list_absences(principal: Anyone, session: SessionDep, services: ServicesDep) -> list[AbsenceOut]:
    """Current and upcoming absences: mine and those I stand in for (admins: everyone's)."""
    return [_out(a) for a in identity.absences_seen(session, principal, services.ctx.clock())]


@router.post("/absences", status_code=201, response_model=AbsenceOut)
def record_absence(body: AbsenceIn, principal: Staff, session: SessionDep, services: ServicesDep) -> AbsenceOut:
    """Record my absence (admins: anyone's); 422 names each field that is wrong."""
    absence = commands.record_absence(session, services.ctx, principal, body.username, body.deputy, body.kind,
                                      body.starts_at, body.ends_at)
    return _out(absence)


@router.post("/absences/{absence_id}/end", response_model=AbsenceOut)
def end_absence(
    absence_id: RowId, principal: Staff, session: SessionDep, services: ServicesDep, body: EndIn | None = None,
) -> AbsenceOut:
    """End my absence now, or earlier than planned (admins: anyone's); one not begun is called off."""
    ends_at = body.ends_at if body is not None else None
    return _out(commands.end_absence(session, services.ctx, principal, absence_id, ends_at))
