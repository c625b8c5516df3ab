"""The city's key indicators (시정현황 핵심 지표) run through the demo city hall: registered with their unit,
owner department, direction, schedule and targets; a timer opens the value entry for the owner department
when each period ends; a value on target, near it or off it is judged, and an off-target value tells the
head of the department, asks the department why, and offers to raise a pending issue (현안사항); a late
value is told to the head; the planning office retires an indicator — every step as its people through
the HTTP API and the pages, with time moved on the engine's clock, and the audit trail whole."""

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

FOLDER = Path(__file__).resolve().parents[2] / "workflows" / "indicator"
ISSUES = FOLDER.parent / "pending_issue"
MINUTE = timedelta(minutes=1)
# Registered at T0, Monday 2026-12-07 09:00 in Seoul: the first period is December 2026, which ends on
# Thursday 12-31; 2027-01-01 is a holiday and then a weekend, so the entry opens on Monday 01-04 at 09:00
# and is due five working days later.
DECEMBER_OPENS = datetime(2027, 1, 4, 0, 0, tzinfo=UTC)
DECEMBER_DUE = datetime(2027, 1, 11, 0, 0, tzinfo=UTC)
JANUARY_OPENS = datetime(2027, 2, 1, 0, 0, tzinfo=UTC)     # Monday 2027-02-01 09:00 KST
BUS = "시내버스 정시성"


@pytest.fixture(autouse=True)
def _deploy_only_indicators(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rig deploys the indicators and the pending issues they may raise, nothing else."""
    monkeypatch.setattr(rig, "seed", lambda database: seed(database, [FOLDER, ISSUES]))


def registration(**changes: Any) -> dict[str, Any]:
    return {"title": BUS, "sector": "교통", "definition": "정류장 도착 예정 시각 ±3분 안에 도착한 운행의 비율",
            "unit": "%", "owner_department": "교통정책과", "direction": "상향", "schedule": "월간", "target": 85,
            "period_targets": [{"period": "2027", "target": 87}], "baseline": 81.4,
            "source": "버스정보시스템(BIS)", **changes}


def register(city: City, who: str = "planning.staff", confirmer: str = "traffic.lead", **changes: Any) -> str:
    """``who`` registers an indicator and its owner department (``confirmer``) confirms it."""
    instance = city.api.start(who, "indicator", {})
    city.complete(who, instance["id"], "register_indicator", registration(**changes))
    city.work()
    city.complete(confirmer, instance["id"], "confirm_indicator", {"confirmation": "확인"})
    city.work()
    return str(instance["id"])


def enter(city: City, iid: str, value: float, who: str = "traffic.staff", note: str = "") -> None:
    city.complete(who, iid, "enter_value", {"value": value, "source": "버스정보시스템(BIS)", "note": note})
    city.work()


def data(city: City, iid: str) -> dict[str, Any]:
    result: dict[str, Any] = city.instance(iid)["data"]
    return result


def notices(city: City, username: str, iid: str, prefix: str) -> list[str]:
    items = city.api.call("GET", "/api/notifications", username).json()["items"]
    return sorted(n["title"] for n in items if n["instance_id"] == iid and n["title"].startswith(prefix))


def at(city: City, moment: datetime) -> Any:
    return city.later(seconds=(moment - city.clock.now).total_seconds())


def figures(city: City, query: str = "", username: str = "mayor") -> dict[str, Any]:
    answer = city.api.call("GET", f"/api/registers/indicator{query}", username)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def web_page(city: City, username: str, path: str) -> Any:
    """``path`` as ``username`` reads it after logging in on the web."""
    client = city.api.client
    client.cookies.clear()  # a language chosen before (?lang=en) is remembered in a cookie
    assert log_in(client, username).status_code == 303  # type: ignore[attr-defined]
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    return lxml.html.fromstring(answer.text)


def option(city: City, iid: str, element_id: str) -> dict[str, Any]:
    """The case's standing option ``element_id`` (offered on its page as a button, never in an inbox)."""
    (found,) = [t for t in city.instance(iid)["tasks"] if t["element_id"] == element_id and t["standing"]]
    return found


def buttons(city: City, username: str, iid: str) -> list[str]:
    """The options the case's page offers ``username`` as buttons."""
    shown = web_page(city, username, f"/instances/{iid}")
    city.api.client.cookies.clear()
    return [a.text_content().strip() for a in shown.xpath("//p[contains(@class, 'cf-options')]/a")]


def trail_of(city: City, iid: str, action: str, element_id: str) -> list[str]:
    return [r["actor"] for r in city.trail(iid) if r["action"] == action and r["element_id"] == element_id]


def test_an_indicator_is_registered_and_waits_for_its_first_period_to_end(city: City) -> None:
    instance = city.api.start("planning.staff", "indicator", {})
    task = city.task("planning.staff", instance["id"], "register_indicator")
    refused = city.api.call("POST", f"/api/tasks/{task['id']}/complete", "planning.staff", json={"data": registration(
        period_targets=[{"period": "2027년", "target": 87}], direction="위로")})
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["errors"]} == {"period_targets[0].period", "direction"}
    city.complete("planning.staff", instance["id"], "register_indicator", registration())
    city.work()
    iid = instance["id"]
    assert (data(city, iid)["status"], city.open_elements(iid)) == ("등록", ["confirm_indicator"])
    assert notices(city, "traffic.staff", iid, "새 할 일: ") == ["새 할 일: 지표 확인"]
    city.complete("traffic.chief", iid, "confirm_indicator", {"confirmation": "확인"})
    city.work()
    indicator = data(city, iid)
    assert (indicator["status"], indicator["registered_by"], indicator["measurements"]) == ("측정전", "planning.staff", [])
    assert indicator["confirmed_by"] == "traffic.chief"
    assert (indicator["period"], indicator["period_target"], indicator["period_ends_on"]) == ("2026-12", 85, "2026-12-31")
    assert indicator["entry_opens_at"] == "2027-01-04T09:00:00+09:00"
    assert indicator["entry_due_by"] == "2027-01-11T09:00:00+09:00"
    # while the period runs nobody has a value to enter; the planning office may retire it from its page
    assert not [t for t in city.tasks("traffic.staff") if t["instance_id"] == iid]
    assert option(city, iid, "retire_indicator")["candidates"]["groups"] == ["기획조정실"]
    assert not [t for t in city.tasks("planning.lead") if t["instance_id"] == iid]  # an option, not a to-do
    assert buttons(city, "planning.lead", iid) == ["지표 폐지"]
    assert buttons(city, "traffic.chief", iid) == []
    counted = figures(city)
    assert (counted["total"], counted["by_status"]["측정전"]) == (1, 1)
    assert [item["title"] for item in counted["items"]] == [BUS]
    assert city.verified()


def test_the_owner_department_asks_for_a_change_and_the_registrar_revises_the_indicator(city: City) -> None:
    instance = city.api.start("planning.staff", "indicator", {})
    iid = instance["id"]
    city.complete("planning.staff", iid, "register_indicator", registration())
    city.work()
    city.complete("traffic.lead", iid, "confirm_indicator", {
        "confirmation": "조정 요청", "confirmation_note": "2027년 목표는 노선 개편을 감안해 86%로 해 주십시오."})
    city.work()
    assert city.open_elements(iid) == ["register_indicator"]
    assert not [t for t in city.tasks("traffic.lead") if t["instance_id"] == iid]
    case_page = web_page(city, "planning.staff", f"/instances/{iid}")
    city.api.client.cookies.clear()
    assert "노선 개편을 감안해 86%로" in case_page.text_content()  # the registrar reads what to change
    city.complete("planning.staff", iid, "register_indicator",
                  registration(period_targets=[{"period": "2027", "target": 86}]))
    city.work()
    assert (data(city, iid)["status"], city.open_elements(iid)) == ("등록", ["confirm_indicator"])
    city.complete("traffic.lead", iid, "confirm_indicator", {"confirmation": "확인"})
    city.work()
    indicator = data(city, iid)
    assert (indicator["status"], indicator["period_targets"]) == ("측정전", [{"period": "2027", "target": 86}])
    assert trail_of(city, iid, "task.completed", "confirm_indicator") == ["traffic.lead", "traffic.lead"]
    assert trail_of(city, iid, "task.completed", "register_indicator") == ["planning.staff", "planning.staff"]
    assert city.verified()


def test_the_timer_opens_the_value_entry_for_the_owner_department_when_the_period_ends(city: City) -> None:
    iid = register(city)
    at(city, DECEMBER_OPENS - MINUTE)
    assert city.open_elements(iid) == ["retire_indicator"]
    at(city, DECEMBER_OPENS + MINUTE)
    assert city.open_elements(iid) == ["enter_value"]  # the period is over: no retiring while the value is due
    task = city.task("traffic.staff", iid, "enter_value")
    assert task["candidates"]["groups"] == ["교통정책과"]
    assert task["due_at"].startswith("2027-01-11T00:00")
    assert notices(city, "traffic.lead", iid, "새 할 일: 실적") == ["새 할 일: 실적 입력"]
    assert not [t for t in city.tasks("roads.staff") if t["instance_id"] == iid]
    assert trail_of(city, iid, "timer.fired", "period_closed") == ["system:timer"]
    assert trail_of(city, iid, "task.cancelled", "retire_indicator") == ["system:timer"]
    history = web_page(city, "traffic.staff", f"/instances/{iid}").text_content()
    assert "작동" in history and "timer.fired" not in history  # the history says it in words
    assert city.verified()


def test_values_on_and_near_target_are_kept_and_the_next_period_takes_its_years_target(city: City) -> None:
    iid = register(city)
    at(city, DECEMBER_OPENS + timedelta(hours=2))
    enter(city, iid, 86.2, note="연말 증차 효과")
    indicator = data(city, iid)
    assert (indicator["status"], indicator["latest_value"], indicator["achievement"]) == ("달성", 86.2, 101.4)
    (kept,) = indicator["measurements"]
    assert (kept["period"], kept["value"], kept["target"], kept["judgement"], kept["by"]) == (
        "2026-12", 86.2, 85, "달성", "traffic.staff")
    assert (kept["source"], kept["note"]) == ("버스정보시스템(BIS)", "연말 증차 효과")
    assert (indicator["period"], indicator["period_target"]) == ("2027-01", 87)  # 2027's target
    assert indicator["entry_opens_at"] == "2027-02-01T09:00:00+09:00"
    # five working days from 02-01, 설날 (02-06–02-09 with its substitute day) not counted
    assert (indicator["entry_due_by"], indicator["value"]) == ("2027-02-10T09:00:00+09:00", None)
    assert city.open_elements(iid) == ["retire_indicator"]
    at(city, JANUARY_OPENS + MINUTE)
    enter(city, iid, 84.5)  # 2.9% short of 87: near the target, nobody is told
    indicator = data(city, iid)
    assert (indicator["status"], indicator["achievement"]) == ("주의", 97.1)
    assert [m["judgement"] for m in indicator["measurements"]] == ["달성", "주의"]
    assert notices(city, "traffic.chief", iid, "[지표") == []
    assert trail_of(city, iid, "task.completed", "enter_value") == ["traffic.staff", "traffic.staff"]
    assert city.verified()


def test_an_off_target_value_tells_the_head_and_the_department_explains_the_shortfall(city: City) -> None:
    iid = register(city)
    at(city, DECEMBER_OPENS + timedelta(hours=2))
    enter(city, iid, 78.5)
    indicator = data(city, iid)
    assert (indicator["status"], indicator["achievement"]) == ("미달", 92.4)
    assert notices(city, "traffic.chief", iid, "[지표 미달]") == ["[지표 미달] 시내버스 정시성 · 2026-12"]
    (told,) = [n for n in city.api.call("GET", "/api/notifications", "traffic.chief").json()["items"]
               if n["title"].startswith("[지표 미달]")]
    assert "78.5% · 목표 85%" in told["body"]
    assert notices(city, "roads.chief", iid, "[지표") == []
    assert trail_of(city, iid, "task.completed", "notify_owner") == ["system:worker"]
    assert city.open_elements(iid) == ["explain_shortfall"]
    task = city.task("traffic.lead", iid, "explain_shortfall")
    assert task["due_at"].startswith("2027-01-11T")
    refused = city.api.call("POST", f"/api/tasks/{task['id']}/complete", "traffic.lead", json={"data": {}})
    assert {e["field"] for e in refused.json()["errors"]} == {"cause", "measures"}
    assert figures(city)["by_status"]["미달"] == 1
    city.complete("traffic.lead", iid, "explain_shortfall", {
        "cause": "동절기 출근 시간대 정체와 기사 결원 4명", "measures": "운수사와 예비 기사 확보, 혼잡 구간 배차 조정"})
    city.work()
    indicator = data(city, iid)
    assert [(e["period"], e["cause"], e["by"]) for e in indicator["explanations"]] == [
        ("2026-12", "동절기 출근 시간대 정체와 기사 결원 4명", "traffic.lead")]
    assert (indicator["period"], indicator["status"]) == ("2027-01", "미달")  # still off target until the next value
    assert city.open_elements(iid) == ["retire_indicator"]
    assert city.verified()


def test_an_explanation_given_after_the_next_period_ended_opens_its_entry_at_once(city: City) -> None:
    iid = register(city)
    at(city, DECEMBER_OPENS + timedelta(hours=2))
    enter(city, iid, 70)
    at(city, JANUARY_OPENS + timedelta(days=1))
    city.complete("traffic.chief", iid, "explain_shortfall", {"cause": "결원", "measures": "충원"})
    city.work()
    assert city.open_elements(iid) == ["enter_value"]
    assert data(city, iid)["period"] == "2027-01"  # no period is skipped
    assert city.verified()


def test_an_off_target_indicator_raises_a_pending_issue_from_its_page(city: City) -> None:
    iid = register(city)
    at(city, DECEMBER_OPENS + timedelta(hours=2))
    enter(city, iid, 78.5)
    case_page = web_page(city, "traffic.chief", f"/instances/{iid}")
    (banner,) = case_page.xpath("//p[contains(@class, 'cf-doc-bad')]")
    assert "미달" in banner.text_content() and "78.5%" in banner.text_content()
    (link,) = banner.xpath(".//a[normalize-space()='현안사항으로 등록']")
    client = city.api.client
    start_page = lxml.html.fromstring(client.get(link.get("href")).text)
    assert start_page.xpath("//input[@name='title']/@value") == ["핵심 지표 관리 · " + BUS]
    answer = client.post("/processes/pending_issue/start", data={
        "csrf_token": start_page.xpath("//input[@name='csrf_token']/@value")[0],
        "title": "시내버스 정시성 저하", "from_case": iid}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    (issue,) = city.api.call("GET", "/api/registers/pending_issue", "traffic.chief").json()["items"]
    raised = data(city, issue["id"])
    assert raised["raised_from"]["instance_id"] == iid
    assert raised["related_cases"][0] == {"case": "핵심 지표 관리 " + BUS}
    issue_page = lxml.html.fromstring(client.get(f"/instances/{issue['id']}").text)
    assert issue_page.xpath(f"//a[@href='/instances/{iid}']")  # the issue leads back to the indicator
    assert city.verified()


def test_a_late_value_is_told_to_the_head_of_department_and_is_still_taken(city: City) -> None:
    iid = register(city)
    at(city, DECEMBER_DUE - MINUTE)
    assert notices(city, "traffic.chief", iid, "[지표 실적 입력 지연]") == []
    assert figures(city, "?overdue=1")["matching"] == 0
    at(city, DECEMBER_DUE + MINUTE)
    assert notices(city, "traffic.chief", iid, "[지표 실적 입력 지연]") == ["[지표 실적 입력 지연] 시내버스 정시성 · 2026-12"]
    assert notices(city, "traffic.staff", iid, "[지표 실적") == []
    (task,) = [t for t in city.tasks("traffic.staff") if t["instance_id"] == iid]
    assert task["overdue"] is True
    late = figures(city, "?overdue=1")
    assert (late["overdue"], [item["id"] for item in late["items"]]) == (1, [iid])
    assert trail_of(city, iid, "task.completed", "urge_entry") == ["system:worker"]
    enter(city, iid, 85.0)
    assert (data(city, iid)["status"], figures(city)["overdue"]) == ("달성", 0)
    assert city.verified()


def test_the_planning_office_retires_an_indicator_and_no_more_values_are_asked_for(city: City) -> None:
    iid = register(city, who="traffic.staff", confirmer="traffic.chief")  # an owner department registers too
    at(city, DECEMBER_OPENS + MINUTE)
    enter(city, iid, 86.0)
    retire = option(city, iid, "retire_indicator")
    refused = city.api.call("POST", f"/api/tasks/{retire['id']}/complete", "traffic.chief",
                            json={"data": {"retire_reason": "끝"}})
    assert refused.status_code in (403, 404)
    answer = city.api.call("POST", f"/api/tasks/{retire['id']}/complete", "planning.chief",
                           json={"data": {"retire_reason": "버스 준공영제 지표로 통합합니다."}})
    assert answer.status_code == 200, answer.text
    city.work()
    indicator = data(city, iid)
    assert (indicator["status"], indicator["retired_on"], indicator["retired_by"]) == ("폐지", "2027-01-04", "planning.chief")
    assert [m["value"] for m in indicator["measurements"]] == [86.0]  # its values stay with it
    assert (indicator["entry_opens_at"], indicator["entry_due_by"]) == (None, None)
    assert city.instance(iid)["status"] == "completed"
    status = web_page(city, "traffic.staff", f"/instances/{iid}").xpath("//main//span[contains(@class, 'cf-status')]")[0]
    assert status.text_content().strip() == "폐지"  # how it ended, not just 완료
    assert notices(city, "traffic.staff", iid, "[지표 폐지]") == ["[지표 폐지] 시내버스 정시성"]
    at(city, JANUARY_OPENS + timedelta(days=10))
    assert city.open_elements(iid) == []
    assert notices(city, "traffic.staff", iid, "새 할 일: 실적") == ["새 할 일: 실적 입력"]  # only December's
    counted = figures(city, "?open=1")
    assert (counted["by_status"]["폐지"], counted["matching"]) == (1, 0)
    assert trail_of(city, iid, "task.completed", "retire_indicator") == ["planning.chief"]
    assert city.verified()


def test_a_quarterly_indicator_where_lower_is_better(city: City) -> None:
    iid = register(city, who="planning.staff", title="생활민원 평균 처리기간", sector="행정", unit="일",
                   owner_department="도로과", direction="하향", schedule="분기", target=5, period_targets=[],
                   source="새올 민원처리시스템", confirmer="roads.chief")
    indicator = data(city, iid)
    assert (indicator["period"], indicator["entry_opens_at"]) == ("2026-Q4", "2027-01-04T09:00:00+09:00")
    at(city, DECEMBER_OPENS + MINUTE)
    enter(city, iid, 4.6, who="roads.lead")
    assert (data(city, iid)["status"], data(city, iid)["achievement"]) == ("달성", 108.0)
    indicator = data(city, iid)
    assert (indicator["period"], indicator["entry_opens_at"]) == ("2027-Q1", "2027-04-01T09:00:00+09:00")
    at(city, datetime(2027, 4, 1, 0, 1, tzinfo=UTC))
    enter(city, iid, 5.6, who="roads.lead")  # 12% over five days: off target
    assert (data(city, iid)["status"], data(city, iid)["achievement"]) == ("미달", 88.0)
    assert notices(city, "roads.chief", iid, "[지표 미달]") == ["[지표 미달] 생활민원 평균 처리기간 · 2027-Q1"]
    assert city.verified()


def test_the_trend_chart_shows_the_values_against_the_target_line(city: City) -> None:
    iid = register(city)
    for opens, value in ((DECEMBER_OPENS, 86.2), (JANUARY_OPENS, 78.0)):
        at(city, opens + MINUTE)
        enter(city, iid, value)
        if value < 80:
            city.complete("traffic.lead", iid, "explain_shortfall", {"cause": "결원", "measures": "충원"})
            city.work()
    case_page = web_page(city, "traffic.staff", f"/instances/{iid}")
    (chart,) = case_page.xpath("//svg[contains(@class, 'cf-trend')]")
    label = chart.get("aria-label")
    assert BUS in label and "2027년 1월" in label and "78%" in label and "87%" in label
    points = chart.xpath(".//circle[contains(@class, 'cf-trend-point')]")
    assert [p.xpath("./title")[0].text for p in points] == [
        "2026년 12월 86.2% · 목표 85% · 달성", "2027년 1월 78% · 목표 87% · 미달"]
    (target,) = chart.xpath(".//path[contains(@class, 'cf-trend-target')]")
    levels = [float(step.split(",")[1]) for step in target.get("d").replace("M", " ").replace("L", " ").split()]
    # in SVG y grows downwards: December's value sits above its target, January's below
    assert float(points[0].get("cy")) < levels[0] and float(points[1].get("cy")) > levels[-1]
    assert [p.get("fill") for p in points] == ["#2f7d4f", "#b3261e"]
    shown = case_page.text_content()
    assert "결원" in shown and "충원" in shown  # the shortfall report beside its period
    english = web_page(city, "traffic.staff", f"/instances/{iid}?lang=en")
    (chart,) = english.xpath("//svg[contains(@class, 'cf-trend')]")
    assert "Jan 2027: 78%, target 87%" in chart.get("aria-label")
    assert "Off target" in english.text_content()
    assert city.verified()


def test_the_indicators_page_shows_each_latest_value_against_its_target_those_off_target_first(city: City) -> None:
    bus = register(city)
    complaints = register(city, title="생활민원 평균 처리기간", sector="행정", unit="일", owner_department="도로과",
                          direction="하향", target=5, period_targets=[], confirmer="roads.lead")
    register(city, title="공공자전거 이용건수", sector="교통", unit="건", target=150000, period_targets=[])
    at(city, DECEMBER_OPENS + MINUTE)
    enter(city, complaints, 4.6, who="roads.lead")
    enter(city, bus, 78.5)
    shown = web_page(city, "mayor", "/indicators")
    cards = shown.xpath("//li[contains(@class, 'cf-indicator')]")
    assert [c.xpath(".//strong")[0].text_content() for c in cards] == [
        BUS, "생활민원 평균 처리기간", "공공자전거 이용건수"]  # off target, on target, no value yet
    first = " ".join(cards[0].text_content().split())
    assert "미달" in first and "78.5%" in first and "목표 85%" in first and "2026년 12월" in first
    assert "낮을수록 좋음" in cards[1].text_content() and "4.6일" in cards[1].text_content()
    assert "아직 실적이 없습니다." in cards[2].text_content()
    (spark,) = cards[0].xpath(".//svg[contains(@class, 'cf-sparkline')]")
    assert "78.5%" in spark.get("aria-label") and "85%" in spark.get("aria-label")
    counts = {" ".join(a.text_content().split()): a.get("href") for a in shown.xpath("//nav[contains(@class, 'cf-chips')][1]/a")}
    assert counts == {"관리 중인 지표 3": "/indicators", "미달 1": "/indicators?status=%EB%AF%B8%EB%8B%AC",
                      "달성 1": "/indicators?status=%EB%8B%AC%EC%84%B1", "측정 전 1": "/indicators?status=%EC%B8%A1%EC%A0%95%EC%A0%84"}
    only_off = city.api.client.get(counts["미달 1"])
    assert BUS in only_off.text and "생활민원" not in only_off.text
    traffic = web_page(city, "traffic.staff", "/indicators")  # a department reads its own indicators, counted
    assert [c.xpath(".//strong")[0].text_content() for c in traffic.xpath("//li[contains(@class, 'cf-indicator')]")] == [
        BUS, "공공자전거 이용건수"]
    assert [" ".join(a.text_content().split()) for a in traffic.xpath("//nav[contains(@class, 'cf-chips')][1]/a")] == [
        "관리 중인 지표 2", "미달 1", "측정 전 1"]
    english = web_page(city, "mayor", "/indicators?lang=en")
    assert "Off target" in english.text_content() and "Lower is better" in english.text_content()
    # the dashboard counts them by status, each number leading to the register of exactly those
    dashboard = web_page(city, "mayor", "/dashboard")
    links = {a.text_content(): a.get("href") for a in dashboard.xpath("//section[@id='indicators']//li/a[1]")}
    register_page = city.api.client.get(links["미달"])
    assert BUS in register_page.text and "생활민원" not in register_page.text
    assert city.verified()
