"""The records register (기록물 등록대장) over the API: searched by everyone who works here, a closed
record's title and content only by those it is open to; exported as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from api.deps import Anyone, RowId, ServicesDep, SessionDep
from engine import records, worklist
from engine.citytime import CityTime
from engine.errors import InvalidInput
from engine.models import Record

router = APIRouter(prefix="/api", tags=["records"])

WITHHELD = "(비공개)"


def search_of(
    number: Annotated[str, Query(max_length=100, description="part of a 문서번호")] = "",
    unit: Annotated[str, Query(max_length=200, description="분류 (unit task), exactly")] = "",
    retention: Annotated[str, Query(max_length=10, description="1년, 3년, 5년, 10년, 30년, 준영구 or 영구")] = "",
    disclosure: Annotated[str, Query(max_length=10, description="공개, 부분공개 or 비공개")] = "",
    year: Annotated[int | None, Query(ge=1900, le=9999, description="the year it was produced")] = None,
    department: Annotated[str, Query(max_length=200, description="the drafter's department, by name")] = "",
    title: Annotated[str, Query(max_length=200, description="words of the title")] = "",
    status: Annotated[str, Query(max_length=10, description="보존, 폐기 or 경과 (past its retention)")] = "",
) -> records.Search:
    if retention and retention not in records.RETENTIONS:
        raise InvalidInput(f"retention is one of {', '.join(records.RETENTIONS)}")
    if disclosure and disclosure not in records.DISCLOSURES:
        raise InvalidInput(f"disclosure is one of {', '.join(records.DISCLOSURES)}")
    if status and status not in (records.KEPT, records.DISPOSED, "경과"):
        raise InvalidInput("status is 보존, 폐기 or 경과")
    return records.Search(number=number, unit=unit, retention=retention, disclosure=disclosure, year=year,
                          department=department, title=title, status=status)


SearchDep = Annotated[records.Search, Depends(search_of)]


class RecordOut(BaseModel):
    id: int
    document_number: str
    title: str = Field(description="(비공개) when the record is closed to the caller")
    unit: str
    retention: str
    retain_until: str | None = Field(description="the last day it is kept; none for 준영구 and 영구")
    disclosure: str
    disclosure_ground: str
    produced_at: datetime
    year: int
    drafter: str
    department: str
    status: str = Field(description="보존, 폐기, or 경과 when kept past its retention")
    readable: bool = Field(description="whether the caller may read its title and content")
    disposed_at: datetime | None
    content: dict[str, Any] | None = Field(default=None, description="one record only, when readable")
    instance_id: str | None = Field(default=None, description="its 전자결재 case, when readable")


class RecordPage(BaseModel):
    items: list[RecordOut]
    total: int


def record_out(record: Record, readable: bool, past: bool, *, full: bool = False) -> RecordOut:
    return RecordOut(
        id=record.id, document_number=record.document_number, title=record.title if readable else WITHHELD,
        unit=record.unit, retention=record.retention, retain_until=record.retain_until,
        disclosure=record.disclosure, disclosure_ground=record.disclosure_ground, produced_at=record.produced_at,
        year=record.year, drafter=record.drafter, department=record.department,
        status="경과" if past else record.status, readable=readable, disposed_at=record.disposed_at,
        content=record.content if full and readable else None,
        instance_id=record.instance_id if readable else None)


def _today(services: Any) -> date:
    return CityTime.from_settings(services.settings).today(services.ctx.clock())


@router.get("/records", response_model=RecordPage)
def search_records(
    principal: Anyone, session: SessionDep, services: ServicesDep, search: SearchDep,
    limit: Annotated[int, Query(ge=1, le=500)] = records.PAGE, offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> RecordPage:
    """The records register, newest first."""
    found, total = records.search(session, principal, search, today=_today(services), limit=limit, offset=offset)
    return RecordPage(items=[record_out(i.record, i.readable, i.past_retention) for i in found], total=total)


@router.get("/records/export.csv", response_class=StreamingResponse)
def export_csv(principal: Anyone, session: SessionDep, services: ServicesDep, search: SearchDep) -> Response:
    """The register as CSV (UTF-8 with a byte-order mark, so a spreadsheet reads the Korean)."""
    rows = _rows(session, principal, services, search)

    def lines() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(records.EXPORT_COLUMNS)
        for row in rows:
            writer.writerow(row)
        yield "\ufeff" + out.getvalue()

    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": _attachment("기록물등록대장.csv")})


def _rows(session: Any, principal: Any, services: Any, search: records.Search) -> list[list[Any]]:
    city = CityTime.from_settings(services.settings)
    found, _ = records.search(session, principal, search, today=_today(services), limit=records.MOST_EXPORTED)
    names = {u.username: u.display_name for u in
             worklist.users_named(session, sorted({i.record.drafter for i in found})).values()}
    return list(records.export_rows(found, names=names, city=city))


def _attachment(name: str) -> str:
    return f"attachment; filename=\"records.{name.rsplit('.', 1)[1]}\"; filename*=UTF-8''{quote(name)}"


@router.get("/records/{record_id}", response_model=RecordOut)
def get_record(record_id: RowId, principal: Anyone, session: SessionDep, services: ServicesDep) -> RecordOut:
    """One record with its content; 403 when it is 부분공개 or 비공개 and the caller took no part in it."""
    record = records.read(session, principal, record_id)
    today = _today(services)
    return record_out(record, True, record.status == records.KEPT and record.retain_until is not None
                      and record.retain_until < today.isoformat(), full=True)
