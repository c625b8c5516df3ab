"""기록물 on the web: the records register (기록물 등록대장) searched by number, 분류, 보존기간, 공개 구분,
year, department, title and status, exported as CSV; one record with its content when it is open to
the reader, or only its registration when it is closed to them or disposed of."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api.deps import RowId, ServicesDep, SessionDep
from api.web.absences import person
from api.web.common import Viewer, render
from api.web.i18n import translations
from engine import access, records, worklist
from engine.citytime import CityTime

router = APIRouter(include_in_schema=False)

STATUSES = (records.KEPT, "경과", records.DISPOSED)
WORDS = {  # the register's values in English; Korean pages show them as they are
    "1년": "1 year", "3년": "3 years", "5년": "5 years", "10년": "10 years", "30년": "30 years",
    "준영구": "Semi-permanent", "영구": "Permanent", "공개": "Open", "부분공개": "Partly open", "비공개": "Closed",
    "보존": "Kept", "경과": "Past retention", "폐기": "Disposed of", "미분류": "Unclassified",
}
FILTERS = ("number", "title", "unit", "retention", "disclosure", "year", "department", "status")


def _search(values: dict[str, str]) -> records.Search:
    year = values["year"]
    return records.Search(
        number=values["number"], title=values["title"], unit=values["unit"],
        retention=values["retention"] if values["retention"] in records.RETENTIONS else "",
        disclosure=values["disclosure"] if values["disclosure"] in records.DISCLOSURES else "",
        year=int(year) if year.isdigit() and len(year) == 4 else None, department=values["department"],
        status=values["status"] if values["status"] in STATUSES else "")


@router.get("/records", response_class=HTMLResponse)
def records_page(
    request: Request, viewer: Viewer, session: SessionDep, services: ServicesDep,
    number: Annotated[str, Query(max_length=100)] = "", title: Annotated[str, Query(max_length=200)] = "",
    unit: Annotated[str, Query(max_length=200)] = "", retention: Annotated[str, Query(max_length=10)] = "",
    disclosure: Annotated[str, Query(max_length=10)] = "", year: Annotated[str, Query(max_length=4)] = "",
    department: Annotated[str, Query(max_length=200)] = "", status: Annotated[str, Query(max_length=10)] = "",
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> HTMLResponse:
    values = {"number": number, "title": title, "unit": unit, "retention": retention, "disclosure": disclosure,
              "year": year, "department": department, "status": status}
    today = CityTime.from_settings(services.settings).today(services.ctx.clock())
    found, total = records.search(session, viewer.principal, _search(values), today=today, offset=offset)
    drafters = worklist.users_named(session, sorted({item.record.drafter for item in found}))
    query = {name: value for name, value in values.items() if value}
    english = viewer.locale == "en"
    return render(
        request, "records.html", viewer, section="records", found=found, total=total, values=values,
        offset=offset, page=records.PAGE, choices=records.choices(session), retentions=records.RETENTIONS,
        disclosures=records.DISCLOSURES, statuses=STATUSES,
        word=lambda value: WORDS.get(value, value) if english else value,
        drafter=lambda r: person(drafters.get(r.drafter), r.drafter),
        export=f"/api/records/export.csv?{urlencode(query)}",
        previous=f"/records?{urlencode({**query, 'offset': max(offset - records.PAGE, 0)})}" if offset else None,
        following=f"/records?{urlencode({**query, 'offset': offset + records.PAGE})}"
        if offset + records.PAGE < total else None,
    )


@router.get("/records/{record_id}", response_class=HTMLResponse)
def record_page(request: Request, record_id: RowId, viewer: Viewer, session: SessionDep,
                services: ServicesDep) -> HTMLResponse:
    """One record: its registration, and its content to those it is open to (else a 403 page saying why)."""
    record = records.get(session, record_id)
    readable = access.may_read_record(session, viewer.principal, record)
    if not readable:
        gettext = translations(viewer.locale).gettext
        return render(request, "error.html", viewer, status=403, heading=gettext("Not allowed"), case_url=None,
                      message=gettext("This record is closed (%(disclosure)s, %(ground)s): only those who took part "
                                      "in the document and the heads of their departments and bureaus read it.")
                      % {"disclosure": WORDS.get(record.disclosure, record.disclosure) if viewer.locale == "en"
                         else record.disclosure, "ground": record.disclosure_ground})
    today = CityTime.from_settings(services.settings).today(services.ctx.clock()).isoformat()
    people = worklist.users_named(session, [record.drafter, record.approved_by])
    english = viewer.locale == "en"
    return render(
        request, "record.html", viewer, section="records", record=record,
        past=record.status == records.KEPT and record.retain_until is not None and record.retain_until < today,
        drafter=person(people.get(record.drafter), record.drafter),
        approver=person(people.get(record.approved_by), record.approved_by) if record.approved_by else "",
        word=lambda value: WORDS.get(value, value) if english else value,
        may_open_case=records.may_open_case(session, viewer.principal, record),
        history=(record.content or {}).get("history") or [],
    )
