"""Remarks (말씀) over the API: written down by the 비서실, searched by everyone who works here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import Anyone, RowId, ServicesDep, SessionDep, Staff
from engine import commands, remarks
from engine.models import Remark

router = APIRouter(prefix="/api", tags=["remarks"])


class RemarkIn(BaseModel):
    speaker: str = Field(default="mayor", max_length=100)
    said_at: datetime = Field(description="with its offset, e.g. 2026-12-01T10:00:00+09:00")
    kind: str = Field(max_length=20, description="회의, 연설, 현장, 면담, 행사 or 기타")
    occasion: str = Field(max_length=200, description="where it was said: 확대간부회의, 신년 기자회견, …")
    text: str = Field(max_length=remarks.TEXT_LIMIT, description="what was said, word for word")
    tags: list[Annotated[str, Field(max_length=30)]] = Field(default=[], max_length=remarks.MOST_TAGS)
    schedule_entry_id: int | None = Field(default=None, ge=1, le=2**62)

    def draft(self) -> remarks.Draft:
        return remarks.Draft(speaker=self.speaker, said_at=self.said_at, kind=self.kind, occasion=self.occasion,
                             text=self.text, tags=tuple(self.tags), schedule_entry_id=self.schedule_entry_id)


class RemarkOut(BaseModel):
    id: int
    speaker: str
    said_at: datetime
    kind: str
    occasion: str
    text: str
    tags: list[str]
    schedule_entry_id: int | None
    directives: list[str] | None = Field(default=None, description="the directives it produced (one remark only)")


def remark_out(remark: Remark, directives: list[str] | None = None) -> RemarkOut:
    return RemarkOut(id=remark.id, speaker=remark.speaker, said_at=remark.said_at, kind=remark.kind,
                     occasion=remark.occasion, text=remark.text, tags=list(remark.tags),
                     schedule_entry_id=remark.schedule_entry_id, directives=directives)


@router.get("/remarks", response_model=list[RemarkOut])
def search_remarks(
    principal: Anyone, session: SessionDep,
    q: Annotated[str, Query(max_length=200, description="words in the text or occasion")] = "",
    tag: Annotated[str, Query(max_length=30)] = "",
    speaker: Annotated[str, Query(max_length=100)] = "",
    since: datetime | None = None, until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = remarks.PAGE,
    before: Annotated[int | None, Query(ge=1, le=2**62, description="the id the page starts before")] = None,
) -> list[RemarkOut]:
    """Remarks, newest first."""
    found = remarks.search(session, q=q, tag=tag, speaker=speaker, since=since, until=until, limit=limit,
                           before_id=before)
    return [remark_out(remark) for remark in found]


@router.post("/remarks", status_code=201, response_model=RemarkOut)
def add_remark(body: RemarkIn, principal: Staff, session: SessionDep, services: ServicesDep) -> RemarkOut:
    """Write down a remark (the speaker's 비서실); 422 names each field that is wrong."""
    return remark_out(commands.add_remark(session, services.ctx, principal, body.draft()))


@router.get("/remarks/{remark_id}", response_model=RemarkOut)
def get_remark(remark_id: RowId, principal: Anyone, session: SessionDep) -> RemarkOut:
    remark = remarks.get(session, remark_id)
    return remark_out(remark, [case.id for case in remarks.directives_of(session, remark.id)])


@router.put("/remarks/{remark_id}", response_model=RemarkOut)
def change_remark(remark_id: RowId, body: RemarkIn, principal: Staff, session: SessionDep,
                  services: ServicesDep) -> RemarkOut:
    return remark_out(commands.change_remark(session, services.ctx, principal, remark_id, body.draft()))
