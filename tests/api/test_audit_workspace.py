"""The auditor's workspace as an auditor uses it: find records by case, person, department, action and
city days; page through them newest first with their count; export them as the CLI does; read a case's
trail as a short timeline in words, the system's steps folded until asked for; every reading on record;
staff kept out."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import lxml.html
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from api.app import create_app
from engine import audit, identity, trail
from engine.clock import MovableClock
from engine.config import Settings
from engine.context import EngineContext
from engine.db import Database
from engine.errors import NotAllowed
from engine.models import AuditRecord
from tests.api.conftest import Api, seed
from tests.api.test_pages import log_in

SEOUL = ZoneInfo("Asia/Seoul")
REVIEW = {"accepted": True, "category": "도로", "review_comment": "현장 확인 후 채택"}


class Hall:
    """The demo city hall on a clock the test moves; the API for acting, a browser session for reading."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database, self.settings = database, settings
        self.clock = MovableClock(datetime(2027, 3, 2, 1, 0, tzinfo=UTC))
        seed(database)
        self.app = create_app(settings, database, EngineContext.create(clock=self.clock))
        self.api = Api(TestClient(self.app))
        self.web = TestClient(self.app)

    def suggestion(self, title: str, by: str = "roads.staff") -> str:
        instance = self.api.start(by, "suggestion", {"title": title, "supporters": 12})
        return str(instance["id"])

    def review(self, instance_id: str, by: str = "planning.staff", data: dict[str, Any] | None = None) -> None:
        task = self.open_task(instance_id)
        answer = self.api.call("POST", f"/api/tasks/{task}/complete", by, json={"data": data or REVIEW})
        assert answer.status_code == 200, answer.text

    def open_task(self, instance_id: str) -> str:
        (task,) = self.api.call("GET", f"/api/instances/{instance_id}", "auditor").json()["tasks"]
        return str(task["id"])

    def reader(self, username: str = "auditor") -> TestClient:
        self.web.cookies.clear()
        assert log_in(self.web, username).status_code == 303  # type: ignore[attr-defined]
        return self.web

    def records(self, **where: Any) -> list[AuditRecord]:
        with self.database.unit_of_work() as session:
            query = select(AuditRecord).order_by(AuditRecord.id)
            for name, value in where.items():
                query = query.where(getattr(AuditRecord, name) == value)
            return list(session.execute(query).scalars())


@pytest.fixture
def hall(database: Database, settings: Settings) -> Hall:
    return Hall(database, settings)


def rows(html: str) -> list[lxml.html.HtmlElement]:
    return lxml.html.fromstring(html).xpath("//ol[@class='cf-audit-list']/li[contains(@class, 'cf-audit-row')]")


def text_of(element: Any) -> str:
    return " ".join(element.text_content().split())


def total(html: str) -> str:
    return text_of(lxml.html.fromstring(html).xpath("//*[@class='cf-audit-summary']//strong")[0])


def timeline(html: str) -> list[str]:
    return [text_of(li) for li in lxml.html.fromstring(html).xpath("//ol[@class='cf-timeline']/li")]


# -- finding records ---------------------------------------------------------------------------------


def test_an_auditor_finds_a_case_by_its_title_and_each_row_leads_to_its_trail(hall: Hall) -> None:
    shade = hall.suggestion("버스정류장 그늘막 설치")
    hall.suggestion("경로당 겨울 난방비 지원")
    web = hall.reader()

    found = web.get("/audit", params={"case": "그늘막"})
    assert found.status_code == 200
    listed = rows(found.text)
    assert listed and all("버스정류장 그늘막 설치" in text_of(row) for row in listed)
    assert total(found.text) == f"기록 {len(hall.records(chain=shade))}건"
    links = {str(href).split("#")[0] for row in listed for href in row.xpath(".//a/@href")}
    assert links == {f"/audit/cases/{shade}"}
    assert "김주무관 (도로과)" in found.text  # who started it, by name, position and department
    assert "roads.staff" not in text_of(lxml.html.fromstring(found.text))
    by_number = web.get("/audit", params={"case": shade})
    assert total(by_number.text) == total(found.text)


def test_records_are_found_by_the_name_of_who_acted_and_by_their_department(hall: Hall) -> None:
    case = hall.suggestion("횡단보도 조명 개선")
    hall.review(case)
    hall.suggestion("공원 벤치 교체", by="welfare.staff")
    web = hall.reader()

    by_name = rows(web.get("/audit", params={"person": "정책기획 주무관"}).text)
    assert by_name and all(text_of(row).startswith("2027-03-02") for row in by_name)
    assert all("정책기획 주무관 (기획조정실)" in text_of(row) for row in by_name)
    assert any("제안 검토" in text_of(row) for row in by_name)

    roads = rows(web.get("/audit", params={"department": "도로과"}).text)
    assert roads and all("김주무관" in text_of(row) for row in roads)
    bureau = rows(web.get("/audit", params={"department": "안전교통국"}).text)  # the bureau and its departments
    assert [text_of(row) for row in bureau] == [text_of(row) for row in roads]
    welfare = rows(web.get("/audit", params={"department": "복지환경국"}).text)
    assert welfare and all("박주무관" in text_of(row) for row in welfare)
    assert rows(web.get("/audit", params={"person": "없는 사람"}).text) == []


def test_actions_are_chosen_by_their_names_in_korean_and_in_english(hall: Hall) -> None:
    hall.review(hall.suggestion("횡단보도 조명 개선"))
    web = hall.reader()

    korean = lxml.html.fromstring(web.get("/audit").text)
    options = {text_of(o): o.get("value") for o in korean.xpath("//select[@name='action']/option")}
    assert options["처리"] == "task.completed"
    assert options["시작"] == "instance.created"
    english = lxml.html.fromstring(web.get("/audit", params={"lang": "en"}).text)
    options_en = {text_of(o): o.get("value") for o in english.xpath("//select[@name='action']/option")}
    assert options_en["completed"] == "task.completed"

    completed = web.get("/audit", params={"action": options["처리"], "lang": "ko"}).text
    listed = rows(completed)
    assert listed and all(text_of(row.xpath(".//*[@class='cf-action']")[0]) == "처리" for row in listed)
    assert total(completed) == f"기록 {len(hall.records(action='task.completed'))}건"


def test_the_days_searched_are_the_city_s_days(hall: Hall) -> None:
    hall.clock.set(datetime(2027, 3, 1, 23, 30, tzinfo=SEOUL))  # 14:30 UTC on 1 March
    late = hall.suggestion("밤늦게 접수된 제안")
    hall.clock.set(datetime(2027, 3, 2, 0, 30, tzinfo=SEOUL))  # 15:30 UTC, still 1 March in UTC
    early = hall.suggestion("자정 지나 접수된 제안")
    web = hall.reader()

    second = web.get("/audit", params={"first_day": "2027-03-02", "last_day": "2027-03-02", "action": "instance.created"})
    assert len(rows(second.text)) == 1 and "자정 지나" in text_of(rows(second.text)[0])
    first = web.get("/audit", params={"last_day": "2027-03-01", "action": "instance.created"})
    assert len(rows(first.text)) == 1 and "밤늦게" in text_of(rows(first.text)[0])
    assert "2027-03-01 23:30:00" in text_of(rows(first.text)[0])  # shown on the city's clock
    assert "KST (Asia/Seoul)" in first.text
    backwards = web.get("/audit", params={"first_day": "2027-03-02", "last_day": "2027-03-01"})
    assert "종료일이 시작일보다 앞섭니다." in backwards.text
    assert {late, early} <= {r.chain for r in hall.records(action="instance.created")}


def test_records_come_newest_first_a_page_at_a_time_with_the_count_of_all(hall: Hall) -> None:
    for n in range(10):
        hall.clock.advance(minutes=1)
        hall.suggestion(f"제안 {n}")
    everything = hall.records()
    web = hall.reader()

    first = web.get("/audit")
    assert total(first.text) == f"기록 {len(everything)}건"
    assert len(rows(first.text)) == trail.PAGE
    times = [row.xpath(".//time/@datetime")[0] for row in rows(first.text)]
    assert times == sorted(times, reverse=True)
    older = lxml.html.fromstring(first.text).xpath("//a[@rel='next']/@href")[0]
    second = web.get(str(older))
    assert total(second.text) == total(first.text)
    assert "51–" in text_of(lxml.html.fromstring(second.text).xpath("//*[@class='cf-audit-summary']")[0])
    assert len(rows(second.text)) == min(trail.PAGE, len(everything) - trail.PAGE)
    assert rows(second.text)[0].xpath(".//time/@datetime")[0] <= times[-1]

    with hall.database.unit_of_work() as session:
        auditor = identity.principal(session, identity.get_user(session, "auditor"))
        ids, cursor = [], None
        while True:
            page = trail.search(session, auditor, trail.Search(), SEOUL, cursor=cursor, limit=7)
            assert page.total == len(everything)
            ids += [found.record["id"] for found in page.rows]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert ids == sorted((r.id for r in everything), reverse=True)


# -- exporting -----------------------------------------------------------------------------------------


def cli_export(database: Database, instance_id: str, fmt: str) -> str:
    with database.unit_of_work() as session:
        return "".join(audit.export(audit.records(session, instance_id), fmt))


def test_a_search_and_a_case_export_as_csv_and_jsonl_with_the_cli_s_fields(hall: Hall) -> None:
    case = hall.suggestion("버스정류장 그늘막 설치")
    hall.review(case)
    hall.suggestion("경로당 겨울 난방비 지원")
    web = hall.reader()

    found = web.get("/audit/export.csv", params={"case": "그늘막"})
    assert found.status_code == 200
    assert found.headers["content-type"].startswith("text/csv")
    assert "attachment" in found.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(found.content.decode("utf-8-sig"))))
    assert tuple(table[0]) == audit.EXPORT_FIELDS
    assert [row[audit.EXPORT_FIELDS.index("chain")] for row in table[1:]] == [case] * len(hall.records(chain=case))
    ids = [int(row[0]) for row in table[1:]]
    assert ids == sorted(ids)

    lines = web.get("/audit/export.jsonl", params={"case": "그늘막", "action": "task.completed",
                                                   "by": "people"}).text.splitlines()
    parsed = [json.loads(line) for line in lines]
    assert [tuple(item) for item in parsed] == [audit.EXPORT_FIELDS]
    assert parsed[0]["changes"]["category"] == [None, "도로"]
    exported = hall.records(action=trail.EXPORTED)
    assert [(r.actor, r.detail) for r in exported] == [
        ("auditor", {"as": "csv", "search": {"case": "그늘막"}}),
        ("auditor", {"as": "jsonl", "search": {"case": "그늘막", "action": "task.completed", "by": "people"}}),
    ]

    for fmt in ("csv", "jsonl"):
        answer = web.get(f"/audit/cases/{case}/export.{fmt}")
        assert answer.status_code == 200
        body = answer.content.decode("utf-8-sig")
        assert body == cli_export(hall.database, case, fmt)  # the CLI's lines, this reading among them
        assert json.dumps({"as": fmt}) in body or f'{{""as"": ""{fmt}""}}' in body


def test_an_export_is_read_a_page_at_a_time_and_holds_the_trail_as_it_stood(hall: Hall) -> None:
    for n in range(3):
        hall.suggestion(f"제안 {n}")
    before = hall.records()
    rows_out = trail.export_search(hall.database, trail.Search(), SEOUL, batch=4)
    first = next(rows_out)
    hall.suggestion("내보내는 중에 들어온 제안")
    rest = list(rows_out)
    assert [first["id"], *(r["id"] for r in rest)] == [r.id for r in before]
    assert list(first) == list(audit.EXPORT_FIELDS)


# -- a case's timeline -----------------------------------------------------------------------------


def test_the_timeline_folds_the_system_s_steps_until_asked_and_says_how_many(hall: Hall) -> None:
    case = hall.suggestion("횡단보도 조명 개선")
    hall.review(case)
    web = hall.reader()

    short = web.get(f"/audit/cases/{case}")
    assert short.status_code == 200
    entries = timeline(short.text)
    assert any("제안 검토 · 처리" in e and "정책기획 주무관 (기획조정실)" in e for e in entries)
    assert any("처리 결과 등록 · 대기" in e and "담당: 담당부서" in e for e in entries)
    for engine_step in ("채택?", "담당부서 지정", "우선순위 산정", "제안 접수"):
        assert engine_step not in short.text
    assert "시스템 처리 단계도 보기" in short.text
    assert len(entries) < len(hall.records(chain=case))

    everything = web.get(f"/audit/cases/{case}", params={"steps": "all"})
    shown = timeline(everything.text)
    for engine_step in ("채택?", "담당부서 지정", "우선순위 산정"):
        assert any(engine_step in e and "시스템 처리" in e for e in shown)
    assert len(shown) == len(hall.records(chain=case))
    assert "사람의 처리만 보기" in everything.text
    english = timeline(web.get(f"/audit/cases/{case}", params={"lang": "en"}).text)
    assert any("Record outcome · waiting for" in e and "For Responsible department" in e for e in english)


def test_changes_read_as_labelled_values_never_as_keys_reprs_or_empty_pairs(hall: Hall) -> None:
    case = hall.suggestion("횡단보도 조명 개선")
    hall.review(case, data={"accepted": True, "category": "도로", "review_comment": ""})
    page = lxml.html.fromstring(hall.reader().get(f"/audit/cases/{case}").text)
    review = next(li for li in page.xpath("//ol[@class='cf-timeline']/li") if "제안 검토 · 처리" in text_of(li))
    changes = {text_of(dt): text_of(dd) for dt, dd in zip(review.xpath(".//dt"), review.xpath(".//dd"), strict=True)}
    assert changes == {"채택": "예", "분야": "도로"}
    text = text_of(page)
    for raw in ("True", "None", "accepted", "review_comment", "— → —", "\\u"):
        assert raw not in text


def test_a_deputys_act_reads_as_one_colleague_for_another(hall: Hall) -> None:
    case = hall.suggestion("횡단보도 조명 개선", by="planning.staff")
    task = hall.open_task(case)
    hall.api.call("POST", f"/api/tasks/{task}/delegate", "planning.staff", json={"user": "planning.lead"})
    now = datetime.now(UTC)
    with hall.database.unit_of_work() as session:
        identity.add_absence(session, "planning.lead", "planning.chief", "휴가", now - timedelta(hours=1),
                             now + timedelta(days=1), actor="admin")
    done = hall.api.call("POST", f"/api/tasks/{task}/complete", "planning.chief", json={"data": REVIEW})
    assert done.status_code == 200, done.text
    web = hall.reader()

    entries = timeline(web.get(f"/audit/cases/{case}").text)
    acted = next(e for e in entries if "제안 검토 · 처리" in e)
    assert "기획조정실장 (국장, 기획조정실) — 정책기획팀장 (기획조정실) 대결" in acted
    english = timeline(web.get(f"/audit/cases/{case}", params={"lang": "en"}).text)
    acted_en = next(e for e in english if "Review suggestion · completed" in e)
    assert "기획조정실장 (국장, 기획조정실) for 정책기획팀장 (기획조정실)" in acted_en


def test_each_reading_of_a_case_is_itself_on_the_case_s_record(hall: Hall) -> None:
    case = hall.suggestion("횡단보도 조명 개선")
    web = hall.reader()
    web.get(f"/audit/cases/{case}")
    page = web.get(f"/audit/cases/{case}", params={"steps": "all"})
    web.get(f"/audit/cases/{case}/export.csv")

    readings = hall.records(chain=case, action=trail.VIEWED)
    assert [(r.actor, r.detail) for r in readings] == [
        ("auditor", {"as": "page"}), ("auditor", {"as": "page"}), ("auditor", {"as": "csv"})]
    assert "열람" in timeline(page.text)[-1] and "감사관 (과장, 기획조정실)" in timeline(page.text)[-1]
    assert "이 건의 기록" in page.text and "모두 검증되었습니다" in page.text  # the chain, readings included, verifies
    web.get(f"/audit/cases/{case}")
    again = timeline(web.get(f"/audit/cases/{case}").text)
    assert "2회 열람" in again[-1]  # one reading right after another is one entry
    assert sum("열람" in entry for entry in again) == 3  # page and page · the export · page and page
    admin = hall.reader("admin")
    assert admin.get(f"/audit/cases/{case}").status_code == 200
    assert hall.records(chain=case, action=trail.VIEWED)[-1].actor == "admin"


def test_staff_are_kept_out_of_the_auditor_s_workspace_and_leave_no_reading(hall: Hall) -> None:
    case = hall.suggestion("횡단보도 조명 개선")
    web = hall.reader("roads.staff")
    for path in ("/audit", f"/audit/cases/{case}", f"/audit/cases/{case}/export.csv", "/audit/export.jsonl",
                 "/audit/verify"):
        assert web.get(path).status_code == 403, path
    assert hall.records(action=trail.VIEWED) == []
    assert hall.records(action=trail.EXPORTED) == []
    with hall.database.unit_of_work() as session:
        staff = identity.principal(session, identity.get_user(session, "roads.staff"))
        with pytest.raises(NotAllowed, match="auditor"):
            trail.view_case(session, staff, case)
        with pytest.raises(NotAllowed, match="auditor"):
            trail.search(session, staff, trail.Search(), SEOUL)
        assert session.execute(select(func.count()).select_from(AuditRecord)
                               .where(AuditRecord.action == trail.VIEWED)).scalar_one() == 0


def test_records_of_no_case_name_whom_or_what_they_are_about(hall: Hall) -> None:
    now = datetime.now(UTC)
    with hall.database.unit_of_work() as session:
        identity.add_absence(session, "roads.chief", "roads.lead", "출장", now, now + timedelta(days=1), actor="admin")
    web = hall.reader()
    absence = [text_of(row) for row in rows(web.get("/audit", params={"action": "absence.added"}).text)]
    assert len(absence) == 1
    assert "시스템 관리자" in absence[0] and "시스템 기록 · 김과장 (도로과) · 대결자: 김팀장 (도로과)" in absence[0]
    deployed = [text_of(row) for row in rows(web.get("/audit", params={"action": "process.deployed"}).text)]
    assert any("시스템 기록 · 시민제안 처리 v1" in row for row in deployed)


def test_a_case_says_whether_its_chain_verifies_and_which_checkpoint_and_anchor_hold_it(hall: Hall) -> None:
    case = hall.suggestion("횡단보도 조명 개선")
    web = hall.reader()
    before = lxml.html.fromstring(web.get(f"/audit/cases/{case}").text)
    integrity = text_of(before.xpath("//section[@class='cf-integrity']")[0])
    assert "아직 이 건을 담은 체크포인트가 없습니다" in integrity
    assert "앵커 기록에 아직 아무 줄도 없습니다" in integrity

    signed = len(hall.records(chain=case))
    with hall.database.unit_of_work() as session:
        audit.write_checkpoint(session, audit.keyring(hall.settings))
    with hall.database.unit_of_work() as session:
        assert audit.anchor(session, hall.settings) == 1
    after = lxml.html.fromstring(web.get(f"/audit/cases/{case}").text)
    integrity = text_of(after.xpath("//section[@class='cf-integrity']")[0])
    assert f"기록 #1–#{signed} 서명됨" in integrity
    assert f"#{signed + 1} 이후 기록은 다음 체크포인트에 담깁니다" in integrity  # this reading, not yet signed
    assert "앵커 기록은 1분 이내에 마지막으로 쓰였습니다" in integrity
    assert "모두 검증되었습니다" in integrity

    with hall.database.unit_of_work() as session:  # an attacker with the database, without the key
        session.execute(text("UPDATE audit_records SET actor = 'welfare.staff' WHERE chain = :case AND seq = 1"),
                        {"case": case})
    broken = lxml.html.fromstring(web.get(f"/audit/cases/{case}").text)
    alert = text_of(broken.xpath("//section[@class='cf-integrity']//*[@role='alert']")[0])
    assert "이 건의 기록이 검증되지 않습니다" in alert and "#1" in alert
    assert "기록의 내용이 해시와 맞지 않습니다: 누군가 기록을 바꿨습니다" in alert  # what was found, in Korean
    english = web.get(f"/audit/cases/{case}", params={"lang": "en"}).text
    assert "a record's content does not match its hash: it was changed" in english
