"""Reading trails: what auditors search and read, each reading itself on record.

The trail is ``engine.audit``'s: records chained per case, verified and exported there. This
module reads it as an auditor asks — every record matching a search, newest first, a page at
a time (keyset on the record id) with the count of all matches; one case's records with what
a reader needs to name its people and steps; a stream of either, page by page, for an export
of any size — and puts each reading on the record: a case read or exported is a ``case.viewed``
record on that case's own chain (열람), an export of a search a ``trail.exported`` record on the
system chain. Only auditors and admins read trails (``access.require_auditor``).

A search's parts are all optional and all apply together: the process; the case (its title,
business key or id); the person who acted (by name, as colleagues know them, or login name);
the department they belong to (with the units under it); the action; whether people or the system
acted; the first and last day, counted in the city's time zone.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from engine import access, audit, bpmn_xml, instances
from engine.db import Database
from engine.errors import InvalidInput
from engine.identity import Person, Principal
from engine.models import AuditRecord, Department, Instance, ProcessVersion, User

VIEWED = "case.viewed"  # 열람: an auditor (or admin) read or exported a case's trail
EXPORTED = "trail.exported"  # the records of a search were exported
PAGE = 50
MAX_PAGE = 500
EXPORT_BATCH = 1000

# How a step of a process is run, by the BPMN task type SpiffWorkflow gives its spec.
PERSON_STEPS = frozenset({"UserTask", "ManualTask"})  # someone does it
WAITING_STEPS = frozenset({"IntermediateCatchEvent", "ReceiveTask"})  # the case waits for a time or a message


@dataclass(frozen=True)
class Search:
    """What an auditor looks for; empty parts are left out."""

    process_key: str | None = None
    case: str | None = None
    person: str | None = None
    department: str | None = None  # a department's name
    action: str | None = None
    by: str | None = None  # "people": what people did; "system": what the engine, timers and messages did
    first_day: date | None = None
    last_day: date | None = None

    def as_detail(self) -> dict[str, str]:
        """The parts given, as a record's detail keeps them."""
        return {name: str(value) for name, value in self.__dict__.items() if value not in (None, "")}


@dataclass(frozen=True)
class Found:
    """One record of a search (its fields as the export has them) and the case it belongs to."""

    record: dict[str, Any]
    title: str | None
    business_key: str | None
    version_id: int | None  # the version its case runs on (records a command wrote name none)


@dataclass(frozen=True)
class Results:
    rows: list[Found]
    total: int
    next_cursor: str | None


@dataclass
class CaseTrail:
    """One case's records in order, with its version (for its steps' names and kinds)."""

    instance: Instance
    version: ProcessVersion
    records: list[dict[str, Any]] = field(default_factory=list)


# -- searching -------------------------------------------------------------------------------------


def _day_bounds(first: date | None, last: date | None, zone: tzinfo) -> list[ColumnElement[bool]]:
    conditions = []
    if first is not None:
        conditions.append(AuditRecord.at >= datetime.combine(first, datetime.min.time(), tzinfo=zone))
    if last is not None:
        conditions.append(AuditRecord.at < datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=zone))
    return conditions


def _units_under(session: Session, name: str) -> set[str]:
    """The codes of the department named ``name`` and of every unit under it (none: no such department)."""
    codes = set(session.execute(select(Department.code).where(Department.name == name)).scalars())
    frontier = set(codes)
    while frontier:
        frontier = set(session.execute(select(Department.code).where(Department.parent_code.in_(frontier))).scalars())
        frontier -= codes
        codes |= frontier
    return codes


def _title() -> ColumnElement[str]:
    title: ColumnElement[str] = Instance.data["title"].as_string()
    return title


def _conditions(session: Session, search: Search, zone: tzinfo) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if search.process_key:
        conditions.append(AuditRecord.process_key == search.process_key)
    if search.action:
        conditions.append(AuditRecord.action == search.action)
    if search.case and search.case.strip():
        text = search.case.strip()
        cases = select(Instance.id).where(or_(
            Instance.id == text,
            Instance.business_key.icontains(text, autoescape=True),
            _title().icontains(text, autoescape=True),
        ))
        conditions.append(AuditRecord.chain.in_(cases))  # a case's chain is its id: the (chain, seq) index
    if search.person and search.person.strip():
        text = search.person.strip()
        people = select(User.username).where(or_(User.display_name.icontains(text, autoescape=True),
                                                 User.username == text))
        conditions.append(AuditRecord.actor.in_(people))
    if search.by == "people":
        conditions.append(AuditRecord.actor.not_like("system:%"))
    elif search.by == "system":
        conditions.append(AuditRecord.actor.like("system:%"))
    if search.department:
        codes = _units_under(session, search.department)
        if not codes:
            conditions.append(false())
        else:
            conditions.append(AuditRecord.actor.in_(select(User.username).where(User.department_code.in_(codes))))
    if search.first_day and search.last_day and search.last_day < search.first_day:
        raise InvalidInput("the last day comes before the first day")
    conditions.extend(_day_bounds(search.first_day, search.last_day, zone))
    return conditions


def _cursor(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    if not (text.isdigit() and len(text) < 19):
        raise InvalidInput("cursor is not one this server gave out")
    return int(text)


def _as_export(record: AuditRecord) -> dict[str, Any]:
    values = {name: getattr(record, name) for name in audit.EXPORT_FIELDS}
    values["at"] = audit.timestamp(record.at)
    return values


def search(
    session: Session, principal: Principal, wanted: Search, zone: tzinfo,
    cursor: str | None = None, limit: int = PAGE,
) -> Results:
    """The records matching ``wanted``, newest first: a page after ``cursor`` and the count of all."""
    access.require_auditor(principal, "search the audit trail")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
    before = _cursor(cursor)
    conditions = _conditions(session, wanted, zone)
    query = (
        select(AuditRecord, _title(), Instance.business_key, Instance.process_version_id)
        .outerjoin(Instance, Instance.id == AuditRecord.instance_id)
        .where(*conditions)
        .order_by(AuditRecord.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(AuditRecord.id < before)
    found = [Found(_as_export(record), title, business_key, version_id)
             for record, title, business_key, version_id in session.execute(query)]
    total = session.execute(select(func.count()).select_from(AuditRecord).where(*conditions)).scalar_one()
    next_cursor = str(found[limit - 1].record["id"]) if len(found) > limit else None
    return Results(found[:limit], total, next_cursor)


def actions(session: Session) -> list[str]:
    """Every action on record, for choosing one (the action index answers it)."""
    return list(session.execute(select(AuditRecord.action).distinct().order_by(AuditRecord.action)).scalars())


def departments(session: Session) -> list[tuple[str, str | None]]:
    """Every department's name with its bureau's, bureau by bureau."""
    bureau = aliased(Department)
    query = (select(Department.name, bureau.name).outerjoin(bureau, bureau.code == Department.parent_code)
             .order_by(bureau.name.is_not(None), bureau.name, Department.name))
    return [(name, parent) for name, parent in session.execute(query)]


def versions(session: Session, ids: Sequence[int | None]) -> dict[int, ProcessVersion]:
    """The deployed versions with these row ids (the versions the cases of a page run on)."""
    wanted = {version_id for version_id in ids if version_id is not None}
    if not wanted:
        return {}
    rows = session.execute(select(ProcessVersion).where(ProcessVersion.id.in_(wanted))).scalars()
    return {row.id: row for row in rows}


def people(session: Session, usernames: Sequence[str]) -> dict[str, Person]:
    """Those of ``usernames`` who are (or were) people of the city: name, position, department."""
    names = {name for name in usernames if name and not name.startswith("system:")}
    if not names:
        return {}
    query = (select(User, Department.name).outerjoin(Department, Department.code == User.department_code)
             .where(User.username.in_(names)))
    return {user.username: Person(user.username, user.display_name, user.position, user.rank or 0, department)
            for user, department in session.execute(query)}


# -- one case --------------------------------------------------------------------------------------


def view_case(session: Session, principal: Principal, instance_id: str, how: str = "page") -> CaseTrail:
    """Read one case's trail as an auditor (or admin): the reading is recorded on the case's chain
    first (열람, ``how``: the page, or the export's format), then its records are read, that one
    included."""
    instance = record_view(session, principal, instance_id, how)
    version = session.get(ProcessVersion, instance.process_version_id)
    assert version is not None  # an instance's version row is never deleted
    query = select(AuditRecord).where(AuditRecord.chain == instance_id).order_by(AuditRecord.seq)
    return CaseTrail(instance, version, [_as_export(record) for record in session.execute(query).scalars()])


def record_view(session: Session, principal: Principal, instance_id: str, how: str) -> Instance:
    """Put an auditor's reading of a case on its own chain (the instance is locked to move its head)."""
    access.require_auditor(principal, "read a case's audit trail")
    instance = instances.lock_instance(session, instance_id)
    audit.append_to_instance(session, instance, [audit.Entry(action=VIEWED, actor=principal.username,
                                                             detail={"as": how})], None)
    session.flush()
    return instance


def record_export(session: Session, principal: Principal, wanted: Search, how: str) -> None:
    """Put an export of a search's records on the system chain, with what was searched."""
    access.require_auditor(principal, "export the audit trail")
    audit.append_to_system(session, audit.Entry(action=EXPORTED, actor=principal.username,
                                                detail={"as": how, "search": wanted.as_detail()}))
    session.flush()


@dataclass(frozen=True)
class Steps:
    """The steps of one process version as its records name them: how each runs and what it is called."""

    kinds: dict[tuple[str, str | None], str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    lanes: dict[str, str] = field(default_factory=dict)  # a lane's name → its element id (for its labels)

    def kind(self, element_id: str | None, name: str | None) -> str:
        """``person`` (a user or manual task), ``waiting`` (for a time or a message), or ``engine``
        (gateways, scripts, rules, service calls, sub-processes, start and end events)."""
        return self.kinds.get((element_id or "", name), "engine")

    def name(self, element_id: str | None) -> str | None:
        """The BPMN name of a step (a record of a fired timer names only its element)."""
        return self.names.get(element_id or "")

    def lane(self, name: str | None) -> str | None:
        """The element id of the lane records name ``name`` (a record keeps a lane's name only)."""
        return self.lanes.get(name or "")


_steps: dict[tuple[int, str], Steps] = {}
_steps_lock = threading.Lock()


def steps_of(version: ProcessVersion) -> Steps:
    """The steps of ``version``, read from its stored spec (cached per version)."""
    key = (version.id, version.hash)
    found = _steps.get(key)
    if found is not None:
        return found
    kinds: dict[tuple[str, str | None], str] = {}
    names: dict[str, str] = {}
    serialized = version.spec or {}
    for specs in [serialized.get("spec") or {}, *(serialized.get("subprocess_specs") or {}).values()]:
        for spec in (specs.get("task_specs") or {}).values():
            element_id, typename, name = spec.get("bpmn_id"), spec.get("typename"), spec.get("bpmn_name")
            if not element_id:
                continue
            kind = "person" if typename in PERSON_STEPS else "waiting" if typename in WAITING_STEPS else "engine"
            kinds.setdefault((element_id, name), kind)
            if name:
                names.setdefault(element_id, name)
    made = Steps(kinds, names, _lanes(version))
    with _steps_lock:
        _steps[key] = made
    return made


def _lanes(version: ProcessVersion) -> dict[str, str]:
    lanes: dict[str, str] = {}
    for name, text in sorted(version.files.items()):
        if not bpmn_xml.is_bpmn_file(name) or not isinstance(text, str):
            continue
        tree, _problems = bpmn_xml.parse_xml(text.encode(), name)
        if tree is None:
            continue
        for lane in tree.iter(f"{{{bpmn_xml.BPMN_NS}}}lane"):
            if lane.get("name") and lane.get("id"):
                lanes.setdefault(str(lane.get("name")), str(lane.get("id")))
    return lanes


# -- streaming an export ---------------------------------------------------------------------------


def export_search(
    database: Database, wanted: Search, zone: tzinfo, batch: int = EXPORT_BATCH,
) -> Iterator[dict[str, Any]]:
    """Every record matching ``wanted`` as the export has it, oldest first, read a page at a time
    in a short unit of work each (records added meanwhile are left out: the export is the trail as
    it stood when it began)."""
    with database.unit_of_work() as session:
        conditions = _conditions(session, wanted, zone)
        last = session.execute(select(func.max(AuditRecord.id))).scalar_one_or_none() or 0
    after = 0
    while True:
        with database.unit_of_work() as session:
            page = list(session.execute(
                select(AuditRecord).where(*conditions, AuditRecord.id > after, AuditRecord.id <= last)
                .order_by(AuditRecord.id).limit(batch)
            ).scalars())
            rows = [_as_export(record) for record in page]
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1]["id"]


def export_case(database: Database, instance_id: str, batch: int = EXPORT_BATCH) -> Iterator[dict[str, Any]]:
    """One case's records in chain order, as the export has them, a page at a time."""
    with database.unit_of_work() as session:
        last = session.execute(select(func.max(AuditRecord.seq)).where(AuditRecord.chain == instance_id)).scalar()
    after = 0
    while True:
        with database.unit_of_work() as session:
            rows = [_as_export(record) for record in session.execute(
                select(AuditRecord).where(AuditRecord.chain == instance_id, AuditRecord.seq > after,
                                          AuditRecord.seq <= (last or 0))
                .order_by(AuditRecord.seq).limit(batch)
            ).scalars()]
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1]["seq"]
