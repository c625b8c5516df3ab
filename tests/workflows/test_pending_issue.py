"""Pending issues (현안사항) run through the demo city hall: registered by a department or the planning office,
updated by the lead department on a rhythm its urgency sets, escalated to the department head and then the
bureau head when an update is late, and closed with a result — every step as its people through the HTTP API,
with time moved on the engine's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import lxml.html
import pytest

import tests.workflows.conftest as rig
from tests.api.conftest import seed
from tests.api.test_pages import log_in
from tests.workflows.conftest import City

FOLDER = Path(__file__).resolve().parents[2] / "workflows" / "pending_issue"
FIELD_REPORT = FOLDER.parent / "field_report"
MINUTE = timedelta(minutes=1)
# Registered at T0, Monday 2026-12-07 09:00 in Seoul; 중요 asks for an update every 5 working days.
WEEK_DUE = datetime(2026, 12, 14, 0, 0, tzinfo=UTC)     # Monday 2026-12-14 09:00 KST
BUREAU_DUE = datetime(2026, 12, 16, 0, 0, tzinfo=UTC)   # two working days later
LATE, LATE_2 = "[현안 보고 지연]", "[현안 보고 지연 2일]"


@pytest.fixture(autouse=True)
def _deploy_only_pending_issues(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rig deploys the pending issues and the field reports that raise them, nothing else."""
    monkeypatch.setattr(rig, "seed", lambda database: seed(database, [FOLDER, FIELD_REPORT]))


def register(city: City, who: str = "roads.staff", urgency: str = "중요", due_on: str = "2027-01-29",
             start: dict[str, Any] | None = None, **extra: Any) -> str:
    instance = city.api.start(who, "pending_issue", start or {})
    city.complete(who, instance["id"], "register_issue", {
        "title": "지하차도 침수 우려", "summary": "장마철마다 세류 지하차도 배수펌프 용량이 부족합니다.",
        "lead_department": "도로과", "support_departments": ["도로과", "교통정책과"], "urgency": urgency,
        "due_on": due_on, "related_cases": [{"case": "현장 보고 · 세류 지하차도 배수구 막힘"}], **extra})
    city.work()
    return str(instance["id"])


def data(city: City, iid: str) -> dict[str, Any]:
    result: dict[str, Any] = city.instance(iid)["data"]
    return result


def notices(city: City, username: str, iid: str, prefix: str) -> list[str]:
    items = city.api.call("GET", "/api/notifications", username).json()["items"]
    return sorted(n["title"] for n in items if n["instance_id"] == iid and n["title"].startswith(prefix))


def at(city: City, moment: datetime) -> Any:
    return city.later(seconds=(moment - city.clock.now).total_seconds())


def register_figures(city: City, username: str = "planning.staff", query: str = "") -> dict[str, Any]:
    answer = city.api.call("GET", f"/api/registers/pending_issue{query}", username)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_a_department_registers_an_issue_and_the_lead_department_is_asked_for_weekly_updates(city: City) -> None:
    iid = register(city)
    issue = data(city, iid)
    assert (issue["title"], issue["lead_department"], issue["urgency"]) == ("지하차도 침수 우려", "도로과", "중요")
    assert issue["support_departments"] == ["교통정책과"]  # the lead department is not also a supporter
    assert (issue["status"], issue["registered_by"], issue["update_rhythm"]) == ("진행중", "roads.staff", "매주")
    assert issue["next_update_by"] == "2026-12-14T09:00:00+09:00"
    assert issue["related_cases"] == [{"case": "현장 보고 · 세류 지하차도 배수구 막힘"}]
    task = city.task("roads.lead", iid, "update_issue")
    assert task["candidates"]["groups"] == ["도로과"]
    assert task["due_at"].startswith("2026-12-14T00:00")
    assert notices(city, "roads.chief", iid, "새 할 일: ") == ["새 할 일: 추진상황 보고"]
    assert not [t for t in city.tasks("traffic.staff") if t["instance_id"] == iid]
    figures = register_figures(city)
    assert figures["total"] == 1
    assert [item["id"] for item in figures["items"]] == [iid]
    assert city.verified()


def test_an_update_on_time_sets_the_next_one_a_rhythm_later_and_nobody_is_urged(city: City) -> None:
    iid = register(city)
    at(city, WEEK_DUE - timedelta(days=2))  # Saturday 12-12: the next five working days run to Friday 12-18
    city.complete("roads.lead", iid, "update_issue", {"status_report": "배수펌프 증설 설계 착수", "resolved": False})
    city.work()
    issue = data(city, iid)
    assert [(u["round"], u["report"], u["by"]) for u in issue["updates"]] == [(1, "배수펌프 증설 설계 착수", "roads.lead")]
    assert issue["next_update_by"] == "2026-12-21T09:00:00+09:00"
    at(city, BUREAU_DUE + MINUTE)  # past the first rhythm's deadlines: they went with the answered task
    assert notices(city, "roads.chief", iid, LATE) == []
    assert notices(city, "safety.director", iid, LATE) == []
    assert city.open_elements(iid) == ["update_issue"]
    assert city.verified()


def test_a_stale_issue_is_told_to_the_department_head_then_the_bureau_head(city: City) -> None:
    iid = register(city)
    at(city, WEEK_DUE - MINUTE)
    assert notices(city, "roads.chief", iid, LATE) == []
    at(city, WEEK_DUE + MINUTE)
    assert notices(city, "roads.chief", iid, LATE) == ["[현안 보고 지연] 지하차도 침수 우려"]
    assert notices(city, "roads.lead", iid, LATE) == []
    assert notices(city, "safety.director", iid, "[현안") == []
    (task,) = [t for t in city.tasks("roads.staff") if t["instance_id"] == iid]
    assert task["overdue"] is True
    at(city, BUREAU_DUE - MINUTE)
    assert notices(city, "safety.director", iid, "[현안") == []
    at(city, BUREAU_DUE + MINUTE)
    assert notices(city, "safety.director", iid, "[현안") == ["[현안 보고 지연 2일] 지하차도 침수 우려"]
    assert notices(city, "welfare.director", iid, "[현안") == []
    assert notices(city, "roads.chief", iid, LATE_2) == []
    escalated = [(r["element_id"], r["actor"]) for r in city.trail(iid) if r["action"] == "task.completed"
                 and r["element_id"].startswith("escalate_")]
    assert escalated == [("escalate_head", "system:worker"), ("escalate_bureau", "system:worker")]
    # the late update is still welcome and restarts the rhythm
    city.complete("roads.staff", iid, "update_issue", {"status_report": "펌프 임차 계약 중"})
    city.work()
    assert data(city, iid)["next_update_by"] == "2026-12-23T09:01:00+09:00"  # five working days after the update
    assert city.verified()


def test_an_urgent_issue_is_updated_every_working_day(city: City) -> None:
    iid = register(city, urgency="긴급")
    issue = data(city, iid)
    assert (issue["update_rhythm"], issue["next_update_by"]) == ("매일", "2026-12-08T09:00:00+09:00")
    at(city, datetime(2026, 12, 8, 0, 1, tzinfo=UTC))
    assert notices(city, "roads.chief", iid, LATE) == ["[현안 보고 지연] 지하차도 침수 우려"]
    assert city.verified()


def test_a_resolved_issue_closes_with_its_result_and_the_registrar_is_told(city: City) -> None:
    iid = register(city, who="planning.staff", urgency="보통")
    assert data(city, iid)["update_rhythm"] == "격주"
    at(city, datetime(2026, 12, 10, 1, 0, tzinfo=UTC))
    city.complete("roads.lead", iid, "update_issue", {"status_report": "임시 펌프 2대 배치", "resolved": False})
    city.work()
    at(city, datetime(2026, 12, 17, 1, 0, tzinfo=UTC))
    city.complete("roads.lead", iid, "update_issue", {"status_report": "증설 공사 준공", "resolved": True})
    city.work()
    assert city.open_elements(iid) == ["resolve_issue"]
    task = city.task("roads.chief", iid, "resolve_issue")
    refused = city.api.call("POST", f"/api/tasks/{task['id']}/complete", "roads.chief", json={"data": {}})
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["errors"]} == {"result", "resolved_on"}
    city.complete("roads.chief", iid, "resolve_issue", {"result": "배수펌프 2대 증설, 시간당 80mm 대응",
                                                        "resolved_on": "2026-12-17"})
    city.work()
    issue = data(city, iid)
    assert (issue["status"], issue["resolved_on"], issue["next_update_by"]) == ("해결", "2026-12-17", None)
    assert [u["report"] for u in issue["updates"]] == ["임시 펌프 2대 배치", "증설 공사 준공"]
    assert city.instance(iid)["status"] == "completed"
    assert notices(city, "planning.staff", iid, "[현안 해결]") == ["[현안 해결] 지하차도 침수 우려"]
    figures = register_figures(city)
    assert figures["by_status"].get("해결") == 1
    assert figures["overall"]["rate"] == 100.0
    assert city.verified()


def test_an_issue_past_its_target_date_counts_as_overdue_for_its_department_until_resolved(city: City) -> None:
    late = register(city, due_on="2026-12-09")
    register(city, due_on="2027-03-31")
    at(city, datetime(2026, 12, 10, 1, 0, tzinfo=UTC))
    figures = register_figures(city, query="?overdue=true")
    assert figures["overdue"] == 1
    assert [item["id"] for item in figures["items"]] == [late]
    by_department = register_figures(city, query="?department=도로과")
    assert by_department["matching"] == 2
    assert city.verified()


def test_a_field_report_can_raise_an_issue_that_names_it_among_the_related_cases(city: City) -> None:
    raised = {"title": "세류 지하차도 배수 불량", "lead_department": "도로과",
              "raised_from": {"id": "FR-0412", "title": "세류 지하차도 배수구 막힘", "process": "field_report"}}
    instance = city.api.start("roads.lead", "pending_issue", raised)
    prefilled = data(city, instance["id"])
    assert (prefilled["title"], prefilled["lead_department"]) == ("세류 지하차도 배수 불량", "도로과")
    assert prefilled["related_cases"] == [{"case": "FR-0412 세류 지하차도 배수구 막힘"}]
    assert prefilled["status"] == "등록"
    assert city.verified()


def test_any_case_is_registered_as_an_issue_from_its_page_and_the_issue_links_back_to_it(city: City) -> None:
    from tests.workflows.test_field_report import file_report

    report_id = file_report(city)
    client = city.api.client
    assert log_in(client, "roads.lead").status_code == 303  # type: ignore[attr-defined]
    case_page = lxml.html.fromstring(client.get(f"/instances/{report_id}").text)
    (link,) = case_page.xpath("//a[normalize-space()='현안사항으로 등록']")
    start_page = lxml.html.fromstring(client.get(link.get("href")).text)
    title = city.instance(report_id)["data"]["title"]
    assert start_page.xpath("//input[@name='title']/@value") == ["현장행정 처리 · " + title]  # the process's name
    answer = client.post("/processes/pending_issue/start", data={
        "csrf_token": start_page.xpath("//input[@name='csrf_token']/@value")[0],
        "title": "현장행정 처리 · " + title, "from_case": report_id}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    (issue,) = city.api.call("GET", "/api/registers/pending_issue", "roads.lead").json()["items"]
    prefilled = data(city, issue["id"])
    assert prefilled["raised_from"]["instance_id"] == report_id
    assert prefilled["related_cases"][0] == {"case": "현장행정 처리 " + title}
    assert city.open_elements(issue["id"]) == ["register_issue"]
    issue_page = lxml.html.fromstring(client.get(f"/instances/{issue['id']}").text)
    assert issue_page.xpath(f"//a[@href='/instances/{report_id}']")  # the issue leads back to the report
    assert not issue_page.xpath("//a[normalize-space()='현안사항으로 등록']")  # an issue raises no issue
    assert city.verified()

