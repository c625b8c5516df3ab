"""Registers as their processes declare them (``register.json``): checked against the folder's forms and
scripts before deployment, and answered by the database in a few statements however many instances
there are — with overdue judged in UTC whatever offset a deadline was written with."""

from __future__ import annotations

import json
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from engine import definitions, registry
from engine.db import Database
from engine.errors import InvalidInput, ProcessNotFound
from engine.models import Instance, OpenTask

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)  # 09:00 in Seoul
SEOUL, NEW_YORK = timezone(timedelta(hours=9)), timezone(timedelta(hours=-5))
DEPARTMENTS = ["도로과", "교통정책과", "복지정책과", "환경정책과", "기획조정실", None, ""]
STATUSES = ["추진중", "완료", "계속관리", "장기검토", "추진불가", None, ""]


# -- the rig -------------------------------------------------------------------------------------


def deploy(session: Session, folder: Path) -> int:
    """Deploy a real process folder; the id of its version row."""
    definitions.deploy(session, definitions.check(definitions.read_source(folder)), "designer")
    return definitions.latest_version(session, folder.name)[0]


def rows(version_id: int, process_key: str, data: list[dict[str, Any]], statuses: list[str] | None = None,
         initiator: str = "mayor") -> list[dict[str, Any]]:
    """Instance rows as the engine stores them, newest first in ``data``'s order."""
    return [{
        "id": str(uuid.uuid4()), "process_version_id": version_id, "process_key": process_key,
        "status": statuses[index] if statuses else "running", "business_key": None, "initiator": initiator,
        "data": values, "state": "{}", "error": None, "waits": None, "audit_seq": 0, "audit_head": "",
        "lock_version": 1, "started_at": NOW - timedelta(seconds=index), "ended_at": None,
    } for index, values in enumerate(data)]


@contextmanager
def counted(database: Database, session: Session) -> Iterator[list[str]]:
    """Every SQL statement the session sends inside the block (its transaction already begun)."""
    session.connection()
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def deadline_text(index: int) -> str | None:
    """Deadlines within ~16 hours of NOW, written in Seoul, UTC (``Z``) or New York time — so their
    text and their moment order differently — and a few missing or unreadable."""
    if index % 11 == 0:
        return None
    if index % 97 == 0:
        return "연말까지"
    moment = NOW + timedelta(minutes=(index * 7) % 2000 - 1000)
    zone = (SEOUL, UTC, NEW_YORK)[index % 3]
    text = moment.astimezone(zone).isoformat()
    return text.replace("+00:00", "Z") if zone is UTC else text


def directive_data(index: int) -> dict[str, Any]:
    data: dict[str, Any] = {"title": f"지시 {index}", "deadline": deadline_text(index), "issuer": "mayor",
                            "source": "간부회의", "term": "단기", "issued_on": "2026-11-30", "closed_on": None}
    if index % 13:  # some have not been classified: no department at all
        data["lead_department"] = DEPARTMENTS[index % len(DEPARTMENTS)]
    if index % 17:
        data["status"] = STATUSES[(index // 7) % len(STATUSES)]
    return data


def expected_overdue(data: dict[str, Any]) -> bool:
    """Independently of the register: Python's own reading of the deadline."""
    if (data.get("status") or "추진중") in ("완료", "추진불가") or not data.get("deadline"):
        return False
    try:
        moment = datetime.fromisoformat(data["deadline"])
    except ValueError:
        return False
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) < NOW


# -- at scale ------------------------------------------------------------------------------------


def test_the_directive_register_of_ten_thousand_directives_takes_four_statements(database: Database) -> None:
    data = [directive_data(i) for i in range(10_000)]
    states = ["cancelled" if i % 500 == 0 else "completed" if i % 5 == 0 else "running" for i in range(10_000)]
    with database.unit_of_work() as session:
        version = deploy(session, ROOT / "workflows" / "directive")
        session.execute(insert(Instance), rows(version, "directive", data, states))

    counted_in = [(d, s) for d, s in zip(data, states, strict=True) if s != "cancelled"]
    departments = Counter((d.get("lead_department") or "미지정") for d, _ in counted_in)
    closed = Counter((d.get("lead_department") or "미지정") for d, _ in counted_in if d.get("status") == "완료")
    statuses = Counter((d.get("status") or "추진중") for d, _ in counted_in)
    overdue = sum(expected_overdue(d) for d, _ in counted_in)
    assert 0 < overdue < len(counted_in)

    with database.unit_of_work() as session, counted(database, session) as statements:
        found = registry.register(session, "directive", NOW)
    assert len(statements) <= 4, statements  # the declaration, the figures, the matching count, the page
    assert found.total == found.matching == len(counted_in) == 9_980
    assert found.overall.as_dict() == {"total": 9_980, "closed": sum(closed.values()),
                                       "rate": round(100 * sum(closed.values()) / 9_980, 1)}
    assert {name: (rate.total, rate.closed) for name, rate in found.by_department.items()} == {
        name: (count, closed[name]) for name, count in sorted(departments.items())}
    assert found.by_department["도로과"].rate == round(100 * closed["도로과"] / departments["도로과"], 1)
    assert found.by_status == dict(statuses)
    assert found.overdue == overdue
    newest = [d for d, s in zip(data, states, strict=True) if s != "cancelled"][:50]
    assert [item["title"] for item in found.items] == [d["title"] for d in newest]
    assert [item["overdue"] for item in found.items] == [expected_overdue(d) for d in newest]

    wanted = [d for d, _ in counted_in
              if (d.get("lead_department") or "미지정") == "도로과" and (d.get("status") or "추진중") == "추진중"]
    with database.unit_of_work() as session, counted(database, session) as statements:
        roads = registry.register(session, "directive", NOW, limit=20, offset=20,
                                  filters={"department": "도로과", "status": "추진중", "overdue": True})
    assert len(statements) <= 4, statements
    late = [d for d in wanted if expected_overdue(d)]
    assert roads.matching == len(late) > 40
    assert [item["title"] for item in roads.items] == [d["title"] for d in late[20:40]]
    assert roads.next_offset == 40
    assert roads.total == 9_980  # the figures stay over every directive

    with database.unit_of_work() as session:
        on_time = registry.register(session, "directive", NOW, filters={"overdue": "false"}, limit=0)
        assert on_time.items == [] and on_time.overdue == overdue
        assert registry.register(session, "directive", NOW, filters={"overdue": "false"}).matching == 9_980 - overdue


def test_a_deadline_is_overdue_by_its_moment_whatever_its_offset(database: Database) -> None:
    deadlines = {
        "2026-12-07T08:59:00+09:00": True,     # 23:59 UTC the day before: its text sorts after NOW's
        "2026-12-07T09:01:00+09:00": False,
        "2026-12-06T19:30:00-05:00": False,    # 00:30 UTC: its text sorts before NOW's
        "2026-12-06T19:01:00-05:00": False,
        "2026-12-06T18:59:00-05:00": True,
        "2026-12-06T19:00:00.500-05:00": False,  # half a second after NOW
        "2026-12-06T23:59:59Z": True,
        "2026-12-07T00:00:00Z": False,          # not before NOW: due now, not overdue yet
        "2026-12-06": True,                     # a date alone: midnight UTC
        "2026-12-07": False,
        "2026-12-06T23:30": True,               # no offset: UTC
        "2026-02-30T10:00:00+09:00": True,      # no such day: read on into March, not an error
        "2026-13-01T10:00:00+09:00": False,     # unreadable: never overdue
        "어제": False,
        "18:00": False,
        "": False,
    }
    data = [{"title": text, "deadline": text, "status": "추진중"} for text in deadlines]
    data += [{"title": "number", "deadline": 20261206}, {"title": "closed", "deadline": "2026-01-01", "status": "완료"}]
    with database.unit_of_work() as session:
        version = deploy(session, ROOT / "workflows" / "directive")
        session.execute(insert(Instance), rows(version, "directive", data))
    with database.unit_of_work() as session:
        found = registry.register(session, "directive", NOW)
    flags = {item["title"]: item["overdue"] for item in found.items}
    assert flags == {**deadlines, "number": False, "closed": False}
    assert found.overdue == sum(deadlines.values())
    for text, late in deadlines.items():
        if text:  # Python agrees wherever it can read the text
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                continue
            assert (moment.replace(tzinfo=moment.tzinfo or UTC) < NOW) == late, text


def test_the_pledge_board_averages_declared_progress_and_counts_what_is_achieved(database: Database) -> None:
    pledges = [
        {"title": "보행안전", "department": "도로과", "category": "생활환경", "status": "완료", "progress": 100,
         "target_year": 2028, "milestones": [{"done": True}, {"done": True}]},
        {"title": "그늘막", "department": "환경정책과", "category": "생활환경", "status": "정상추진", "progress": 25,
         "target_year": 2027, "milestones": [{"done": True}, {}, {}, {}]},
        {"title": "작은도서관", "department": "복지정책과", "category": "문화", "status": "일부추진", "progress": 33.5,
         "target_year": 2028},
        {"title": "세부 미정", "department": "도로과", "category": "문화", "progress": "절반"},  # not a number: 0
        {"title": "등록 중"},  # waiting for its details: no status, no progress yet
    ]
    with database.unit_of_work() as session:
        version = deploy(session, ROOT / "workflows" / "pledge")
        session.execute(insert(Instance), rows(version, "pledge", pledges))
    with database.unit_of_work() as session, counted(database, session) as statements:
        board = registry.register(session, "pledge")
    assert len(statements) <= 4
    assert board.total == 5
    assert board.mean == round((100 + 25 + 33.5 + 0 + 0) / 5, 1) == 31.7
    assert board.overall.as_dict() == {"total": 5, "closed": 1, "rate": 20.0}  # 달성률: 완료 ÷ all
    assert board.by_status == {"완료": 1, "이행후계속추진": 0, "정상추진": 3, "일부추진": 1, "보류": 0, "폐기": 0}
    assert board.overdue is None  # a pledge has no deadline
    by_title = {item["title"]: item for item in board.items}
    assert (by_title["보행안전"]["progress"], by_title["보행안전"]["milestones"]) == (100, 2)
    assert (by_title["작은도서관"]["progress"], by_title["작은도서관"]["milestones"]) == (33.5, 0)
    assert by_title["세부 미정"]["progress"] == 0
    assert (by_title["등록 중"]["status"], by_title["등록 중"]["department"]) == ("정상추진", "미지정")

    with database.unit_of_work() as session:
        culture = registry.register(session, "pledge", filters={"category": "문화"})
        assert [item["title"] for item in culture.items] == ["작은도서관", "세부 미정"]
        roads = registry.register(session, "pledge", filters={"department": "도로과", "status": "완료"})
        assert [item["title"] for item in roads.items] == ["보행안전"]
        with pytest.raises(InvalidInput, match="no filter 'overdue'"):
            registry.register(session, "pledge", NOW, filters={"overdue": True})


def test_the_dashboard_counts_approvals_waiting_for_others_and_open_field_reports(database: Database) -> None:
    with database.unit_of_work() as session:
        approval = deploy(session, ROOT / "workflows" / "approval")
        field = deploy(session, ROOT / "workflows" / "field_report")
        documents = rows(approval, "approval", [{"title": "보도 정비 계획"}, {"title": "예산 요청"}],
                         initiator="roads.staff")
        session.execute(insert(Instance), documents)
        for number, (document, assignee) in enumerate([(documents[0], "roads.lead"), (documents[0], "roads.staff"),
                                                       (documents[1], None)]):
            session.add(OpenTask(id=str(uuid.uuid4()), instance_id=document["id"], process_key="approval",
                                 element_id="review", name="검토", lane=None, assignee=assignee, candidate_users=[],
                                 candidate_groups=[], form_key=None, claimed_by=None, opened_at=None,
                                 created_at=NOW - timedelta(days=3 - number), due_at=None))
        reports = [{"category": "도로파손"}, {"category": "도로파손"}, {"category": ""}, {"category": "쓰레기"}]
        session.execute(insert(Instance), rows(field, "field_report", reports,
                                               ["running", "running", "running", "completed"]))
    with database.unit_of_work() as session:
        waiting = registry.waiting_tasks(session, "approval", NOW)
        assert waiting.count == 2  # the drafter's own task is no approval waiting
        assert [(t["title"], t["assignee"], t["waiting_days"]) for t in waiting.oldest] == [
            ("보도 정비 계획", "roads.lead", 3), ("예산 요청", None, 1)]
        assert registry.open_by(session, "field_report", "category") == {"기타": 1, "도로파손": 2}
        with pytest.raises(ProcessNotFound):
            registry.register(session, "directive", NOW)  # not deployed here


# -- checked before deployment -----------------------------------------------------------------


def copy_of(tmp_path: Path, process: str) -> Path:
    return Path(shutil.copytree(ROOT / "workflows" / process, tmp_path / process))


def problems(folder: Path) -> list[str]:
    return [str(p) for p in definitions.check(definitions.read_source(folder)).problems]


def line_of(path: Path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if text in line)


def test_a_form_field_renamed_under_the_register_fails_validation_at_the_register_line(tmp_path: Path) -> None:
    folder = copy_of(tmp_path, "directive")
    for form in (folder / "forms").glob("*.json"):  # every form that has it (classify, 현장 지시)
        form.write_text(form.read_text(encoding="utf-8").replace('"lead_department"', '"main_department"'),
                        encoding="utf-8")
    line = line_of(folder / "register.json", '"key": "lead_department"')
    assert problems(folder) == [
        f"{folder / 'register.json'}:{line}: REGISTER_FIELD_UNKNOWN: field 'lead_department' is not a property of "
        "any form of the folder; rename it to the form's property, or list it under \"computed\" if a script sets it"
    ]


def test_a_computed_field_no_script_sets_fails_validation(tmp_path: Path) -> None:
    folder = copy_of(tmp_path, "directive")
    bpmn = folder / "directive.bpmn"
    bpmn.write_text(bpmn.read_text(encoding="utf-8").replace("closed_on =", "closed_date ="), encoding="utf-8")
    (problem,) = problems(folder)
    assert problem.startswith(f"{folder / 'register.json'}:{line_of(folder / 'register.json', 'closed_on')}: "
                              "REGISTER_COMPUTED_UNKNOWN: field 'closed_on' is listed as computed")


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d["status"].update(default="진행"), ("\"default\": \"진행\"", "default: '진행' is not one of the declared statuses")),
    (lambda d: d.update(deadline="title"), ("\"deadline\": \"title\"", "deadline: field 'title' is text, not date or datetime")),
    (lambda d: d.update(department="department"), ("\"department\": \"department\"", "department: 'department' is not a declared field")),
    (lambda d: d["filters"].append("urgency"), ("\"urgency\"", "filters: 'urgency' names neither a declared role nor a field")),
    (lambda d: d["fields"][0].update(type="string"), ("\"type\": \"string\"", "fields/0/type: 'string' is not one of")),
])
def test_a_declaration_that_contradicts_itself_is_named_with_its_line(
    tmp_path: Path, change: Any, expected: tuple[str, str]
) -> None:
    folder = copy_of(tmp_path, "directive")
    path = folder / "register.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    needle, message = expected
    problem = problems(folder)[0]
    assert problem.startswith(f"{path}:{line_of(path, needle)}: REGISTER_INVALID: {message}"), problem


def test_a_register_that_is_not_json_is_named_with_its_line(tmp_path: Path) -> None:
    folder = copy_of(tmp_path, "pledge")
    (folder / "register.json").write_text('{\n  "name": {"ko": "공약"},\n  "fields": [,]\n}\n', encoding="utf-8")
    (problem,) = problems(folder)
    assert problem.startswith(f"{folder / 'register.json'}:3: REGISTER_INVALID_JSON:")


def test_the_register_declaration_is_part_of_the_version() -> None:
    source = definitions.read_source(ROOT / "workflows" / "directive")
    assert registry.DECLARATION in source.files
    without = definitions.DefinitionSource(source.key, {n: c for n, c in source.files.items()
                                                        if n != registry.DECLARATION})
    assert without.hash != source.hash
