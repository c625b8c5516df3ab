"""Running processes: every step is its own unit of work, and the instance is reloaded from the database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import instances
from engine.context import EngineContext
from engine.errors import InstanceNotActive, InvalidInput, TaskNotFound, TaskNotReady
from engine.models import OpenTask
from tests.engine.helpers import Driver, bpmn, chain, flow, process, script_task, user_task, write_folder

START, END = '<bpmn:startEvent id="start"/>', '<bpmn:endEvent id="end"/>'


def deploy(driver: Driver, tmp_path: Path, key: str, body: str, **files: str) -> None:
    driver.deploy(write_folder(tmp_path, key, {f"{key}.bpmn": bpmn(process(key, body)), **files}))


def test_exclusive_gateway_follows_camunda_conditions_and_the_default(driver: Driver, tmp_path: Path) -> None:
    body = (
        START + user_task("decide") + '<bpmn:exclusiveGateway id="gw" default="f_small"/>'
        + user_task("big_review") + user_task("small_review") + END
        + chain("start", "decide", "gw")
        + flow("f_big", "gw", "big_review", "${amount &gt; 1000 &amp;&amp; !urgent}")
        + flow("f_small", "gw", "small_review")
        + chain("big_review", "end") + flow("f_small_end", "small_review", "end")
    )
    deploy(driver, tmp_path, "purchase", body)

    big = driver.start("purchase")
    driver.complete(big, "decide", {"amount": 5000, "urgent": False})
    assert driver.ready(big) == ["big_review"]

    small = driver.start("purchase")
    driver.complete(small, "decide", {"amount": 5000, "urgent": True})
    assert driver.ready(small) == ["small_review"]
    assert driver.complete(small, "small_review") == "completed"
    assert driver.completed_elements(small)[-2:] == ["small_review", "end"]


def test_parallel_gateway_waits_for_both_branches(driver: Driver, tmp_path: Path) -> None:
    body = (
        START + '<bpmn:parallelGateway id="split"/>' + user_task("legal") + user_task("budget")
        + '<bpmn:parallelGateway id="join"/>' + user_task("sign") + END
        + chain("start", "split") + chain("split", "legal") + flow("f2", "split", "budget")
        + chain("legal", "join") + flow("f3", "budget", "join") + chain("join", "sign", "end")
    )
    deploy(driver, tmp_path, "contract", body)
    instance = driver.start("contract")
    assert driver.ready(instance) == ["budget", "legal"]
    driver.complete(instance, "legal", {"legal_ok": True})
    assert driver.ready(instance) == ["budget"]
    driver.complete(instance, "budget", {"budget_ok": True})
    assert driver.ready(instance) == ["sign"]
    assert driver.complete(instance, "sign") == "completed"
    data = driver.instance(instance).data
    assert data["legal_ok"] is True
    assert data["budget_ok"] is True


def test_inclusive_gateway_activates_every_branch_whose_condition_holds(driver: Driver, tmp_path: Path) -> None:
    body = (
        START + user_task("classify") + '<bpmn:inclusiveGateway id="split"/>'
        + user_task("roads") + user_task("parks") + user_task("water")
        + '<bpmn:inclusiveGateway id="join"/>' + END
        + chain("start", "classify", "split")
        + flow("f_roads", "split", "roads", "'roads' in areas")
        + flow("f_parks", "split", "parks", "'parks' in areas")
        + flow("f_water", "split", "water", "'water' in areas")
        + flow("j1", "roads", "join") + flow("j2", "parks", "join") + flow("j3", "water", "join")
        + chain("join", "end")
    )
    deploy(driver, tmp_path, "complaint", body)
    instance = driver.start("complaint")
    driver.complete(instance, "classify", {"areas": ["roads", "water"]})
    assert driver.ready(instance) == ["roads", "water"]
    driver.complete(instance, "water")
    assert driver.ready(instance) == ["roads"]
    assert driver.complete(instance, "roads") == "completed"


def test_script_task_changes_are_recorded_on_its_completion(driver: Driver, tmp_path: Path) -> None:
    body = (
        START + user_task("enter") + script_task("compute", "total = sum(i['price'] * i['qty'] for i in items)\nitems.append({'price': 0, 'qty': 0})")
        + user_task("check") + END + chain("start", "enter", "compute", "check", "end")
    )
    deploy(driver, tmp_path, "order", body)
    instance = driver.start("order")
    driver.complete(instance, "enter", {"items": [{"price": 100, "qty": 3}]}, actor="kim")
    assert driver.instance(instance).data["total"] == 300
    records = {r["element_id"]: r for r in driver.trail(instance) if r["action"] == "task.completed"}
    assert records["enter"]["actor"] == "kim"
    assert records["enter"]["changes"] == {"items": [None, [{"price": 100, "qty": 3}]]}
    assert records["compute"]["actor"] == "system:engine"
    assert records["compute"]["changes"]["total"] == [None, 300]
    assert records["compute"]["changes"]["items"][1][-1] == {"price": 0, "qty": 0}


def test_embedded_subprocess_offers_its_user_task_and_then_continues(driver: Driver, tmp_path: Path) -> None:
    inner = (
        '<bpmn:startEvent id="inner_start"/>' + user_task("inspect") + '<bpmn:endEvent id="inner_end"/>'
        + chain("inner_start", "inspect", "inner_end")
    )
    body = (
        START + f'<bpmn:subProcess id="site_visit" name="현장 확인">{inner}</bpmn:subProcess>'
        + user_task("report") + END + chain("start", "site_visit", "report", "end")
    )
    deploy(driver, tmp_path, "field_check", body)
    instance = driver.start("field_check")
    assert driver.ready(instance) == ["inspect"]
    driver.complete(instance, "inspect", {"finding": "pothole"})
    assert driver.ready(instance) == ["report"]
    assert driver.complete(instance, "report") == "completed"
    assert "site_visit" in driver.completed_elements(instance)


def test_call_activity_runs_the_called_process_with_its_own_tasks(driver: Driver, tmp_path: Path) -> None:
    child = process("review_step", '<bpmn:startEvent id="c_start"/>' + user_task("review") + '<bpmn:endEvent id="c_end"/>'
                    + chain("c_start", "review", "c_end"))
    parent = process("memo", START + '<bpmn:callActivity id="call_review" calledElement="review_step"/>'
                     + user_task("file") + END + chain("start", "call_review", "file", "end"))
    driver.deploy(write_folder(tmp_path, "memo", {"memo.bpmn": bpmn(parent), "review_step.bpmn": bpmn(child)}))
    instance = driver.start("memo", {"subject": "budget"})
    assert driver.ready(instance) == ["review"]
    driver.complete(instance, "review", {"approved": True})
    assert driver.ready(instance) == ["file"]
    assert driver.instance(instance).data["approved"] is True
    assert driver.complete(instance, "file") == "completed"


DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="rules" name="rules" namespace="https://cityflow.example">
  <decision id="approver_rank" name="전결권자">
    <decisionTable id="table" hitPolicy="FIRST">
      <input id="in_amount" label="금액"><inputExpression id="e_amount" typeRef="number"><text>amount</text></inputExpression></input>
      <output id="out_rank" label="직급" name="rank" typeRef="string"/>
      <rule id="r1"><inputEntry id="r1i"><text>&lt; 1000000</text></inputEntry><outputEntry id="r1o"><text>"팀장"</text></outputEntry></rule>
      <rule id="r2"><inputEntry id="r2i"><text>&lt; 10000000</text></inputEntry><outputEntry id="r2o"><text>"과장"</text></outputEntry></rule>
      <rule id="r3"><inputEntry id="r3i"><text>-</text></inputEntry><outputEntry id="r3o"><text>"국장"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


@pytest.mark.parametrize(("amount", "rank"), [(500_000, "팀장"), (5_000_000, "과장"), (50_000_000, "국장")])
def test_business_rule_task_decides_with_the_dmn_table(driver: Driver, tmp_path: Path, amount: int, rank: str) -> None:
    body = (
        START + '<bpmn:businessRuleTask id="decide" camunda:decisionRef="approver_rank"/>'
        + user_task("approve") + END + chain("start", "decide", "approve", "end")
    )
    deploy(driver, tmp_path, "spend", body, **{"rules.dmn": DMN})
    instance = driver.start("spend", {"amount": amount})
    assert driver.instance(instance).data["rank"] == rank


def test_failing_script_leaves_the_instance_in_error_with_nothing_lost(driver: Driver, tmp_path: Path) -> None:
    body = START + user_task("enter") + script_task("divide", "share = total / people") + user_task("done") + END
    deploy(driver, tmp_path, "split_bill", body + chain("start", "enter", "divide", "done", "end"))
    instance = driver.start("split_bill")
    driver.complete(instance, "enter", {"total": 100, "people": 0}, actor="kim")

    broken = driver.instance(instance)
    assert broken.status == "error"
    assert broken.error is not None
    assert broken.error["element_id"] == "divide"
    assert "ZeroDivisionError" in broken.error["message"] or "division" in broken.error["message"]
    trail = driver.trail(instance)
    assert [r["action"] for r in trail[-2:]] == ["task.error", "instance.errored"]
    assert any(r["action"] == "task.completed" and r["element_id"] == "enter" and r["actor"] == "kim" for r in trail)
    assert driver.ready(instance) == []

    with driver.database.unit_of_work() as session:  # an administrator corrects the data, then retries
        instances.edit_data(session, driver.ctx, instance, {"people": 4}, "admin")
    with driver.database.unit_of_work() as session:
        assert instances.retry_instance(session, driver.ctx, instance, "admin").status == "running"
    assert driver.instance(instance).data["share"] == 25
    assert driver.ready(instance) == ["done"]
    actions = [r["action"] for r in driver.trail(instance)]
    assert actions.index("instance.data_edited") < actions.index("instance.retried")
    assert driver.verify(instance).ok


def test_endless_loop_in_a_script_is_stopped_and_recorded(database, tmp_path: Path) -> None:
    driver = Driver(database, EngineContext.create(script_time_limit=0.2))
    body = START + script_task("spin", "while True:\n    pass") + END + chain("start", "spin", "end")
    deploy(driver, tmp_path, "spinner", body)
    instance = driver.start("spinner")
    stopped = driver.instance(instance)
    assert stopped.status == "error"
    assert "timed out" in stopped.error["message"]
    assert driver.trail(instance)[-1]["detail"]["message"] == stopped.error["message"]


def test_cancel_withdraws_open_tasks_and_records_the_reason(driver: Driver, tmp_path: Path) -> None:
    body = START + '<bpmn:parallelGateway id="split"/>' + user_task("a") + user_task("b") + END
    deploy(driver, tmp_path, "twin", body + chain("start", "split", "a", "end") + flow("fb", "split", "b") + flow("fbe", "b", "end"))
    instance = driver.start("twin")
    with driver.database.unit_of_work() as session:
        instances.cancel_instance(session, driver.ctx, instance, "clerk", "duplicate request")
    assert driver.ready(instance) == []
    assert driver.instance(instance).status == "cancelled"
    trail = driver.trail(instance)
    assert sorted(r["element_id"] for r in trail if r["action"] == "task.cancelled" and r["element_id"] in ("a", "b")) == ["a", "b"]
    assert trail[-1]["action"] == "instance.cancelled"
    assert trail[-1]["detail"] == {"reason": "duplicate request"}
    with pytest.raises(InstanceNotActive), driver.database.unit_of_work() as session:
        instances.cancel_instance(session, driver.ctx, instance, "clerk")


def test_completing_twice_or_a_missing_task_is_a_named_error(driver: Driver, tmp_path: Path) -> None:
    deploy(driver, tmp_path, "single", START + user_task("only") + END + chain("start", "only", "end"))
    instance = driver.start("single")
    task_id = driver.task_id(instance, "only")
    with pytest.raises(InvalidInput), driver.database.unit_of_work() as session:
        instances.complete_task(session, driver.ctx, task_id, ["not", "an", "object"], "kim")  # type: ignore[arg-type]
    assert driver.ready(instance) == ["only"]
    driver.complete(instance, "only")
    with pytest.raises(TaskNotReady), driver.database.unit_of_work() as session:
        instances.complete_task(session, driver.ctx, task_id, {}, "kim")
    with pytest.raises(TaskNotFound), driver.database.unit_of_work() as session:
        instances.complete_task(session, driver.ctx, "00000000-0000-0000-0000-000000000000", {}, "kim")


def test_candidates_come_from_camunda_attributes_then_lane_then_initiator(driver: Driver, tmp_path: Path) -> None:
    lanes = (
        '<bpmn:laneSet id="ls"><bpmn:lane id="l1" name="기획조정실"><bpmn:flowNodeRef>by_lane</bpmn:flowNodeRef></bpmn:lane>'
        '<bpmn:lane id="l2" name="기안"><bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>by_expression</bpmn:flowNodeRef>'
        '<bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>'
    )
    body = (
        lanes + START
        + user_task("by_expression", attrs='camunda:assignee="${approver}" camunda:candidateGroups="finance, audit"')
        + user_task("by_lane") + END + chain("start", "by_expression", "by_lane", "end")
    )
    deploy(driver, tmp_path, "routing", body)
    instance = driver.start("routing", {"approver": "lee"}, initiator="kim")
    first = driver.open_task(instance, "by_expression")
    assert (first.assignee, first.candidate_groups) == ("lee", ["finance", "audit"])
    driver.complete(instance, "by_expression", actor="lee")
    second = driver.open_task(instance, "by_lane")
    assert (second.assignee, second.candidate_groups, second.lane) == (None, ["기획조정실"], "기획조정실")

    deploy(driver, tmp_path, "plain", START + user_task("mine") + END + chain("start", "mine", "end"))
    plain = driver.start("plain", initiator="park")
    assert driver.open_task(plain, "mine").assignee == "park"


def test_running_instance_stays_on_its_version_after_a_redeploy(driver: Driver, tmp_path: Path) -> None:
    v1 = START + user_task("first") + user_task("second") + END + chain("start", "first", "second", "end")
    v2 = START + user_task("first") + END + chain("start", "first", "end")
    deploy(driver, tmp_path / "v1", "flow", v1)
    old = driver.start("flow")
    deploy(driver, tmp_path / "v2", "flow", v2)
    new = driver.start("flow")

    driver.complete(old, "first")
    assert driver.ready(old) == ["second"]
    assert driver.complete(new, "first") == "completed"
    versions = {r["process_version"] for r in driver.trail(old)} | {r["process_version"] for r in driver.trail(new)}
    assert len(versions) == 2


def test_stored_state_holds_no_process_spec(driver: Driver, tmp_path: Path) -> None:
    deploy(driver, tmp_path, "lean", START + user_task("only", name="유일한 단계") + END + chain("start", "only", "end"))
    instance = driver.start("lean")
    state = json.loads(driver.instance(instance).state)
    assert "spec" not in state
    assert "subprocess_specs" not in state
    assert "유일한 단계" not in driver.instance(instance).state
    assert driver.count(OpenTask, instance_id=instance) == 1
