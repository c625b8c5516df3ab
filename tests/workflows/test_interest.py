"""The mayor's items of interest (관심사항) run through the demo city hall: the mayor marks a topic, place or
case, the responsible department reports on it on a rhythm (late reports are told to its head) until the
mayor closes it, and the mayor sees them together, the newest report first — as its people through the HTTP
API and the page, with time moved on the engine's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import tests.workflows.conftest as rig
from tests.api.conftest import seed
from tests.api.test_pages import log_in
from tests.workflows.conftest import City

FOLDER = Path(__file__).resolve().parents[2] / "workflows" / "interest"
MINUTE = timedelta(minutes=1)
WEEK_DUE = datetime(2026, 12, 14, 0, 0, tzinfo=UTC)  # 5 working days after Monday 2026-12-07 09:00 KST


@pytest.fixture(autouse=True)
def _deploy_only_interests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rig, "seed", lambda database: seed(database, [FOLDER]))


def mark(city: City, subject: str = "수원천 산책로 야간 조명", department: str = "도로과", rhythm: str = "매주",
         kind: str = "장소", **extra: Any) -> str:
    instance = city.api.start("mayor", "interest", {})
    city.complete("mayor", instance["id"], "mark_interest", {
        "subject": subject, "kind": kind, "note": "어두운 구간과 정비 계획을 알려 주세요.", "place": "수원천 매교~지동교 구간",
        "department": department, "rhythm": rhythm, **extra})
    city.work()
    return str(instance["id"])


def report(city: City, iid: str, text: str, who: str = "roads.lead") -> None:
    city.complete(who, iid, "report_interest", {"report": text})
    city.work()


def data(city: City, iid: str) -> dict[str, Any]:
    result: dict[str, Any] = city.instance(iid)["data"]
    return result


def notices(city: City, username: str, iid: str, prefix: str) -> list[str]:
    items = city.api.call("GET", "/api/notifications", username).json()["items"]
    return sorted(n["title"] for n in items if n["instance_id"] == iid and n["title"].startswith(prefix))


def at(city: City, moment: datetime) -> Any:
    return city.later(seconds=(moment - city.clock.now).total_seconds())


def page(city: City, username: str = "mayor", query: str = "") -> str:
    """The 관심사항 page as ``username`` reads it after logging in on the web."""
    client = city.api.client
    assert log_in(client, username).status_code == 303  # type: ignore[attr-defined]
    try:
        answer = client.get(f"/interests{query}")
        assert answer.status_code == 200, answer.text
        return str(answer.text)
    finally:
        client.cookies.clear()


def test_the_mayor_marks_a_place_and_its_department_is_asked_for_weekly_reports(city: City) -> None:
    iid = mark(city)
    item = data(city, iid)
    assert (item["subject"], item["kind"], item["department"], item["status"]) == (
        "수원천 산책로 야간 조명", "장소", "도로과", "보고중")
    assert (item["marked_by"], item["report_days"], item["next_report_by"]) == ("mayor", 5, "2026-12-14T09:00:00+09:00")
    task = city.task("roads.staff", iid, "report_interest")
    assert task["candidates"]["groups"] == ["도로과"]
    assert notices(city, "roads.chief", iid, "새 할 일: ") == ["새 할 일: 관심사항 보고"]
    # closing is the mayor's standing option, not a to-do in an inbox
    assert not [t for t in city.tasks("mayor") if t["instance_id"] == iid]
    assert city.task("mayor", iid, "close_interest")["standing"] is True
    assert "수원천 산책로 야간 조명" in page(city)
    assert city.verified()


def test_each_report_reaches_the_mayor_and_the_page_shows_the_newest_report_first(city: City) -> None:
    lights = mark(city)
    market = mark(city, subject="지동시장 주차 민원", department="교통정책과", rhythm="격주", kind="주제")
    assert data(city, market)["report_days"] == 10
    at(city, datetime(2026, 12, 8, 1, 0, tzinfo=UTC))
    report(city, market, "공영주차장 30면 추가 부지 검토 중", who="traffic.staff")
    at(city, datetime(2026, 12, 9, 1, 0, tzinfo=UTC))
    report(city, lights, "어두운 구간 4곳 확인, LED 24기 교체 발주")
    item = data(city, lights)
    assert [(r["round"], r["report"], r["by"]) for r in item["reports"]] == [(1, "어두운 구간 4곳 확인, LED 24기 교체 발주", "roads.lead")]
    assert item["next_report_by"] == "2026-12-16T10:00:00+09:00"  # the rhythm runs from the report
    assert notices(city, "mayor", lights, "[관심사항 보고]") == ["[관심사항 보고] 수원천 산책로 야간 조명"]
    assert city.open_elements(lights) == ["close_interest", "report_interest"]
    shown = page(city)
    assert shown.index("LED 24기 교체 발주") < shown.index("공영주차장 30면")  # the newest report first
    at(city, datetime(2026, 12, 10, 1, 0, tzinfo=UTC))
    report(city, market, "부지 확정, 내년 3월 착공", who="traffic.staff")
    shown = page(city)
    assert shown.index("내년 3월 착공") < shown.index("LED 24기 교체 발주")
    assert "공영주차장 30면" not in shown  # only each item's latest report
    assert city.verified()


def test_a_late_report_is_told_to_the_department_head(city: City) -> None:
    iid = mark(city)
    at(city, WEEK_DUE - MINUTE)
    assert notices(city, "roads.chief", iid, "[관심사항 보고 지연]") == []
    at(city, WEEK_DUE + MINUTE)
    assert notices(city, "roads.chief", iid, "[관심사항 보고 지연]") == ["[관심사항 보고 지연] 수원천 산책로 야간 조명"]
    assert notices(city, "roads.staff", iid, "[관심사항") == []
    (task,) = [t for t in city.tasks("roads.staff") if t["instance_id"] == iid]
    assert task["overdue"] is True
    urged = [(r["element_id"], r["actor"]) for r in city.trail(iid) if r["action"] == "task.completed"
             and r["element_id"] == "urge_head"]
    assert urged == [("urge_head", "system:worker")]
    assert city.verified()


def test_only_the_mayor_closes_an_item_and_then_the_reports_stop(city: City) -> None:
    iid = mark(city)
    report(city, iid, "현장 점검 완료")
    close = city.task("mayor", iid, "close_interest")
    refused = city.api.call("POST", f"/api/tasks/{close['id']}/complete", "roads.chief",
                            json={"data": {"closing_note": "끝"}})
    assert refused.status_code in (403, 404)
    city.complete("mayor", iid, "close_interest", {"closing_note": "정비 계획대로 진행하세요. 보고는 그만 받겠습니다."})
    city.work()
    item = data(city, iid)
    assert (item["status"], item["closed_on"], item["next_report_by"]) == ("종결", "2026-12-07", None)
    assert city.instance(iid)["status"] == "completed"
    assert city.open_elements(iid) == []
    assert not [t for t in city.tasks("roads.staff") if t["instance_id"] == iid]
    assert notices(city, "roads.staff", iid, "[관심사항 종결]") == ["[관심사항 종결] 수원천 산책로 야간 조명"]
    at(city, WEEK_DUE + timedelta(days=7))  # no report is asked for, nobody is urged
    assert notices(city, "roads.chief", iid, "[관심사항 보고 지연]") == []
    assert "수원천 산책로 야간 조명" not in page(city)
    assert "수원천 산책로 야간 조명" in page(city, query="?closed=1")
    assert city.verified()


def test_the_page_reads_in_english_with_the_items_words(city: City) -> None:
    mark(city, subject="Night lights on the Suwon stream")
    shown = page(city, query="?lang=en")
    assert "Items of interest" in shown and "Place" in shown and "Reporting" in shown
