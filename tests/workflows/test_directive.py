"""The mayor's directives (지시사항) run through the demo city hall: registered by an issuer, classified and
assigned by the planning office, carried out by the lead department under deadline reminders, reviewed and
closed — every step as its people through the HTTP API, with time moved on the engine's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

import tests.workflows.conftest as rig
from tests.api.conftest import seed
from tests.workflows.conftest import T0, City

FOLDER = Path(__file__).resolve().parents[2] / "workflows" / "directive"

# What the registry view (GET /api/directives) reads from every directive's data.
CONTRACT = ("title", "issuer", "source", "issued_on", "term", "lead_department", "support_departments", "deadline",
            "status", "closed_on")
USER_TASKS = {"register_directive", "classify_directive", "accept_directive", "submit_plan", "report_progress",
              "report_completion", "review_directive", "acknowledge_infeasible"}

DEADLINE = "2026-12-31T18:00:00+09:00"            # a Thursday evening in Seoul
D7 = datetime(2026, 12, 24, 0, 0, tzinfo=UTC)      # 09:00 KST seven days before the deadline's day
D3 = datetime(2026, 12, 28, 0, 0, tzinfo=UTC)
DDAY = datetime(2026, 12, 31, 0, 0, tzinfo=UTC)    # 09:00 KST on the day
DUE = datetime(2026, 12, 31, 9, 0, tzinfo=UTC)     # the deadline itself
BUREAU = DUE + timedelta(days=3)
MINUTE = timedelta(minutes=1)

REMINDER, ESCALATION, ESCALATION_3 = "[지시사항 D-", "[지시사항 기한 경과]", "[지시사항 기한 경과 3일]"
PROGRESS_DUE = "[지시사항 추진상황 보고]"


@pytest.fixture(autouse=True)
def _deploy_only_the_directive(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rig deploys workflows/directive alone, so a sibling process being edited cannot fail these tests."""
    monkeypatch.setattr(rig, "seed", lambda database: seed(database, [FOLDER]))


# -- the people at work --------------------------------------------------------------------------


def register(city: City, issuer: str = "mayor", title: str = "어두운 골목 가로등 정비", **extra: Any) -> str:
    """An issuer starts a directive and registers it (지시 등록); returns the instance id."""
    instance = city.api.start(issuer, "directive", {"title": title})
    data = {"title": title, "content": "주택가 골목의 꺼진 가로등을 연말까지 모두 고칠 것", "issuer": issuer,
            "source": "간부회의", "issued_on": "2026-12-07", **extra}
    city.complete(issuer, instance["id"], "register_directive", data)
    return str(instance["id"])


def classify(city: City, iid: str, department: str = "도로과", term: str = "단기", deadline: str = DEADLINE,
             support: list[str] | None = None, who: str = "planning.staff") -> None:
    city.complete(who, iid, "classify_directive", {
        "term": term, "lead_department": department, "support_departments": support or [], "deadline": deadline,
    })


def under_way(city: City, iid: str, **classification: Any) -> None:
    """Classified, accepted and planned: the department now reports progress."""
    classify(city, iid, **classification)
    city.complete("roads.chief", iid, "accept_directive", {"acceptance": "접수"})
    city.complete("roads.lead", iid, "submit_plan", {"action_plan": "구역별 점검 후 교체", "plan_target_on": "2026-12-28"})


def report(city: City, iid: str, text: str, finished: bool = False, who: str = "roads.staff") -> None:
    city.complete(who, iid, "report_progress", {"progress_report": text, "progress_rate": 100 if finished else 50,
                                                 "finished": finished})


def finish(city: City, iid: str, who: str = "roads.staff") -> None:
    """The last progress report and the completion report (완료보고)."""
    report(city, iid, "모두 교체했습니다", finished=True, who=who)
    city.complete("roads.lead", iid, "report_completion", {"completion_report": "가로등 42기 교체 완료"})


def review(city: City, iid: str, decision: str, who: str = "planning.lead", **extra: Any) -> None:
    city.complete(who, iid, "review_directive", {"review_decision": decision, **extra})


def registry(city: City, iid: str) -> dict[str, Any]:
    """The registry's keys as the instance data holds them now (all of them, always)."""
    data = city.instance(iid)["data"]
    missing = [key for key in CONTRACT if key not in data]
    assert not missing, f"the data lacks {missing}"
    return {key: data[key] for key in CONTRACT}


def notices(city: City, username: str, iid: str, prefix: str) -> list[str]:
    """Titles of ``username``'s notifications about the directive that start with ``prefix``."""
    items = city.api.call("GET", "/api/notifications", username).json()["items"]
    return sorted(n["title"] for n in items if n["instance_id"] == iid and n["title"].startswith(prefix))


def at(city: City, moment: datetime) -> Any:
    """Set the clock to ``moment`` and let the worker do what became due."""
    city.clock.set(moment)
    return city.work()


def acts(city: City, iid: str) -> list[tuple[str, str]]:
    """(user task, who completed it) in the order of the audit trail."""
    return [(r["element_id"], r["actor"]) for r in city.trail(iid)
            if r["action"] == "task.completed" and r["element_id"] in USER_TASKS]


def fired(city: City, iid: str) -> list[str]:
    """The timers the worker fired, in order (``timer.fired``, recorded as ``system:timer``)."""
    records = [r for r in city.trail(iid) if r["action"] == "timer.fired"]
    assert all(r["actor"] == "system:timer" for r in records)
    return [r["element_id"] for r in records]


def deadline_timers(city: City, iid: str) -> list[tuple[str, str]]:
    """(deadline timer, who fired it) in order: each completes once when it goes off."""
    return [(r["element_id"], r["actor"]) for r in city.trail(iid)
            if r["action"] == "task.completed" and r["element_id"].startswith("deadline_")]


# -- the course of a directive -------------------------------------------------------------------


def test_a_directive_is_accepted_planned_reported_twice_completed_and_closed(city: City) -> None:
    instance = city.api.start("mayor", "directive", {"title": "어두운 골목 가로등 정비"})
    iid = instance["id"]
    assert registry(city, iid) == {"title": "어두운 골목 가로등 정비", "issuer": None, "source": None,
                                   "issued_on": None, "term": None, "lead_department": None,
                                   "support_departments": [], "deadline": None, "status": "추진중",
                                   "closed_on": None}
    city.complete("mayor", iid, "register_directive", {
        "title": "어두운 골목 가로등 정비", "content": "주택가 골목의 꺼진 가로등을 연말까지 모두 고칠 것",
        "issuer": "mayor", "source": "현장", "issued_on": "2026-12-07"})
    assert city.open_elements(iid) == ["classify_directive"]

    classify(city, iid, support=["교통정책과", "도로과"])
    assert registry(city, iid) == {"title": "어두운 골목 가로등 정비", "issuer": "mayor", "source": "현장",
                                   "issued_on": "2026-12-07", "term": "단기", "lead_department": "도로과",
                                   "support_departments": ["교통정책과"], "deadline": DEADLINE,
                                   "status": "추진중", "closed_on": None}
    assert [t["element_id"] for t in city.tasks("roads.staff")] == ["accept_directive"]
    assert city.tasks("traffic.staff") == []  # a supporting department is not the one to accept

    city.complete("roads.chief", iid, "accept_directive", {"acceptance": "접수"})
    city.complete("roads.lead", iid, "submit_plan", {"action_plan": "구역별 점검 후 교체"})
    city.later(days=7, hours=1)
    report(city, iid, "1구역 점검, 12기 교체")
    city.later(days=7)
    report(city, iid, "2·3구역 교체", finished=True)
    city.complete("roads.lead", iid, "report_completion", {"completion_report": "가로등 42기 교체 완료"})
    assert city.open_elements(iid) == ["review_directive"]
    assert registry(city, iid)["status"] == "추진중"

    city.later(days=2)
    review(city, iid, "종결", review_comment="수고하셨습니다")
    assert registry(city, iid)["status"] == "완료"
    city.work()  # the closing date is taken from the engine's clock by the worker
    done = city.instance(iid)
    assert done["status"] == "completed"
    assert registry(city, iid) == {"title": "어두운 골목 가로등 정비", "issuer": "mayor", "source": "현장",
                                   "issued_on": "2026-12-07", "term": "단기", "lead_department": "도로과",
                                   "support_departments": ["교통정책과"], "deadline": DEADLINE,
                                   "status": "완료", "closed_on": "2026-12-23"}
    assert [r["report"] for r in done["data"]["progress_reports"]] == ["1구역 점검, 12기 교체", "2·3구역 교체"]
    assert [(r["decision"], r["by"]) for r in done["data"]["reviews"]] == [("종결", "planning.lead")]

    assert acts(city, iid) == [
        ("register_directive", "mayor"), ("classify_directive", "planning.staff"), ("accept_directive", "roads.chief"),
        ("submit_plan", "roads.lead"), ("report_progress", "roads.staff"), ("report_progress", "roads.staff"),
        ("report_completion", "roads.lead"), ("review_directive", "planning.lead"),
    ]
    trail = city.trail(iid)
    assert [r["seq"] for r in trail] == sorted(r["seq"] for r in trail)
    assert trail[0]["action"] == "instance.created" and trail[0]["actor"] == "mayor"
    assert trail[-1]["action"] == "instance.completed"
    lanes = {r["element_id"]: r["lane"] for r in trail if r["action"] == "task.completed"}
    assert (lanes["register_directive"], lanes["classify_directive"], lanes["submit_plan"],
            lanes["review_directive"]) == ("지시권자", "기획조정실", "주관부서", "기획조정실")
    assert fired(city, iid) == ["progress_rhythm", "progress_rhythm"]  # the weekly report requests
    assert city.verified()


def test_only_an_issuer_registers_a_directive(city: City) -> None:
    instance = city.api.start("roads.staff", "directive", {"title": "청사 주차장 개방"})
    assert city.tasks("roads.staff") == []
    assert [t["element_id"] for t in city.tasks("vice.mayor")] == ["register_directive"]
    (task,) = city.tasks("mayor")
    data = {"title": "청사 주차장 개방", "content": "주말에 청사 주차장을 시민에게 개방", "issuer": "mayor",
            "source": "말씀", "issued_on": "2026-12-07"}
    refused = city.api.call("POST", f"/api/tasks/{task['id']}/complete", "roads.staff", json={"data": data})
    assert refused.status_code == 403
    invalid = city.api.call("POST", f"/api/tasks/{task['id']}/complete", "mayor",
                            json={"data": {**data, "source": "전화"}})
    assert invalid.status_code == 422
    assert [e["field"] for e in invalid.json()["errors"]] == ["source"]
    city.complete("mayor", instance["id"], "register_directive", data)
    assert registry(city, instance["id"])["source"] == "말씀"
    refusals = [r for r in city.trail(instance["id"]) if r["action"] == "task.refused"]
    assert [r["actor"] for r in refusals] == ["roads.staff"]
    assert city.verified()


def test_the_lead_department_asks_for_reassignment_and_the_new_one_accepts(city: City) -> None:
    iid = register(city, title="버스정류장 온열의자 설치")
    classify(city, iid, department="도로과")
    (task,) = city.tasks("roads.chief")
    no_reason = city.api.call("POST", f"/api/tasks/{task['id']}/complete", "roads.chief",
                              json={"data": {"acceptance": "재지정 요청"}})
    assert no_reason.status_code == 422
    assert [e["field"] for e in no_reason.json()["errors"]] == ["reassignment_reason"]
    city.complete("roads.chief", iid, "accept_directive",
                  {"acceptance": "재지정 요청", "reassignment_reason": "정류장 시설은 교통정책과 소관입니다"})

    assert city.open_elements(iid) == ["classify_directive"]
    assert city.tasks("roads.staff") == []
    data = city.instance(iid)["data"]
    assert data["reassignment_reason"] == "정류장 시설은 교통정책과 소관입니다"
    assert data["reassignment_requests"] == [
        {"department": "도로과", "reason": "정류장 시설은 교통정책과 소관입니다", "by": "roads.chief"}]
    assert registry(city, iid)["status"] == "추진중"

    classify(city, iid, department="교통정책과", support=["도로과"])
    assert city.tasks("roads.chief") == []
    city.complete("traffic.lead", iid, "accept_directive", {"acceptance": "접수"})
    city.complete("traffic.staff", iid, "submit_plan", {"action_plan": "정류장 20곳에 설치"})
    assert city.open_elements(iid) == ["report_progress"]
    assert registry(city, iid)["lead_department"] == "교통정책과"
    assert registry(city, iid)["support_departments"] == ["도로과"]

    # The deadline reminders follow the directive to its new department.
    at(city, D7 + MINUTE)
    assert notices(city, "traffic.staff", iid, REMINDER) == ["[지시사항 D-7] 버스정류장 온열의자 설치"]
    assert notices(city, "roads.staff", iid, REMINDER) == []

    assert acts(city, iid) == [
        ("register_directive", "mayor"), ("classify_directive", "planning.staff"), ("accept_directive", "roads.chief"),
        ("classify_directive", "planning.staff"), ("accept_directive", "traffic.lead"),
        ("submit_plan", "traffic.staff"),
    ]
    armed = [r["element_id"] for r in city.trail(iid) if r["action"] == "task.waiting"
             and r["element_id"] == "deadline_d7"]
    assert len(armed) == 2  # once per department assigned
    assert city.verified()


def test_keep_managing_and_reinstructing_send_the_department_back_to_its_reports(city: City) -> None:
    iid = register(city)
    under_way(city, iid)

    finish(city, iid)
    review(city, iid, "계속관리", review_comment="고장 신고가 계속 들어오니 한 달 더 지켜봅시다")
    assert city.open_elements(iid) == ["report_progress"]
    assert registry(city, iid)["status"] == "계속관리"

    report(city, iid, "신고 3건 처리")  # 계속관리 lasts until the next review
    assert registry(city, iid)["status"] == "계속관리"
    finish(city, iid)
    review(city, iid, "재지시", new_instructions="골목마다 야간 순찰 때 점등 여부를 확인할 것")
    assert city.open_elements(iid) == ["report_progress"]
    assert registry(city, iid)["status"] == "추진중"

    finish(city, iid)
    review(city, iid, "계속관리")
    assert registry(city, iid)["status"] == "계속관리"
    finish(city, iid)
    no_text = city.api.call("POST", f"/api/tasks/{city.task('planning.staff', iid, 'review_directive')['id']}/complete",
                            "planning.staff", json={"data": {"review_decision": "재지시"}})
    assert no_text.status_code == 422
    assert [e["field"] for e in no_text.json()["errors"]] == ["new_instructions"]
    review(city, iid, "재지시", new_instructions="순찰 결과를 주 1회 보고할 것")
    finish(city, iid)
    review(city, iid, "종결")
    city.work()

    data = city.instance(iid)["data"]
    assert city.instance(iid)["status"] == "completed"
    assert registry(city, iid)["status"] == "완료"
    assert [r["decision"] for r in data["reviews"]] == ["계속관리", "재지시", "계속관리", "재지시", "종결"]
    assert [i["instruction"] for i in data["instructions"]] == [
        "골목마다 야간 순찰 때 점등 여부를 확인할 것", "순찰 결과를 주 1회 보고할 것"]
    assert len(data["progress_reports"]) == 6
    steps = [element for element, _ in acts(city, iid)]
    assert steps.count("review_directive") == 5 and steps.count("report_completion") == 5
    assert steps.count("accept_directive") == 1 and steps.count("submit_plan") == 1  # no second acceptance
    armed = [r for r in city.trail(iid) if r["action"] == "task.waiting" and r["element_id"] == "deadline_d7"]
    assert len(armed) == 1  # the same deadline all along: its reminders are armed once
    assert city.verified()


def test_a_long_term_directive_is_under_long_term_review_until_it_is_kept_managed(city: City) -> None:
    iid = register(city, title="하천변 산책로 조성")
    under_way(city, iid, term="장기", deadline="2027-06-30T18:00:00+09:00")
    assert registry(city, iid)["status"] == "장기검토"
    finish(city, iid)
    review(city, iid, "계속관리")
    assert registry(city, iid)["status"] == "계속관리"
    finish(city, iid)
    review(city, iid, "재지시", new_instructions="주민 의견을 들어 노선을 조정할 것")
    assert registry(city, iid)["status"] == "장기검토"
    statuses = [r["changes"]["status"] for r in city.trail(iid)
                if r["action"] == "task.completed" and "status" in (r["changes"] or {})]
    assert statuses == [[None, "추진중"], ["추진중", "장기검토"], ["장기검토", "계속관리"], ["계속관리", "장기검토"]]
    assert city.verified()


def test_keeping_it_managed_with_a_new_deadline_moves_the_reminders(city: City) -> None:
    iid = register(city)
    under_way(city, iid)
    finish(city, iid)
    review(city, iid, "계속관리", new_deadline="2027-01-29T18:00:00+09:00")
    assert registry(city, iid)["deadline"] == "2027-01-29T18:00:00+09:00"
    assert registry(city, iid)["status"] == "계속관리"
    assert city.open_elements(iid) == ["report_progress"]  # straight back to the reports, no second acceptance

    at(city, D7 + MINUTE)
    at(city, DUE + MINUTE)
    assert notices(city, "roads.staff", iid, REMINDER) == []
    assert notices(city, "roads.chief", iid, ESCALATION) == []
    at(city, datetime(2027, 1, 22, 0, 1, tzinfo=UTC))  # D-7 of the new deadline
    assert notices(city, "roads.staff", iid, REMINDER) == ["[지시사항 D-7] 어두운 골목 가로등 정비"]
    assert registry(city, iid)["status"] == "계속관리"  # reminders leave the registry's keys alone
    assert [element for element, _ in acts(city, iid)].count("accept_directive") == 1
    armed = [r for r in city.trail(iid) if r["action"] == "task.waiting" and r["element_id"] == "deadline_d7"]
    assert len(armed) == 2
    assert deadline_timers(city, iid) == [("deadline_d7", "system:timer")]
    assert city.verified()


def test_not_feasible_is_closed_once_the_issuer_acknowledges_it(city: City) -> None:
    iid = register(city, issuer="vice.mayor", title="역 광장 지하보도 철거")
    under_way(city, iid)
    finish(city, iid)
    (task,) = [t for t in city.tasks("planning.chief") if t["instance_id"] == iid]
    no_reason = city.api.call("POST", f"/api/tasks/{task['id']}/complete", "planning.chief",
                              json={"data": {"review_decision": "추진불가"}})
    assert no_reason.status_code == 422
    assert [e["field"] for e in no_reason.json()["errors"]] == ["infeasible_reason"]
    city.later(days=3)
    review(city, iid, "추진불가", who="planning.chief", infeasible_reason="국가철도공단 소유 시설로 시 예산 집행 불가")
    assert registry(city, iid)["status"] == "추진불가"
    city.work()
    assert registry(city, iid)["closed_on"] == "2026-12-10"

    assert city.open_elements(iid) == ["acknowledge_infeasible"]
    assert [t["element_id"] for t in city.tasks("vice.mayor")] == ["acknowledge_infeasible"]
    assert city.tasks("mayor") == []  # the issuer who gave it acknowledges it
    assert city.instance(iid)["data"]["infeasible_reason"] == "국가철도공단 소유 시설로 시 예산 집행 불가"
    city.complete("vice.mayor", iid, "acknowledge_infeasible", {"acknowledgement_comment": "철도공단과 협의하세요"})

    done = city.instance(iid)
    assert done["status"] == "completed"
    assert done["data"]["acknowledged_by"] == "vice.mayor"
    assert registry(city, iid)["status"] == "추진불가"
    assert acts(city, iid)[-2:] == [("review_directive", "planning.chief"), ("acknowledge_infeasible", "vice.mayor")]
    ended = [r["element_id"] for r in city.trail(iid) if r["action"] == "task.completed"
             and r["element_id"] in ("infeasible_closed", "directive_closed")]
    assert ended == ["infeasible_closed"]
    assert city.verified()


# -- who hears of it ----------------------------------------------------------------------------


def test_the_department_hears_of_its_assignment_and_the_issuer_of_the_closing(city: City) -> None:
    iid = register(city)
    classify(city, iid)
    for member in ("roads.chief", "roads.lead", "roads.staff"):
        assert notices(city, member, iid, "새 할 일") == ["새 할 일: 지시 접수"], member
    assert notices(city, "traffic.staff", iid, "새 할 일") == []
    # The planning office heard of the classification when the directive was registered; whoever assigns it is
    # not told of the step they took.
    assert notices(city, "planning.staff", iid, "새 할 일") == ["새 할 일: 지시 분류·배정"]
    city.complete("roads.chief", iid, "accept_directive", {"acceptance": "접수"})
    city.complete("roads.lead", iid, "submit_plan", {"action_plan": "구역별 점검 후 교체", "plan_target_on": "2026-12-28"})
    finish(city, iid)
    assert notices(city, "planning.lead", iid, "새 할 일: 완료보고") == ["새 할 일: 완료보고 검토"]
    assert notices(city, "mayor", iid, "[지시사항 종결]") == []
    review(city, iid, "종결")
    city.work()
    assert city.instance(iid)["status"] == "completed"
    assert notices(city, "mayor", iid, "[지시사항 종결]") == ["[지시사항 종결] 어두운 골목 가로등 정비"]
    items = city.api.call("GET", "/api/notifications", "mayor").json()["items"]
    (closing,) = [n for n in items if n["instance_id"] == iid and n["title"].startswith("[지시사항 종결]")]
    assert closing["body"] == "도로과 주관 지시사항이 완료보고 검토를 거쳐 종결되었습니다."
    assert notices(city, "vice.mayor", iid, "[지시사항") == []
    assert notices(city, "roads.staff", iid, "[지시사항 종결]") == []


def test_the_issuer_is_asked_to_acknowledge_a_directive_found_infeasible(city: City) -> None:
    iid = register(city, issuer="vice.mayor", title="역 광장 지하보도 철거")
    under_way(city, iid)
    finish(city, iid)
    review(city, iid, "추진불가", who="planning.chief", infeasible_reason="국가철도공단 소유 시설")
    city.work()
    assert notices(city, "vice.mayor", iid, "") == ["추진불가 확인 요청"]
    assert notices(city, "mayor", iid, "") == []


# -- time: reminders, escalation, the reporting rhythm ------------------------------------------


def test_the_lead_department_is_reminded_at_d7_d3_and_on_the_day(city: City) -> None:
    iid = register(city)
    under_way(city, iid)
    department = ("roads.chief", "roads.lead", "roads.staff")

    at(city, D7 - MINUTE)
    assert notices(city, "roads.staff", iid, REMINDER) == []
    at(city, D7 + MINUTE)
    for person in department:
        assert notices(city, person, iid, REMINDER) == ["[지시사항 D-7] 어두운 골목 가로등 정비"], person
    assert notices(city, "traffic.staff", iid, REMINDER) == []
    assert notices(city, "planning.staff", iid, REMINDER) == []

    at(city, D3 - MINUTE)
    assert len(notices(city, "roads.staff", iid, REMINDER)) == 1
    at(city, D3 + MINUTE)
    assert notices(city, "roads.lead", iid, "[지시사항 D-3]") == ["[지시사항 D-3] 어두운 골목 가로등 정비"]

    at(city, DDAY + MINUTE)
    assert notices(city, "roads.staff", iid, REMINDER) == [
        "[지시사항 D-3] 어두운 골목 가로등 정비", "[지시사항 D-7] 어두운 골목 가로등 정비",
        "[지시사항 D-day] 어두운 골목 가로등 정비"]
    items = city.api.call("GET", "/api/notifications", "roads.staff").json()["items"]
    (dday,) = [n for n in items if n["title"].startswith("[지시사항 D-day]")]
    assert "2026-12-31 18:00" in dday["body"] and dday["link"] == f"/instances/{iid}"

    assert deadline_timers(city, iid) == [("deadline_d7", "system:timer"), ("deadline_d3", "system:timer"),
                                          ("deadline_dday", "system:timer")]
    sent = [(r["element_id"], r["actor"]) for r in city.trail(iid) if r["action"] == "task.completed"
            and r["element_id"].startswith("notify_d")]
    assert sent == [("notify_d7", "system:worker"), ("notify_d3", "system:worker"), ("notify_dday", "system:worker")]
    assert city.open_elements(iid) == ["report_progress"]  # reminders leave the work where it was
    assert city.verified()


def test_a_reminder_going_off_leaves_the_progress_reports_in_the_case(city: City) -> None:
    iid = register(city)
    under_way(city, iid)
    at(city, D7 - timedelta(days=1))
    report(city, iid, "1구역 점검, 12기 교체")
    at(city, D7 + MINUTE)  # the D-7 reminder goes off after the report
    assert notices(city, "roads.staff", iid, REMINDER) == ["[지시사항 D-7] 어두운 골목 가로등 정비"]
    assert [r["report"] for r in city.instance(iid)["data"]["progress_reports"]] == ["1구역 점검, 12기 교체"]


def test_after_the_deadline_the_department_head_then_the_bureau_head_are_told(city: City) -> None:
    iid = register(city)
    under_way(city, iid)
    at(city, DUE - MINUTE)
    assert notices(city, "roads.chief", iid, ESCALATION) == []
    assert [t["overdue"] for t in city.tasks("roads.staff")] == [False]
    # Time jumped from D-14 to a minute before the deadline: D-7 and D-3 are stale and skipped, D-day still holds.
    assert notices(city, "roads.staff", iid, REMINDER) == ["[지시사항 D-day] 어두운 골목 가로등 정비"]
    at(city, DUE + MINUTE)
    assert notices(city, "roads.chief", iid, ESCALATION) == ["[지시사항 기한 경과] 어두운 골목 가로등 정비"]
    assert notices(city, "roads.lead", iid, ESCALATION) == []
    assert notices(city, "roads.staff", iid, ESCALATION) == []
    assert notices(city, "safety.director", iid, "[지시사항") == []
    (task,) = city.tasks("roads.staff")
    assert (task["element_id"], task["overdue"]) == ("report_progress", True)  # overdue shows in every inbox

    at(city, BUREAU - MINUTE)
    assert notices(city, "safety.director", iid, "[지시사항") == []
    at(city, BUREAU + MINUTE)
    assert notices(city, "safety.director", iid, "[지시사항") == ["[지시사항 기한 경과 3일] 어두운 골목 가로등 정비"]
    assert notices(city, "welfare.director", iid, "[지시사항") == []
    assert notices(city, "roads.chief", iid, ESCALATION_3) == []

    went_off = [element for element, _ in deadline_timers(city, iid)]
    assert sorted(went_off[:3]) == ["deadline_d3", "deadline_d7", "deadline_dday"]  # in the one jump to D-1 minute
    assert went_off[3:] == ["deadline_head", "deadline_bureau"]
    assert {actor for _, actor in deadline_timers(city, iid)} == {"system:timer"}
    escalated = [(r["element_id"], r["actor"]) for r in city.trail(iid) if r["action"] == "task.completed"
                 and r["element_id"].startswith("escalate_")]
    assert escalated == [("escalate_head", "system:worker"), ("escalate_bureau", "system:worker")]
    assert city.open_elements(iid) == ["report_progress"]
    assert city.verified()


def test_a_deadline_set_close_gives_only_the_reminders_still_ahead(city: City) -> None:
    iid = register(city)
    under_way(city, iid, deadline="2026-12-09T18:00:00+09:00")  # two days and a half away
    city.work()
    # D-3 was Sunday the 6th at 09:00, D-7 a week earlier: both gone before the directive was assigned.
    assert notices(city, "roads.staff", iid, REMINDER) == []
    at(city, datetime(2026, 12, 9, 0, 1, tzinfo=UTC))
    assert notices(city, "roads.staff", iid, REMINDER) == ["[지시사항 D-day] 어두운 골목 가로등 정비"]
    skipped = sorted(r["element_id"] for r in city.trail(iid) if r["action"] == "task.completed"
                     and r["element_id"].endswith("_skipped"))
    assert skipped == ["d3_skipped", "d7_skipped"]
    # The two already past went off as soon as they were armed and ended unsent; the D-day one when its time came.
    assert sorted(deadline_timers(city, iid)) == [("deadline_d3", "system:engine"), ("deadline_d7", "system:engine"),
                                                  ("deadline_dday", "system:timer")]
    assert city.verified()


def test_a_directive_assigned_three_days_ahead_is_first_reminded_at_d3_never_at_d7(city: City) -> None:
    iid = register(city)
    city.clock.set(T0 - timedelta(minutes=30))  # Monday 08:30 in Seoul
    # Due Thursday at 10:00: D-3 is today at 09:00, half an hour from now; D-7's moment passed last week.
    under_way(city, iid, deadline="2026-12-10T10:00:00+09:00")
    city.work()
    at(city, T0 - MINUTE)
    assert notices(city, "roads.staff", iid, REMINDER) == []
    at(city, T0 + MINUTE)
    assert notices(city, "roads.staff", iid, REMINDER) == ["[지시사항 D-3] 어두운 골목 가로등 정비"]
    at(city, datetime(2026, 12, 10, 0, 1, tzinfo=UTC))  # Thursday 09:01
    assert notices(city, "roads.staff", iid, REMINDER) == [
        "[지시사항 D-3] 어두운 골목 가로등 정비", "[지시사항 D-day] 어두운 골목 가로등 정비"]
    sent = [r["element_id"] for r in city.trail(iid) if r["action"] == "task.completed"
            and r["element_id"].startswith("notify_d")]
    assert sent == ["notify_d3", "notify_dday"]
    assert city.verified()


def test_a_reminder_whose_morning_passed_before_the_assignment_is_not_sent(city: City) -> None:
    iid = register(city)
    city.clock.set(T0 + timedelta(hours=1))  # Monday 10:00 in Seoul; D-7 of next Monday was 09:00 today
    under_way(city, iid, deadline="2026-12-14T18:00:00+09:00")
    city.work()
    at(city, T0 + timedelta(hours=2))
    assert notices(city, "roads.staff", iid, REMINDER) == []
    at(city, datetime(2026, 12, 11, 0, 1, tzinfo=UTC))  # D-3: Friday at 09:00
    assert notices(city, "roads.staff", iid, REMINDER) == ["[지시사항 D-3] 어두운 골목 가로등 정비"]
    assert [r["element_id"] for r in city.trail(iid) if r["action"] == "task.completed"
            and r["element_id"] == "d7_skipped"] == ["d7_skipped"]
    assert city.verified()


def test_no_reminder_or_escalation_comes_after_the_directive_is_closed(city: City) -> None:
    iid = register(city)
    under_way(city, iid)
    at(city, D7 + MINUTE)
    assert notices(city, "roads.staff", iid, REMINDER) == ["[지시사항 D-7] 어두운 골목 가로등 정비"]
    finish(city, iid)
    review(city, iid, "종결")
    city.work()
    assert city.instance(iid)["status"] == "completed"
    closed_at = len(city.trail(iid))

    assert at(city, BUREAU + timedelta(days=30)).timers == 0
    assert notices(city, "roads.staff", iid, REMINDER) == ["[지시사항 D-7] 어두운 골목 가로등 정비"]
    assert notices(city, "roads.chief", iid, "[지시사항 기한") == []
    assert notices(city, "safety.director", iid, "[지시사항") == []
    assert len(city.trail(iid)) == closed_at  # nothing happened after closing
    cancelled = {r["element_id"] for r in city.trail(iid) if r["action"] == "task.cancelled"}
    assert {"deadline_d3", "deadline_dday", "deadline_head", "deadline_bureau"} <= cancelled
    assert city.verified()


def test_a_short_term_directive_asks_for_progress_reports_weekly(city: City) -> None:
    iid = register(city)
    under_way(city, iid, deadline="2027-02-26T18:00:00+09:00")
    at(city, T0 + timedelta(days=7) - MINUTE)
    assert notices(city, "roads.staff", iid, PROGRESS_DUE) == []
    at(city, T0 + timedelta(days=7, minutes=1))
    assert notices(city, "roads.staff", iid, PROGRESS_DUE) == ["[지시사항 추진상황 보고] 어두운 골목 가로등 정비"]
    at(city, T0 + timedelta(days=14, minutes=1))
    assert len(notices(city, "roads.staff", iid, PROGRESS_DUE)) == 2

    at(city, T0 + timedelta(days=15))
    report(city, iid, "1구역 교체")  # the rhythm starts again from the last report
    at(city, T0 + timedelta(days=21, minutes=1))
    assert len(notices(city, "roads.staff", iid, PROGRESS_DUE)) == 2
    at(city, T0 + timedelta(days=22, minutes=1))
    assert len(notices(city, "roads.staff", iid, PROGRESS_DUE)) == 3
    items = city.api.call("GET", "/api/notifications", "roads.lead").json()["items"]
    assert any(n["body"].startswith("매주 추진상황 보고 차례입니다") for n in items)

    finish(city, iid)  # reports are no longer due while the completion report is reviewed
    at(city, T0 + timedelta(days=45))
    assert len(notices(city, "roads.staff", iid, PROGRESS_DUE)) == 3
    review(city, iid, "계속관리")  # ... and are due again once it is kept managed
    at(city, T0 + timedelta(days=52, minutes=1))
    assert len(notices(city, "roads.staff", iid, PROGRESS_DUE)) == 4
    assert fired(city, iid).count("progress_rhythm") == 4
    assert city.verified()


def test_a_long_term_directive_asks_for_progress_reports_monthly(city: City) -> None:
    iid = register(city, title="하천변 산책로 조성")
    under_way(city, iid, term="장기", deadline="2027-06-30T18:00:00+09:00")
    at(city, T0 + timedelta(days=14))
    assert notices(city, "roads.staff", iid, PROGRESS_DUE) == []
    at(city, datetime(2027, 1, 7, 0, 1, tzinfo=UTC))
    assert notices(city, "roads.staff", iid, PROGRESS_DUE) == ["[지시사항 추진상황 보고] 하천변 산책로 조성"]
    at(city, datetime(2027, 2, 7, 0, 1, tzinfo=UTC))
    assert len(notices(city, "roads.staff", iid, PROGRESS_DUE)) == 2
    items = city.api.call("GET", "/api/notifications", "roads.staff").json()["items"]
    assert any(n["body"].startswith("매월 추진상황 보고 차례입니다") for n in items)
    assert fired(city, iid) == ["progress_rhythm", "progress_rhythm"]
    assert city.verified()


# -- the diagram --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(FOLDER.glob("*.bpmn")), ids=lambda p: p.name)
def test_every_element_of_the_directive_diagram_is_drawn(path: Path) -> None:
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
          "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
    root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    flow_nodes = {
        node.get("id") or "" for node in root.iterfind(".//bpmn:process//*", ns)
        if etree.QName(node).localname.endswith(("Task", "Event", "Gateway", "callActivity", "subProcess"))
        or etree.QName(node).localname in ("task", "callActivity", "subProcess")
    }
    flows = {node.get("id") for node in root.iterfind(".//bpmn:sequenceFlow", ns)}
    lanes = {node.get("id") for node in root.iterfind(".//bpmn:lane", ns)}
    participants = {node.get("id") for node in root.iterfind(".//bpmn:participant", ns)}
    shapes = {node.get("bpmnElement") for node in root.iterfind(".//bpmndi:BPMNShape", ns)}
    edges = {node.get("bpmnElement") for node in root.iterfind(".//bpmndi:BPMNEdge", ns)}
    assert flow_nodes and flows and lanes
    assert flow_nodes - shapes == set()
    assert lanes - shapes == set()
    assert participants - shapes == set()
    assert flows - edges == set()
    assert (shapes | edges) - (flow_nodes | flows | lanes | participants) == set()  # nothing drawn twice or stale
    in_lanes = [ref.text or "" for ref in root.iterfind(".//bpmn:flowNodeRef", ns)]
    assert sorted(in_lanes) == sorted(flow_nodes)  # every element in exactly one lane
    names = {lane.get("name") for lane in root.iterfind(".//bpmn:lane", ns)}
    assert {"지시권자", "기획조정실", "주관부서"} <= names


def test_a_reminder_whose_day_is_a_weekend_or_holiday_comes_on_the_working_day_before(city: City) -> None:
    iid = register(city)
    # Due Wednesday 2027-01-06: D-3 is Sunday the 3rd, and Friday the 1st before it is New Year's Day,
    # so the D-3 reminder comes on Thursday 2026-12-31 at 09:00; D-7 (Wednesday 12-30) stays.
    under_way(city, iid, deadline="2027-01-06T18:00:00+09:00")
    at(city, datetime(2026, 12, 30, 0, 1, tzinfo=UTC))
    assert notices(city, "roads.staff", iid, REMINDER) == ["[지시사항 D-7] 어두운 골목 가로등 정비"]
    at(city, datetime(2026, 12, 30, 23, 59, tzinfo=UTC))
    assert len(notices(city, "roads.staff", iid, REMINDER)) == 1
    at(city, datetime(2026, 12, 31, 0, 1, tzinfo=UTC))
    assert notices(city, "roads.staff", iid, "[지시사항 D-3]") == ["[지시사항 D-3] 어두운 골목 가로등 정비"]
    assert city.verified()
