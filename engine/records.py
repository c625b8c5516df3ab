"""Records (기록물): every finished 전자결재 document, kept with the 분류 (unit task, 단위업무), 보존기간
and 공개 구분 its drafter chose at 기안, in the records register (기록물 등록대장).

A document is registered by the approval process itself — its service task ``register_record`` —
in the transition that gives it its 문서번호, so an approved document is never without its record.
Nobody edits a record afterwards: the only changes are the disposal process's (``records_disposal``),
which disposes of a record past its retention (its content removed, the row and its number kept,
the document's own trail told) or keeps it for longer.

Retention is counted as the city's records rules count it: from 1 January of the year after the
document was produced, so a 3년 record of 2026 is kept to the end of 2029. 준영구 and 영구 records
never fall due. Who may read which record is ``engine.access.reads_record``'s rule.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from engine import access, audit
from engine.citytime import CityTime
from engine.errors import InvalidInput, NotAllowed, NotFound
from engine.identity import Principal
from engine.models import Department, Instance, Record, User

RETENTIONS = ("1년", "3년", "5년", "10년", "30년", "준영구", "영구")
YEARS = {"1년": 1, "3년": 3, "5년": 5, "10년": 10, "30년": 30}
DISCLOSURES = ("공개", "부분공개", "비공개")
GROUNDS = tuple(f"제{n}호" for n in range(1, 9))  # 공공기관의 정보공개에 관한 법률 제9조 제1항
UNCLASSIFIED = "미분류"
KEPT, DISPOSED = "보존", "폐기"
DEFAULT_RETENTION, DEFAULT_DISCLOSURE = "5년", "공개"
PAGE = 50
MOST_EXPORTED = 10_000


def retain_until(year: int, retention: str) -> str | None:
    """The last day a record produced in ``year`` is kept (ISO), or None when it is kept for good."""
    years = YEARS.get(retention)
    return None if years is None else date(year + years, 12, 31).isoformat()


def _text(value: Any, default: str = "") -> str:
    return value.strip() if isinstance(value, str) and value.strip() else default


def _department_of(session: Session, username: str) -> str:
    found = session.execute(
        select(Department.name).join(User, User.department_code == Department.code).where(User.username == username)
    ).scalar_one_or_none()
    return found or ""


def register(session: Session, *, instance_id: str, data: dict[str, Any], now: datetime,
             city: CityTime | None = None) -> Record:
    """Register the approved document of ``instance_id`` from its data; once (a second call returns the
    record already kept). A 부분공개 or 비공개 choice without its ground is refused: the form asks for
    one, and a document started some other way must not become a closed record without it."""
    existing = session.execute(select(Record).where(Record.instance_id == instance_id)).scalar_one_or_none()
    if existing is not None:
        return existing
    number = _text(data.get("document_number"))
    if not number or data.get("result") != "APPROVED":
        raise InvalidInput("only an approved document with its number is registered as a record")
    retention = _text(data.get("retention"), DEFAULT_RETENTION)
    disclosure = _text(data.get("disclosure"), DEFAULT_DISCLOSURE)
    ground = _text(data.get("disclosure_ground")) if disclosure != "공개" else ""
    if retention not in RETENTIONS:
        raise InvalidInput(f"보존기간 '{retention}' is none of {', '.join(RETENTIONS)}")
    if disclosure not in DISCLOSURES:
        raise InvalidInput(f"공개 구분 '{disclosure}' is none of {', '.join(DISCLOSURES)}")
    if disclosure != "공개" and ground not in GROUNDS:
        raise InvalidInput(f"{disclosure} needs its ground: one of 제1호 … 제8호 of 정보공개법 제9조 제1항")
    approved_at = data.get("approved_at")
    produced = datetime.fromisoformat(approved_at) if isinstance(approved_at, str) and approved_at else now
    year = (city or CityTime.from_settings()).local(produced).year
    drafter = _text(data.get("drafter"))
    record = Record(
        instance_id=instance_id, document_number=number, title=_text(data.get("title"))[:500],
        unit=_text(data.get("record_unit"), UNCLASSIFIED)[:200], retention=retention, disclosure=disclosure,
        disclosure_ground=ground, produced_at=produced, year=year, retain_until=retain_until(year, retention),
        drafter=drafter, department=_department_of(session, drafter), approved_by=_text(data.get("approved_by")),
        content={"doc_type": data.get("doc_type"), "amount": data.get("amount"), "body": data.get("body"),
                 "approval_kind": data.get("approval_kind"), "history": data.get("history") or [],
                 "attachments": data.get("attachments") or []},
        status=KEPT, registered_at=now, disposal_note="",
    )
    session.add(record)
    session.flush()
    return record


# -- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Search:
    """What the register is searched by; empty means any."""

    number: str = ""
    unit: str = ""
    retention: str = ""
    disclosure: str = ""
    year: int | None = None
    department: str = ""
    title: str = ""
    status: str = ""  # 보존, 폐기, or 경과 (kept past its retention, waiting for disposal)


def _readable(principal: Principal) -> Any:
    return access.reads_record(principal, Record.disclosure, Record.instance_id)


def _filtered(principal: Principal, search: Search, today: date) -> Select[Any]:
    query = select(Record)
    if search.number.strip():
        query = query.where(Record.document_number.icontains(search.number.strip(), autoescape=True))
    if search.unit.strip():
        query = query.where(Record.unit == search.unit.strip())
    if search.retention:
        query = query.where(Record.retention == search.retention)
    if search.disclosure:
        query = query.where(Record.disclosure == search.disclosure)
    if search.year is not None:
        query = query.where(Record.year == search.year)
    if search.department.strip():
        query = query.where(Record.department == search.department.strip())
    if search.title.strip():  # a closed record's title is searched only by those who may read it
        query = query.where(Record.title.icontains(search.title.strip(), autoescape=True), _readable(principal))
    if search.status == "경과":
        query = query.where(Record.status == KEPT, Record.retain_until.is_not(None),
                            Record.retain_until < today.isoformat())
    elif search.status:
        query = query.where(Record.status == search.status)
    return query


@dataclass(frozen=True)
class Listed:
    """A record as the register shows it to someone: whether they may read it (else its title is withheld)."""

    record: Record
    readable: bool
    past_retention: bool


def _listed(rows: Iterator[Any], today: date) -> list[Listed]:
    return [Listed(row[0], bool(row[1]), _past(row[0], today)) for row in rows]


def _past(record: Record, today: date) -> bool:
    return record.status == KEPT and record.retain_until is not None and record.retain_until < today.isoformat()


def search(session: Session, principal: Principal, search: Search, *, today: date, limit: int = PAGE,
           offset: int = 0) -> tuple[list[Listed], int]:
    """One page of the register, newest first, and how many records match in all."""
    if not 1 <= limit <= MOST_EXPORTED or offset < 0:
        raise InvalidInput(f"limit must be between 1 and {MOST_EXPORTED}, offset at least 0")
    query = _filtered(principal, search, today)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(query.add_columns(_readable(principal)).order_by(
        Record.produced_at.desc(), Record.id.desc()).limit(limit).offset(offset))
    return _listed(iter(rows), today), int(total)


def choices(session: Session) -> dict[str, list[Any]]:
    """The values the register's filters offer: units, departments and years in use."""
    def used(column: Any) -> list[Any]:
        return list(session.execute(select(column).distinct().order_by(column)).scalars())

    return {"unit": used(Record.unit), "department": used(Record.department),
            "year": sorted(used(Record.year), reverse=True)}


def get(session: Session, record_id: int) -> Record:
    record = session.get(Record, record_id)
    if record is None:
        raise NotFound(f"no record {record_id}")
    return record


def read(session: Session, principal: Principal, record_id: int) -> Record:
    """A record whose content ``principal`` may read; ``NotAllowed`` says why not."""
    record = get(session, record_id)
    if not access.may_read_record(session, principal, record):
        raise NotAllowed(f"기록물 {record.document_number} is {record.disclosure} "
                         f"({record.disclosure_ground}): only those who took part and their line read it")
    return record


def may_open_case(session: Session, principal: Principal, record: Record) -> bool:
    """Whether ``principal`` may open the 전자결재 case the record came from (those who took part)."""
    case = session.get(Instance, record.instance_id)
    return case is not None and access.may_see_instance(session, principal, case)


def of_instance(session: Session, instance_id: str) -> Record | None:
    return session.execute(select(Record).where(Record.instance_id == instance_id)).scalar_one_or_none()


EXPORT_COLUMNS = ("문서번호", "제목", "분류", "보존기간", "보존기한", "공개 구분", "비공개 근거", "생산일자",
                  "생산연도", "기안자", "부서", "상태", "폐기일")


def export_rows(listed: Sequence[Listed], *, names: dict[str, str], city: CityTime) -> Iterator[list[Any]]:
    """Records found by ``search`` as rows for a spreadsheet (``EXPORT_COLUMNS``): people by name, a
    closed title withheld."""
    for item in listed:
        r = item.record
        yield [r.document_number, r.title if item.readable else "(비공개)", r.unit, r.retention,
               r.retain_until or "", r.disclosure, r.disclosure_ground, city.local(r.produced_at).date().isoformat(),
               r.year, names.get(r.drafter, r.drafter), r.department,
               "보존기간 경과" if item.past_retention else r.status,
               city.local(r.disposed_at).date().isoformat() if r.disposed_at else ""]



# -- disposal (only the records_disposal process calls these) ---------------------------------


def past_retention(session: Session, today: date, limit: int = 500) -> list[Record]:
    """Records still kept whose retention ended before ``today``, the oldest first."""
    return list(session.execute(
        select(Record).where(Record.status == KEPT, Record.retain_until.is_not(None),
                             Record.retain_until < today.isoformat())
        .order_by(Record.retain_until, Record.id).limit(limit)).scalars())


def candidate(record: Record) -> dict[str, Any]:
    """A record as the disposal review lists it."""
    return {"record_id": record.id, "document_number": record.document_number, "title": record.title,
            "unit": record.unit, "retention": record.retention, "retain_until": record.retain_until,
            "department": record.department, "disclosure": record.disclosure}


def dispose(session: Session, *, dispose_ids: Sequence[int], keep_ids: Sequence[int], extend_years: int,
            case_id: str, decided_by: str, note: str, now: datetime) -> dict[str, list[str]]:
    """Carry out a disposal decision: the records of ``dispose_ids`` lose their content and are marked
    폐기; those of ``keep_ids`` are kept ``extend_years`` more. Each document's own trail records
    what happened to its record. Returns the 문서번호 disposed of and kept."""
    if keep_ids and extend_years not in (1, 3, 5, 10):
        raise InvalidInput("a record kept longer is kept 1, 3, 5 or 10 more years")
    done: dict[str, list[str]] = {"disposed": [], "kept": []}
    for record_id, disposing in [*((i, True) for i in dispose_ids), *((i, False) for i in keep_ids)]:
        record = session.get(Record, int(record_id), with_for_update=True)
        if record is None or record.status != KEPT:
            continue  # disposed of meanwhile, or never listed
        before = {"status": record.status, "retain_until": record.retain_until}
        if disposing:
            record.status, record.content, record.disposed_at = DISPOSED, None, now
            action = "record.disposed"
        else:
            ends = date.fromisoformat(record.retain_until or f"{record.year}-12-31")
            record.retain_until = date(ends.year + extend_years, 12, 31).isoformat()
            action = "record.retention_extended"
        record.disposal_case, record.disposal_note = case_id, note[:2000]
        document = session.get(Instance, record.instance_id, with_for_update=True)
        if document is None:
            raise NotFound(f"the case of record {record.document_number} is gone")
        audit.append_to_instance(session, document, [audit.Entry(
            action=action, actor=decided_by, at=now,
            detail={"document_number": record.document_number, "disposal_case": case_id, "note": note[:500],
                    "before": before, "after": {"status": record.status, "retain_until": record.retain_until}},
        )], None)
        done["disposed" if disposing else "kept"].append(record.document_number)
    session.flush()
    return done

