"""전자결재 (workflows/approval) as the demo city hall's people use it, through the HTTP API.

The drafter roads.staff (도로과 주무관) drafts; 팀장 (rank 2), 과장 (3), 국장 (4) of the demo
organisation review, concur and approve; absences are recorded as an administrator would. The
approval line names people by username; the organisation fills in their name, position and rank.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import update

from engine import identity
from engine.models import User
from tests.api.test_pages import log_in
from tests.workflows.conftest import City

FOLDER = Path(__file__).resolve().parents[2] / "workflows" / "approval"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
DI = "{http://www.omg.org/spec/DD/20100524/DI}"
FLOW_NODES = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
              "task", "userTask", "scriptTask", "serviceTask", "businessRuleTask", "sendTask", "receiveTask",
              "manualTask", "callActivity", "subProcess", "exclusiveGateway", "parallelGateway",
              "inclusiveGateway", "eventBasedGateway", "complexGateway")



def step(kind: str, *users: str) -> dict[str, Any]:
    """A step of the line as a drafter sends it: who, by username."""
    return {"kind": kind, "people": [{"user": user} for user in users]}


LINE = [step("검토", "roads.lead"), step("협조", "traffic.chief"), step("결재", "roads.chief")]

# The demo people as the organisation keeps them on a line.
PEOPLE = {
    "roads.lead": ("김팀장", "팀장", 2, "도로과"),
    "roads.chief": ("김과장", "과장", 3, "도로과"),
    "traffic.chief": ("이과장", "과장", 3, "교통정책과"),
    "welfare.chief": ("박과장", "과장", 3, "복지정책과"),
    "safety.director": ("안전교통국장", "국장", 4, "안전교통국"),
}


def person(username: str) -> dict[str, Any]:
    name, position, rank, department = PEOPLE[username]
    return {"user": username, "name": name, "position": position, "rank": rank, "department": department}


def draft(**changes: Any) -> dict[str, Any]:
    document = {"title": "보도 정비 계획", "body": "시청 앞 보도를 정비합니다.", "doc_type": "일반", "amount": 0,
                "line": LINE}
    return {**document, **changes}


def submit(city: City, **changes: Any) -> str:
    instance_id: str = city.api.start("roads.staff", "approval", draft(**changes))["id"]
    return instance_id


def acts(city: City, instance_id: str) -> list[tuple[str, str]]:
    """(element, actor) of every task a person completed, in order."""
    return [(r["element_id"], r["actor"]) for r in city.trail(instance_id)
            if r["action"] == "task.completed" and not r["actor"].startswith("system:")]


def data(city: City, instance_id: str) -> dict[str, Any]:
    result: dict[str, Any] = city.instance(instance_id)["data"]
    return result


def changes_of(city: City, instance_id: str, key: str) -> list[tuple[str, str, Any, Any]]:
    """Every recorded change of one data key: (element, actor, old, new)."""
    return [(r["element_id"], r["actor"], *r["changes"][key]) for r in city.trail(instance_id)
            if r.get("changes") and key in r["changes"]]


def away(city: City, username: str, deputy: str) -> None:
    """An administrator records an absence that covers now, with its deputy (대결자)."""
    now = datetime.now(UTC)
    with city.database.unit_of_work() as session:
        identity.add_absence(session, username, deputy, "출장", now - timedelta(hours=1), now + timedelta(days=2),
                             actor="admin")


# -- the straight path -----------------------------------------------------------------------


def test_a_document_goes_through_review_concurrence_and_approval_and_gets_its_number(city: City) -> None:
    iid = submit(city)
    assert city.open_elements(iid) == ["review", "withdraw"]
    assert city.task("roads.staff", iid, "withdraw")["assignee"] == "roads.staff"
    city.complete("roads.lead", iid, "review", {"decision": "승인", "comment": "검토했습니다"})
    assert city.open_elements(iid) == ["concur", "withdraw"]
    city.complete("traffic.chief", iid, "concur", {"decision": "승인"})
    city.complete("roads.chief", iid, "approve", {"decision": "결재"})
    city.work()  # 결재일시 기록 runs in the worker
    done = city.instance(iid)
    assert done["status"] == "completed"
    assert done["tasks"] == []
    result = done["data"]
    assert result["result"] == "APPROVED"
    assert result["approval_kind"] == "일반"
    assert re.fullmatch(r"일반-2026-\d{13}", result["document_number"])
    assert result["approved_by"] == "roads.chief"
    assert result["skipped_steps"] == []
    assert [(h["user"], h["decision"], h["completed_by"]) for h in result["history"]] == [
        ("roads.lead", "승인", "roads.lead"), ("traffic.chief", "승인", "traffic.chief"),
        ("roads.chief", "결재", "roads.chief")]
    assert acts(city, iid) == [("review", "roads.lead"), ("concur", "traffic.chief"), ("approve", "roads.chief")]
    trail = city.trail(iid)
    assert trail[0]["action"] == "instance.created" and trail[0]["actor"] == "roads.staff"
    assert trail[-1]["action"] == "instance.completed"
    assert any(r["action"] == "task.cancelled" and r["element_id"] == "withdraw" for r in trail)
    review = next(r for r in trail if r["element_id"] == "review" and r["action"] == "task.completed")
    assert review["changes"]["comment"] == ["", "검토했습니다"]
    assert city.verified()


def test_the_forms_speak_korean_and_english_and_a_return_needs_a_reason(city: City) -> None:
    iid = submit(city)
    task = city.task("roads.lead", iid, "review")
    detail = city.api.call("GET", f"/api/tasks/{task['id']}", "roads.lead").json()
    assert detail["form"]["schema"]["properties"]["decision"]["enum"] == ["승인", "반려", "보류"]
    assert detail["form"]["ui"]["decision"]["label"] == {"ko": "결정", "en": "Decision"}
    refused = city.api.call("POST", f"/api/tasks/{task['id']}/complete", "roads.lead", json={"data": {"decision": "반려"}})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["comment"]
    tampering = city.api.call("POST", f"/api/tasks/{task['id']}/complete", "roads.lead",
                              json={"data": {"decision": "승인", "result": "APPROVED"}})
    assert tampering.status_code == 422
    assert city.api.call("POST", f"/api/tasks/{task['id']}/complete", "traffic.chief",
                         json={"data": {"decision": "승인"}}).status_code == 403
    assert city.open_elements(iid) == ["review", "withdraw"]
    refused = [r for r in city.trail(iid) if r["action"] == "task.refused"]
    assert [(r["element_id"], r["actor"], r["detail"]) for r in refused] == [
        ("review", "traffic.chief", {"attempted": "complete"})]
    assert city.verified()


def test_the_drafter_is_whoever_submits_the_document_whatever_the_data_says(city: City) -> None:
    forged = city.api.start("roads.staff", "approval", draft(drafter="roads.chief"))
    assert forged["data"]["drafter"] == "roads.staff"
    assert city.task("roads.staff", forged["id"], "withdraw")["assignee"] == "roads.staff"
    assert [t for t in city.tasks("roads.chief") if t["element_id"] == "withdraw"] == []
    created = city.trail(forged["id"])[0]
    assert (created["action"], created["actor"]) == ("instance.created", "roads.staff")
    assert created["changes"]["drafter"] == [None, "roads.staff"]
    assert city.verified()


def test_a_draft_its_form_refuses_is_answered_field_by_field_and_nothing_starts(city: City) -> None:
    incomplete = {key: value for key, value in draft().items() if key != "title"}
    incomplete["line"] = [step("검토", "roads.lead", "traffic.lead"), step("결재", "nobody.here")]
    answer = city.api.call("POST", "/api/instances", "roads.staff", json={"process_key": "approval", "data": incomplete})
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {"field": "title", "message": "필수 항목입니다."},
        {"field": "line[0].people", "message": "1개까지만 입력할 수 있습니다."},
        {"field": "line[1].people", "message": "조직도에 없는 사람입니다."},
    ]
    assert city.api.call("GET", "/api/instances?process_key=approval", "roads.staff").json()["items"] == []


def test_the_line_keeps_people_as_the_organisation_has_them_so_a_rank_cannot_be_forged(city: City) -> None:
    # 예산 1천만원 needs 과장 (rank 3): the 팀장 claims rank 6 and the name of someone else
    forged = [{"kind": "검토", "people": [{"user": "roads.lead", "rank": 6, "name": "시장", "position": "시장"}]},
              step("결재", "roads.chief")]
    iid = submit(city, doc_type="예산", amount=10_000_000, line=forged)
    kept = data(city, iid)["line"]
    assert kept == [{"kind": "검토", "people": [person("roads.lead")]}, {"kind": "결재", "people": [person("roads.chief")]}]
    assert city.open_elements(iid) == ["review", "withdraw"], "the 팀장 reviews: their rank is 2, not 6"
    city.complete("roads.lead", iid, "review", {"decision": "승인"})
    city.complete("roads.chief", iid, "approve", {"decision": "결재"})
    city.work()
    assert data(city, iid)["history"][0] == {
        "submission": 1, "step": 1, "kind": "검토", "task": "검토", "user": "roads.lead", "name": "김팀장",
        "position": "팀장", "decision": "승인", "comment": "", "completed_by": "roads.lead", "acting_for": None}
    assert city.verified()


# -- 반려, 재상신, 폐기 ------------------------------------------------------------------------


def test_a_document_returned_three_times_is_revised_each_time_and_then_approved(city: City) -> None:
    iid = submit(city)
    bodies = ["시청 앞 보도를 정비합니다."]
    returns = [("review", "roads.lead", []), ("concur", "traffic.chief", [("review", "roads.lead")]),
               ("approve", "roads.chief", [("review", "roads.lead"), ("concur", "traffic.chief")])]
    for loop, (element, returner, before) in enumerate(returns, 1):
        decisions = {"review": "승인", "concur": "승인"}
        for earlier, who in before:
            city.complete(who, iid, earlier, {"decision": decisions[earlier]})
        city.complete(returner, iid, element, {"decision": "반려", "comment": f"{loop}차 반려: 근거를 보완하세요"})
        assert city.open_elements(iid) == ["revise_document"]
        returned = data(city, iid)
        assert returned["return_comment"] == f"{loop}차 반려: 근거를 보완하세요"
        assert returned["returned_by"] == returner
        bodies.append(f"시청 앞 보도를 정비합니다. ({loop}차 보완: 예산 근거 첨부)")
        city.complete("roads.staff", iid, "revise_document", {"revise_action": "재상신", "body": bodies[-1]})
        assert city.open_elements(iid) == ["review", "withdraw"], "the chain starts again at its first step"
    city.complete("roads.lead", iid, "review", {"decision": "승인"})
    city.complete("traffic.chief", iid, "concur", {"decision": "승인"})
    city.complete("roads.chief", iid, "approve", {"decision": "결재", "comment": "수고했습니다"})
    city.work()
    result = data(city, iid)
    assert result["result"] == "APPROVED"
    assert result["body"] == bodies[-1]
    assert (result["submission"], result["revision"]) == (4, 3)
    assert [h["decision"] for h in result["history"]] == [
        "반려", "승인", "반려", "승인", "승인", "반려", "승인", "승인", "결재"]
    # every revision of the body is on record: who wrote it, who changed it, from what, to what
    assert changes_of(city, iid, "body") == [(None, "roads.staff", None, bodies[0])] + [
        ("revise_document", "roads.staff", old, new) for old, new in itertools.pairwise(bodies)]
    assert acts(city, iid) == [
        ("review", "roads.lead"), ("revise_document", "roads.staff"),
        ("review", "roads.lead"), ("concur", "traffic.chief"), ("revise_document", "roads.staff"),
        ("review", "roads.lead"), ("concur", "traffic.chief"), ("approve", "roads.chief"),
        ("revise_document", "roads.staff"),
        ("review", "roads.lead"), ("concur", "traffic.chief"), ("approve", "roads.chief")]
    assert city.instance(iid)["status"] == "completed"
    assert city.verified()


def test_one_concurrer_returning_ends_the_parallel_step_and_the_drafter_discards(city: City) -> None:
    line = [LINE[0], step("협조", "traffic.chief", "welfare.chief"), LINE[2]]
    iid = submit(city, line=line)
    city.complete("roads.lead", iid, "review", {"decision": "승인"})
    assert city.open_elements(iid) == ["concur", "concur", "withdraw"]
    city.complete("welfare.chief", iid, "concur", {"decision": "반려", "comment": "복지 예산과 겹칩니다"})
    assert city.open_elements(iid) == ["revise_document"], "the other concurrer's task is withdrawn"
    city.complete("roads.staff", iid, "revise_document", {"revise_action": "폐기"})
    done = city.instance(iid)
    assert done["status"] == "completed"
    assert done["data"]["result"] == "DISCARDED"
    assert done["data"]["document_number"] == ""
    assert acts(city, iid) == [("review", "roads.lead"), ("concur", "welfare.chief"),
                               ("revise_document", "roads.staff")]
    assert any(r["action"] == "task.cancelled" and r["element_id"] == "concur" for r in city.trail(iid))
    assert city.verified()


def test_a_line_that_misses_the_delegated_rank_goes_back_to_the_drafter_to_fix(city: City) -> None:
    # 계약 3억원: the rules give it to 부시장, but the line ends at 국장
    line = [step("검토", "roads.chief"), step("결재", "safety.director")]
    iid = submit(city, doc_type="계약", amount=300_000_000, line=line)
    assert city.open_elements(iid) == ["revise_document"]
    problems = data(city, iid)["line_problems"]
    assert problems == ["위임전결규정상 부시장 이상이 결재해야 하는데 결재선에 없습니다."]
    fixed = [*line[:1], step("검토", "safety.director"), step("결재", "vice.mayor")]
    city.complete("roads.staff", iid, "revise_document", {"revise_action": "재상신", "line": fixed})
    assert city.open_elements(iid) == ["review", "withdraw"]
    assert data(city, iid)["line_problems"] == []
    assert changes_of(city, iid, "line")[-1][:2] == ("revise_document", "roads.staff")
    city.complete("roads.chief", iid, "review", {"decision": "승인"})
    city.complete("safety.director", iid, "review", {"decision": "승인"})
    city.complete("vice.mayor", iid, "approve", {"decision": "결재"})
    city.work()
    result = data(city, iid)
    assert (result["result"], result["approval_kind"], result["approved_by"]) == ("APPROVED", "일반", "vice.mayor")
    assert re.fullmatch(r"계약-2026-\d{13}", result["document_number"])
    assert acts(city, iid) == [("revise_document", "roads.staff"), ("review", "roads.chief"),
                               ("review", "safety.director"), ("approve", "vice.mayor")]
    assert city.verified()


# -- 전결 --------------------------------------------------------------------------------------


def test_the_delegation_rules_let_the_chief_approve_and_the_remaining_steps_are_skipped(city: City) -> None:
    # 예산 1천만원: the delegation rules give final approval to 과장 (rank 3)
    line = [step("검토", "roads.lead"), step("검토", "roads.chief"), step("결재", "safety.director")]
    iid = submit(city, doc_type="예산", amount=10_000_000, line=line)
    assert (data(city, iid)["final_rank"], data(city, iid)["final_position"]) == (3, "과장")
    city.complete("roads.lead", iid, "review", {"decision": "승인"})
    # the chief's step is the final approval now: a 결재 task, not a review
    assert city.open_elements(iid) == ["approve", "withdraw"]
    city.complete("roads.chief", iid, "approve", {"decision": "결재", "comment": "전결 처리"})
    city.work()
    done = city.instance(iid)
    assert done["status"] == "completed"
    result = done["data"]
    assert result["result"] == "APPROVED"
    assert result["approval_kind"] == "전결"
    assert result["approved_by"] == "roads.chief"
    assert re.fullmatch(r"예산-2026-\d{13}", result["document_number"])
    skipped = [{"kind": "결재", "people": [person("safety.director")]}]
    assert result["skipped_steps"] == skipped
    assert changes_of(city, iid, "skipped_steps")[-1] == ("apply_step", "system:engine", [], skipped)
    assert acts(city, iid) == [("review", "roads.lead"), ("approve", "roads.chief")]
    assert not any(r["actor"] == "safety.director" for r in city.trail(iid))
    assert city.tasks("safety.director") == []
    assert city.verified()


# -- 대결 and 후결 -----------------------------------------------------------------------------


def test_a_deputy_acts_for_an_absent_reviewer_and_the_reviewer_gets_a_post_review(city: City) -> None:
    away(city, "roads.lead", deputy="traffic.lead")
    iid = submit(city, line=[LINE[0], LINE[2]])
    task = city.task("traffic.lead", iid, "review")
    assert task["assignee"] == "roads.lead"
    assert [t["id"] for t in city.tasks("traffic.lead", scope="mine")] == [task["id"]]
    city.complete("traffic.lead", iid, "review", {"decision": "승인", "comment": "팀장 부재로 대결합니다"})
    # the chain goes on without waiting for the absent reviewer
    assert city.open_elements(iid) == ["approve", "withdraw"]
    city.complete("roads.chief", iid, "approve", {"decision": "결재"})
    city.work()
    running = city.instance(iid)
    assert running["status"] == "running"
    result = running["data"]
    assert result["result"] == "APPROVED"
    assert result["approval_kind"] == "대결"
    assert re.fullmatch(r"일반-2026-\d{13}", result["document_number"])
    assert result["history"][0]["completed_by"] == "traffic.lead"
    assert result["history"][0]["acting_for"] == "roads.lead"
    assert result["proxy_acts"] == [{"user": "roads.lead", "deputy": "traffic.lead", "submission": 1, "step": 1,
                                     "decision": "승인"}]
    # 후결: the absent reviewer sees what was decided for them; the decided document is no longer the
    # drafter's to cancel
    assert city.open_elements(iid) == ["post_review"]
    refused = city.api.call("POST", f"/api/instances/{iid}/cancel", "roads.staff", json={"reason": "취소"})
    assert refused.status_code == 403 and "decided" in refused.json()["detail"]
    log_in(city.api.client, "roads.staff")
    page = city.api.client.get(f"/instances/{iid}").text
    assert "결재" in page and "/cancel" not in page
    post_review = city.task("roads.lead", iid, "post_review")
    assert post_review["assignee"] == "roads.lead"
    city.complete("roads.lead", iid, "post_review", {"post_review_answer": {"acknowledged": True, "note": "확인"}})
    done = city.instance(iid)
    assert done["status"] == "completed"
    assert done["data"]["post_review_answers"] == [{"acknowledged": True, "note": "확인"}]
    trail = city.trail(iid)
    review = next(r for r in trail if r["element_id"] == "review" and r["action"] == "task.completed")
    assert (review["actor"], review["detail"]) == ("traffic.lead", {"on_behalf_of": "roads.lead"})
    assert acts(city, iid) == [("review", "traffic.lead"), ("approve", "roads.chief"), ("post_review", "roads.lead")]
    assert city.verified()


# -- 회수 --------------------------------------------------------------------------------------


def test_the_drafter_withdraws_a_document_while_its_current_step_is_unopened(city: City) -> None:
    iid = submit(city)
    city.complete("roads.lead", iid, "review", {"decision": "승인"})
    # step 2 waits for traffic.chief, who has not opened it
    city.complete("roads.staff", iid, "withdraw", {"confirm_withdraw": True, "withdraw_reason": "금액 수정"})
    city.work()  # 개봉 확인 runs in the worker
    done = city.instance(iid)
    assert done["status"] == "completed"
    assert done["data"]["result"] == "WITHDRAWN"
    assert done["tasks"] == []
    trail = city.trail(iid)
    assert any(r["action"] == "task.cancelled" and r["element_id"] == "concur" for r in trail)
    check = next(r for r in trail if r["element_id"] == "check_opened" and r["action"] == "task.completed")
    assert check["changes"]["unopened"] == [None, True]
    assert acts(city, iid) == [("review", "roads.lead"), ("withdraw", "roads.staff")]
    assert city.verified()


def test_withdrawing_is_refused_once_the_approver_has_opened_the_task_and_the_chain_goes_on(city: City) -> None:
    iid = submit(city)
    task = city.task("roads.lead", iid, "review")
    assert city.api.call("GET", f"/api/tasks/{task['id']}", "roads.lead").status_code == 200  # 개봉
    city.complete("roads.staff", iid, "withdraw", {"confirm_withdraw": True})
    city.work()
    assert city.instance(iid)["status"] == "running"
    assert city.open_elements(iid) == ["review", "withdraw"], "the review stays, the drafter may try again"
    told = city.api.call("GET", "/api/notifications", "roads.staff").json()["items"]
    assert [n["title"] for n in told] == ["회수할 수 없습니다"]
    assert told[0]["instance_id"] == iid
    city.complete("roads.lead", iid, "review", {"decision": "승인"})
    city.complete("traffic.chief", iid, "concur", {"decision": "승인"})
    city.complete("roads.chief", iid, "approve", {"decision": "결재"})
    city.work()
    assert data(city, iid)["result"] == "APPROVED"
    trail = city.trail(iid)
    opened = [r for r in trail if r["action"] == "task.opened"]
    assert [(r["element_id"], r["actor"]) for r in opened] == [("review", "roads.lead")]
    check = next(r for r in trail if r["element_id"] == "check_opened" and r["action"] == "task.completed")
    assert check["changes"]["unopened"] == [None, False]
    refusal = next(r for r in trail if r["element_id"] == "refuse_withdrawal" and r["action"] == "task.completed")
    assert refusal["changes"]["withdraw_refused"] == [None, True]
    assert acts(city, iid) == [("withdraw", "roads.staff"), ("review", "roads.lead"), ("concur", "traffic.chief"),
                               ("approve", "roads.chief")]
    assert city.verified()


def test_after_a_refusal_the_drafter_may_withdraw_once_the_next_step_is_still_unopened(city: City) -> None:
    iid = submit(city)
    task = city.task("roads.lead", iid, "review")
    city.api.call("GET", f"/api/tasks/{task['id']}", "roads.lead")
    city.complete("roads.staff", iid, "withdraw", {"confirm_withdraw": True})
    city.work()
    assert city.open_elements(iid) == ["review", "withdraw"]
    city.complete("roads.lead", iid, "review", {"decision": "승인"})
    city.complete("roads.staff", iid, "withdraw", {"confirm_withdraw": True, "withdraw_reason": "첨부 누락"})
    city.work()
    done = city.instance(iid)
    assert done["status"] == "completed"
    assert done["data"]["result"] == "WITHDRAWN"
    assert done["data"]["withdraw_reason"] == "첨부 누락"
    checks = [r["changes"]["unopened"] for r in city.trail(iid)
              if r["element_id"] == "check_opened" and r["action"] == "task.completed"]
    assert checks == [[None, False], [None, True]]
    assert city.verified()


def test_a_withdrawal_asked_for_just_before_the_final_approval_leaves_the_approval_standing(city: City) -> None:
    iid = submit(city)
    city.complete("roads.lead", iid, "review", {"decision": "승인"})
    city.complete("traffic.chief", iid, "concur", {"decision": "승인"})
    city.complete("roads.staff", iid, "withdraw", {"confirm_withdraw": True})  # 개봉 확인 waits for the worker
    city.complete("roads.chief", iid, "approve", {"decision": "결재"})  # the chain ends first
    city.work()
    done = city.instance(iid)
    assert done["status"] == "completed"
    assert done["data"]["result"] == "APPROVED"
    assert done["data"]["document_number"]
    assert city.verified()


# -- 보류 / 재개 ---------------------------------------------------------------------------------


def test_an_approver_puts_the_document_on_hold_and_later_resumes_the_same_step(city: City) -> None:
    iid = submit(city)
    city.complete("roads.lead", iid, "review", {"decision": "보류", "comment": "현장 확인 후 검토"})
    assert city.open_elements(iid) == ["on_hold", "withdraw"]
    assert city.task("roads.lead", iid, "on_hold")["assignee"] == "roads.lead"
    city.later(days=3)
    city.complete("roads.lead", iid, "on_hold", {"resume_note": "현장 확인 완료"})
    assert city.open_elements(iid) == ["review", "withdraw"], "back to the same step's decision"
    city.complete("roads.lead", iid, "review", {"decision": "승인"})
    city.complete("traffic.chief", iid, "concur", {"decision": "보류"})
    city.complete("traffic.chief", iid, "on_hold", {})
    city.complete("traffic.chief", iid, "concur", {"decision": "승인"})
    city.complete("roads.chief", iid, "approve", {"decision": "결재"})
    city.work()
    result = data(city, iid)
    assert result["result"] == "APPROVED"
    assert [(h["user"], h["decision"], h["comment"]) for h in result["history"]] == [
        ("roads.lead", "승인", ""), ("traffic.chief", "승인", ""), ("roads.chief", "결재", "")]
    assert acts(city, iid) == [
        ("review", "roads.lead"), ("on_hold", "roads.lead"), ("review", "roads.lead"),
        ("concur", "traffic.chief"), ("on_hold", "traffic.chief"), ("concur", "traffic.chief"),
        ("approve", "roads.chief")]
    held = next(r for r in city.trail(iid) if r["element_id"] == "review" and r["action"] == "task.completed")
    assert held["changes"]["decision"] == ["", "보류"]
    assert city.verified()


# -- 병렬협조 ------------------------------------------------------------------------------------


def test_parallel_concurrers_act_at_once_and_both_must_concur_before_the_next_step(city: City) -> None:
    line = [LINE[0], step("협조", "traffic.chief", "welfare.chief"), LINE[2]]
    iid = submit(city, line=line)
    city.complete("roads.lead", iid, "review", {"decision": "승인"})
    concurs = sorted(t["assignee"] for t in city.instance(iid)["tasks"] if t["element_id"] == "concur")
    assert concurs == ["traffic.chief", "welfare.chief"]
    city.complete("welfare.chief", iid, "concur", {"decision": "승인", "comment": "이견 없음"})
    assert city.open_elements(iid) == ["concur", "withdraw"], "the step waits for the other concurrer"
    assert city.task("traffic.chief", iid, "concur")["assignee"] == "traffic.chief"
    city.complete("traffic.chief", iid, "concur", {"decision": "승인"})
    assert city.open_elements(iid) == ["approve", "withdraw"]
    city.complete("roads.chief", iid, "approve", {"decision": "결재"})
    city.work()
    result = data(city, iid)
    assert result["result"] == "APPROVED"
    assert [(h["step"], h["user"]) for h in result["history"]] == [
        (1, "roads.lead"), (2, "welfare.chief"), (2, "traffic.chief"), (3, "roads.chief")]
    assert acts(city, iid) == [("review", "roads.lead"), ("concur", "welfare.chief"), ("concur", "traffic.chief"),
                               ("approve", "roads.chief")]
    assert city.verified()


# -- the diagram -----------------------------------------------------------------------------


def test_every_bpmn_of_the_approval_folder_parses_with_its_diagram_intact() -> None:
    files = sorted(FOLDER.glob("*.bpmn"))
    assert files
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    for path in files:
        root = etree.parse(str(path), parser).getroot()
        shapes = {s.get("bpmnElement") for s in root.iter(f"{BPMNDI}BPMNShape")}
        edges = {e.get("bpmnElement") for e in root.iter(f"{BPMNDI}BPMNEdge")}
        nodes = list(root.iter(*(f"{BPMN}{tag}" for tag in FLOW_NODES)))
        flows = [el.get("id") for el in root.iter(f"{BPMN}sequenceFlow")]
        lanes = [el.get("id") for el in root.iter(f"{BPMN}lane", f"{BPMN}participant")]
        assert len(nodes) > 40 and flows and lanes
        assert [n.get("id") for n in nodes if n.get("id") not in shapes] == [], path.name
        assert [lane for lane in lanes if lane not in shapes] == [], path.name
        assert [f for f in flows if f not in edges] == [], path.name
        assert all(len(list(edge.iter(f"{DI}waypoint"))) >= 2 for edge in root.iter(f"{BPMNDI}BPMNEdge"))
        activities = [n for n in nodes if not n.tag.endswith(("Gateway", "Event"))]
        assert all(re.search(r"[가-힣]", a.get("name", "")) for a in activities), "every activity has a Korean name"


def test_every_record_of_a_documents_trail_is_at_the_citys_time_its_claims_comments_and_files_included(
    city: City,
) -> None:
    iid = submit(city, line=[LINE[0], LINE[2]])
    city.clock.advance(days=3)
    moment = city.clock.now
    review = city.task("roads.lead", iid, "review")
    assert city.api.call("GET", f"/api/tasks/{review['id']}", "roads.lead").status_code == 200  # 개봉
    assert city.api.call("POST", f"/api/tasks/{review['id']}/claim", "roads.lead").status_code == 200
    assert city.api.call("POST", f"/api/instances/{iid}/comments", "roads.lead", json={"body": "금액 확인 바랍니다"}).status_code == 201
    sent = city.api.call("POST", f"/api/instances/{iid}/attachments", "roads.lead",
                         files={"file": ("견적서.txt", "견적 금액 10,000,000원".encode(), "text/plain")})
    assert sent.status_code == 201, sent.text
    assert city.api.call("POST", f"/api/tasks/{review['id']}/unclaim", "roads.lead").status_code == 200
    later = [r for r in city.trail(iid) if r["action"] in
             ("task.opened", "task.claimed", "comment.added", "attachment.added", "task.unclaimed")]
    assert sorted(r["action"] for r in later) == sorted(
        ["task.opened", "task.claimed", "comment.added", "attachment.added", "task.unclaimed"])
    assert {datetime.fromisoformat(r["at"]) for r in later} == {moment}
    comments = city.api.call("GET", f"/api/instances/{iid}/comments", "roads.lead").json()
    files = city.api.call("GET", f"/api/instances/{iid}/attachments", "roads.lead").json()
    assert [datetime.fromisoformat(c["created_at"]) for c in comments] == [moment]
    assert [datetime.fromisoformat(f["uploaded_at"]) for f in files] == [moment]
    assert city.verified()


def test_each_person_is_told_in_their_own_language_the_arrival_and_the_approval_included(city: City) -> None:
    with city.database.unit_of_work() as session:
        session.execute(update(User).where(User.username.in_(["roads.staff", "roads.lead"])).values(locale="en"))
    iid = submit(city, line=[LINE[0], LINE[2]])
    arrived = city.api.call("GET", "/api/notifications", "roads.lead").json()["items"]
    assert [(n["title"], n["body"]) for n in arrived] == [("New task: Review", "보도 정비 계획")]
    city.complete("roads.lead", iid, "review", {"decision": "승인"})
    to_the_chief = city.api.call("GET", "/api/notifications", "roads.chief").json()["items"]
    assert [n["title"] for n in to_the_chief] == ["새 할 일: 결재"]  # the chief reads Korean
    city.complete("roads.chief", iid, "approve", {"decision": "결재"})
    city.work()
    told = city.api.call("GET", "/api/notifications", "roads.staff").json()["items"]
    number = city.instance(iid)["data"]["document_number"]
    assert [(n["title"], n["body"]) for n in told] == [
        ("Approved", f"“보도 정비 계획” has been approved. Document number {number}")]
