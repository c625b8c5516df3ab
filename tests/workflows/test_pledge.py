"""Citizen pledge projects (시민약속사업): quarterly reports from a timer, checked by the planning office,
progress from milestones, status changes only through a review with a published reason."""

from __future__ import annotations

from copy import deepcopy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import text

from tests.workflows.conftest import City

BPMN = Path(__file__).resolve().parents[2] / "workflows" / "pledge" / "pledge.bpmn"

PLEDGE: dict[str, Any] = {
    "title": "생활도로 보행안전 개선",
    "category": "교통·안전",
    "department": "도로과",
    "bureau": "안전교통국",
    "target_year": 2028,
    "budget": 1_200_000_000,
    "milestones": [
        {"title": "보행자 우선도로 지정", "year": 2027, "target": "10곳", "done": False},
        {"title": "보도 턱 낮춤", "year": 2027, "target": "300곳", "done": False},
        {"title": "어린이보호구역 정비", "year": 2028, "target": "20곳", "done": False},
        {"title": "보행 안전 조사", "year": 2028, "target": "1회", "done": False},
    ],
}
CONTRACT = {"title", "category", "department", "target_year", "budget", "milestones", "status", "progress",
            "status_reason", "last_reported_on"}

# Quarterly reports are asked for when a quarter starts, 09:00 in Seoul (00:00 UTC).
QUARTER_STARTS = [datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC),
                  datetime(2027, 7, 1, tzinfo=UTC), datetime(2027, 10, 1, tzinfo=UTC)]


def register(city: City, pledge: dict[str, Any] | None = None) -> str:
    """The planning office registers a pledge; the worker records the day and schedules the first report."""
    instance = city.api.start("planning.staff", "pledge", deepcopy(pledge or PLEDGE))
    city.work()
    return str(instance["id"])


def until(city: City, moment: datetime) -> Any:
    return city.later(seconds=(moment - city.clock.now).total_seconds())


def data(city: City, pledge_id: str) -> dict[str, Any]:
    result: dict[str, Any] = city.instance(pledge_id)["data"]
    return result


def milestones_done(city: City, pledge_id: str, count: int) -> list[dict[str, Any]]:
    rows = deepcopy(data(city, pledge_id)["milestones"])
    for number, row in enumerate(rows):
        row["done"] = number < count
    return rows


def submit_report(city: City, pledge_id: str, done: int, status: str | None = None, reason: str = "") -> None:
    """The department reports its quarter; the worker stamps the day and hands it to the planning office."""
    report = {"progress_summary": f"이행 목표 {done}건 달성", "reported_milestones": milestones_done(city, pledge_id, done),
              "proposed_status": status or data(city, pledge_id)["status"]}
    if reason:
        report["proposal_reason"] = reason
    city.complete("roads.staff", pledge_id, "report_progress", report)
    city.work()


def accept_report(city: City, pledge_id: str) -> None:
    city.complete("planning.lead", pledge_id, "check_report", {"report_decision": "승인"})


def quarter(city: City, pledge_id: str, moment: datetime, done: int, status: str | None = None,
            reason: str = "") -> None:
    """One quarter: the timer asks at ``moment``, the department reports, the planning office accepts."""
    assert until(city, moment).timers == 1
    submit_report(city, pledge_id, done, status, reason)
    accept_report(city, pledge_id)


def review(city: City, pledge_id: str, decision: str, reason: str, status: str | None = None) -> None:
    answer = {"status_decision": decision, "review_reason": reason,
              "proposed_status": status or data(city, pledge_id)["proposed_status"]}
    city.complete("planning.chief", pledge_id, "review_status", answer)


def completions(city: City, pledge_id: str) -> list[tuple[str, str]]:
    return [(r["element_id"], r["actor"]) for r in city.trail(pledge_id) if r["action"] == "task.completed"
            and r["element_id"] in ("report_progress", "check_report", "review_status", "register_pledge")]


# -- registration ------------------------------------------------------------------------------


def test_a_registered_pledge_is_on_track_with_its_progress_taken_from_its_milestones(city: City) -> None:
    pledge = deepcopy(PLEDGE)
    pledge["milestones"][0]["done"] = True
    pledge_id = register(city, pledge)

    current = data(city, pledge_id)
    assert current.keys() >= CONTRACT
    assert current["status"] == "정상추진"
    assert current["progress"] == 25
    assert current["status_reason"] == ""
    assert current["last_reported_on"] is None
    assert current["milestones"] == pledge["milestones"]
    assert (current["title"], current["department"], current["target_year"], current["budget"]) == (
        "생활도로 보행안전 개선", "도로과", 2028, 1_200_000_000)
    assert current["report_due_at"] == "2027-01-01T09:00:00+09:00"
    assert current["report_period"] == "2026년 4분기"
    assert city.open_elements(pledge_id) == []  # nothing to do until the quarter starts


def test_a_pledge_started_with_only_a_title_is_completed_by_the_planning_office(city: City) -> None:
    pledge_id = city.api.start("planning.staff", "pledge", {"title": "공공자전거 확대"})["id"]
    assert city.open_elements(pledge_id) == ["register_pledge"]
    assert not [t for t in city.tasks("roads.staff") if t["instance_id"] == pledge_id]

    incomplete = {"title": "공공자전거 확대", "category": "교통", "bureau": "안전교통국", "department": "교통정책과",
                  "target_year": 2030, "budget": 500_000_000, "milestones": []}
    task = city.task("planning.staff", pledge_id, "register_pledge")
    refused = city.api.call("POST", f"/api/tasks/{task['id']}/complete", "planning.staff", json={"data": incomplete})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["milestones"]

    details = {**incomplete, "milestones": [{"title": "대여소 100곳 설치", "year": 2028, "target": "100곳"},
                                            {"title": "자전거 2천 대 도입", "year": 2030, "done": True}]}
    city.complete("planning.staff", pledge_id, "register_pledge", details)
    city.work()
    current = data(city, pledge_id)
    assert current["status"] == "정상추진"
    assert current["progress"] == 50
    assert current["milestones"] == [
        {"title": "대여소 100곳 설치", "year": 2028, "target": "100곳", "done": False},
        {"title": "자전거 2천 대 도입", "year": 2030, "target": "", "done": True},
    ]
    until(city, QUARTER_STARTS[0])
    assert [t["element_id"] for t in city.tasks("traffic.staff") if t["instance_id"] == pledge_id] == [
        "report_progress"]


# -- quarterly reports --------------------------------------------------------------------------


def test_a_year_brings_four_quarterly_reports_from_the_timer_and_progress_follows_the_milestones(
    city: City,
) -> None:
    pledge_id = register(city)
    asked_at, progress, reported_on = [], [], []
    for week in range(52):
        city.later(days=7)
        waiting = [t for t in city.tasks("roads.staff") if t["instance_id"] == pledge_id]
        if not waiting:
            continue
        (task,) = waiting
        assert task["element_id"] == "report_progress"
        assert task["candidates"]["groups"] == ["도로과"]
        asked_at.append(week)
        submit_report(city, pledge_id, done=min(len(asked_at), 3))
        accept_report(city, pledge_id)
        current = data(city, pledge_id)
        progress.append(current["progress"])
        reported_on.append(current["last_reported_on"])

    assert len(asked_at) == 4
    assert progress == [25, 50, 75, 75]
    assert reported_on == ["2027-01-04", "2027-04-05", "2027-07-05", "2027-10-04"]  # the Mondays after
    fired = [r for r in city.trail(pledge_id) if r["action"] == "timer.fired"]
    assert [(r["actor"], r["element_id"]) for r in fired] == [("system:timer", "quarter_due")] * 4
    assert [r["detail"]["due_at"][:10] for r in fired] == ["2027-01-01", "2027-04-01", "2027-07-01", "2027-10-01"]
    current = data(city, pledge_id)
    assert current["report_count"] == 4
    assert current["report_due_at"] == "2028-01-01T09:00:00+09:00"
    assert current["last_report"]["period"] == "2027년 3분기"
    assert current["status"] == "정상추진"
    assert city.instance(pledge_id)["status"] == "running"
    assert city.verified()


def test_a_report_is_due_within_two_weeks_and_only_the_department_may_write_it(city: City) -> None:
    pledge_id = register(city)
    until(city, QUARTER_STARTS[0])
    task = city.task("roads.lead", pledge_id, "report_progress")
    assert task["due_at"].startswith("2027-01-15T00:00")
    assert not [t for t in city.tasks("welfare.staff") if t["instance_id"] == pledge_id]
    forbidden = city.api.call("POST", f"/api/tasks/{task['id']}/complete", "welfare.staff",
                              json={"data": {"progress_summary": "남의 보고", "reported_milestones": PLEDGE["milestones"],
                                             "proposed_status": "정상추진"}})
    assert forbidden.status_code == 403
    city.later(days=15)
    assert city.task("roads.lead", pledge_id, "report_progress")["overdue"] is True


def test_a_report_sent_back_is_revised_by_the_department_before_it_counts(city: City) -> None:
    pledge_id = register(city)
    until(city, QUARTER_STARTS[0])
    submit_report(city, pledge_id, done=3)
    check = city.task("planning.lead", pledge_id, "check_report")
    bare = city.api.call("POST", f"/api/tasks/{check['id']}/complete", "planning.lead",
                         json={"data": {"report_decision": "보완 요청"}})
    assert bare.status_code == 422
    assert [e["field"] for e in bare.json()["errors"]] == ["review_comment"]
    city.complete("planning.lead", pledge_id, "check_report",
                  {"report_decision": "보완 요청", "review_comment": "어린이보호구역 정비는 아직 착공 전입니다."})

    assert city.open_elements(pledge_id) == ["report_progress"]
    returned = data(city, pledge_id)
    assert returned["review_comment"] == "어린이보호구역 정비는 아직 착공 전입니다."
    assert returned["reported_milestones"] == milestones_done(city, pledge_id, 3)  # kept for the revision
    assert returned["milestones"] == PLEDGE["milestones"]  # a report sent back changes nothing
    assert returned["progress"] == 0
    assert returned["last_reported_on"] is None

    city.later(days=2)
    submit_report(city, pledge_id, done=2)
    accept_report(city, pledge_id)
    current = data(city, pledge_id)
    assert current["progress"] == 50
    assert current["report_count"] == 1
    assert current["last_reported_on"] == "2027-01-03"
    assert completions(city, pledge_id) == [
        ("report_progress", "roads.staff"), ("check_report", "planning.lead"),
        ("report_progress", "roads.staff"), ("check_report", "planning.lead"),
    ]
    assert city.verified()


# -- status -------------------------------------------------------------------------------------


def test_a_status_changes_only_through_the_planning_offices_review_with_a_published_reason(city: City) -> None:
    pledge_id = register(city)
    quarter(city, pledge_id, QUARTER_STARTS[0], done=1, status="보류", reason="국비 지원이 늦어집니다.")
    assert city.open_elements(pledge_id) == ["review_status"]
    waiting = data(city, pledge_id)
    assert (waiting["status"], waiting["proposed_status"]) == ("정상추진", "보류")
    assert waiting["progress"] == 25  # the report itself counts at once
    assert not [t for t in city.tasks("roads.chief") if t["instance_id"] == pledge_id]

    task = city.task("planning.chief", pledge_id, "review_status")
    unexplained = city.api.call("POST", f"/api/tasks/{task['id']}/complete", "planning.chief",
                                json={"data": {"status_decision": "승인", "proposed_status": "보류"}})
    assert unexplained.status_code == 422
    assert [e["field"] for e in unexplained.json()["errors"]] == ["review_reason"]
    review(city, pledge_id, "반려", "국비 없이도 시비로 1단계 추진이 가능합니다.")
    rejected = data(city, pledge_id)
    assert (rejected["status"], rejected["status_reason"]) == ("정상추진", "")

    quarter(city, pledge_id, QUARTER_STARTS[1], done=2, status="보류", reason="국비 지원이 늦어집니다.")
    review(city, pledge_id, "승인", "국비 확보 지연으로 2단계 사업을 보류합니다.", status="일부추진")
    changed = data(city, pledge_id)
    assert changed["status"] == "일부추진"
    assert changed["status_reason"] == "국비 확보 지연으로 2단계 사업을 보류합니다."
    assert changed["progress"] == 50

    quarter(city, pledge_id, QUARTER_STARTS[2], done=3)  # no change proposed: no review
    assert city.open_elements(pledge_id) == []
    assert data(city, pledge_id)["status"] == "일부추진"
    assert completions(city, pledge_id) == [
        ("report_progress", "roads.staff"), ("check_report", "planning.lead"), ("review_status", "planning.chief"),
        ("report_progress", "roads.staff"), ("check_report", "planning.lead"), ("review_status", "planning.chief"),
        ("report_progress", "roads.staff"), ("check_report", "planning.lead"),
    ]
    assert city.verified()


def test_a_completed_pledge_ends_and_asks_for_no_more_reports(city: City) -> None:
    pledge_id = register(city)
    quarter(city, pledge_id, QUARTER_STARTS[0], done=2)
    quarter(city, pledge_id, QUARTER_STARTS[1], done=4, status="완료", reason="모든 이행 목표를 달성했습니다.")
    review(city, pledge_id, "승인", "4개 이행 목표를 모두 달성해 완료로 판정합니다.")

    finished = city.instance(pledge_id)
    assert finished["status"] == "completed"
    assert finished["tasks"] == []
    assert finished["data"]["status"] == "완료"
    assert finished["data"]["progress"] == 100
    assert finished["data"]["status_reason"] == "4개 이행 목표를 모두 달성해 완료로 판정합니다."
    assert finished["data"]["last_reported_on"] == "2027-04-01"

    quiet = city.later(days=800)
    assert (quiet.timers, quiet.jobs) == (0, 0)
    assert [t for t in city.tasks("roads.staff") if t["instance_id"] == pledge_id] == []
    trail = city.trail(pledge_id)
    assert trail[-1]["action"] == "instance.completed"
    assert [r["element_id"] for r in trail if r["action"] == "timer.fired"] == ["quarter_due"] * 2
    assert city.verified()


def test_a_dropped_pledge_ends_with_its_reason_published(city: City) -> None:
    pledge_id = register(city)
    quarter(city, pledge_id, QUARTER_STARTS[0], done=0, status="폐기", reason="부지 확보가 불가능합니다.")
    review(city, pledge_id, "승인", "사업 부지 소유자 반대로 추진이 불가능해 폐기합니다.")

    dropped = city.instance(pledge_id)
    assert dropped["status"] == "completed"
    assert dropped["data"]["status"] == "폐기"
    assert dropped["data"]["status_reason"] == "사업 부지 소유자 반대로 추진이 불가능해 폐기합니다."
    assert dropped["data"]["progress"] == 0
    assert city.later(days=400).timers == 0
    assert city.open_elements(pledge_id) == []
    assert city.verified()


# -- the model ----------------------------------------------------------------------------------


def test_years_of_quarterly_reports_do_not_grow_the_stored_instance(city: City) -> None:
    pledge_id = register(city)
    sizes = []
    moment = QUARTER_STARTS[0]
    for year in range(4):
        for _ in range(4):
            quarter(city, pledge_id, moment, done=1)
            moment = moment.replace(year=moment.year + moment.month // 10, month=(moment.month + 2) % 12 + 1)
        with city.database.engine.connect() as connection:
            stored = connection.execute(text("SELECT state FROM instances WHERE id = :id"), {"id": pledge_id})
            sizes.append(len(stored.scalar_one()))
    assert data(city, pledge_id)["report_count"] == 16
    assert max(sizes) <= sizes[0] * 1.2, sizes


def test_the_pledge_diagram_draws_every_element_in_its_lanes() -> None:
    tree = etree.parse(str(BPMN))
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
          "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
    process = tree.find("bpmn:process", ns)
    assert process is not None
    nodes = [e for e in process if isinstance(e.tag, str) and etree.QName(e).localname not in (
        "laneSet", "sequenceFlow", "documentation", "extensionElements")]
    flows = process.findall("bpmn:sequenceFlow", ns)
    lanes = process.findall(".//bpmn:lane", ns)
    participants = tree.findall(".//bpmn:participant", ns)
    shapes = {s.get("bpmnElement") for s in tree.iterfind(".//bpmndi:BPMNShape", ns)}
    edges = {e.get("bpmnElement") for e in tree.iterfind(".//bpmndi:BPMNEdge", ns)}

    assert len(nodes) > 20
    assert {n.get("id") for n in nodes} | {lane.get("id") for lane in lanes} | {p.get("id") for p in participants} == shapes
    assert {f.get("id") for f in flows} == edges
    assert {lane.get("name") for lane in lanes} == {"기획조정실", "담당부서"}
    in_lanes = [ref.text for ref in process.iterfind(".//bpmn:flowNodeRef", ns)]
    assert sorted(in_lanes) == sorted(n.get("id") for n in nodes)
    unnamed = [n.get("id") for n in nodes if not n.get("name") and not n.tag.endswith("Gateway")]
    assert unnamed == []
    for edge in tree.iterfind(".//bpmndi:BPMNEdge", ns):
        assert len(edge.findall("{http://www.omg.org/spec/DD/20100524/DI}waypoint")) >= 2
