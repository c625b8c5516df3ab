"""Loops run for as long as people need: state and cost do not grow, history stays in the audit trail."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from engine.models import AuditRecord, Instance
from engine.runtime import (
    compact,
    current_data,
    make_script_engine,
    new_workflow,
    ready_user_tasks,
    recording,
    run_engine,
)
from tests.engine.helpers import Driver, bpmn, chain, flow, process, script_task, user_task, write_folder

DIRECTIVE_LOOP = (
    '<bpmn:startEvent id="issued"/>' + user_task("respond", "추진상황 보고") + user_task("review", "검토")
    + '<bpmn:exclusiveGateway id="decision" default="to_closed"/><bpmn:endEvent id="closed"/>'
    + chain("issued", "respond", "review", "decision")
    + flow("reopen", "decision", "respond", "${reopen}") + flow("to_closed", "decision", "closed")
)


def test_a_directive_reopened_a_thousand_times_still_closes_with_every_iteration_on_record(
    driver: Driver, tmp_path: Path
) -> None:
    driver.deploy(write_folder(tmp_path, "directive_loop", {"d.bpmn": bpmn(process("directive_loop", DIRECTIVE_LOOP))}))
    instance = driver.start("directive_loop", {"title": "가로등 정비"})
    sizes = []
    for n in range(1, 1001):
        driver.complete(instance, "respond", {"report": f"{n}차 보고"}, actor="dept")
        driver.complete(instance, "review", {"reopen": True}, actor="planning")
        if n in (1, 1000):
            sizes.append(len(driver.instance(instance).state))
    driver.complete(instance, "respond", {"report": "완료 보고"}, actor="dept")
    assert driver.complete(instance, "review", {"reopen": False}, actor="planning") == "completed"

    assert sizes[1] <= sizes[0] * 1.2
    with driver.database.unit_of_work() as session:
        reports = session.execute(
            select(func.count()).where(
                AuditRecord.chain == instance, AuditRecord.element_id == "respond", AuditRecord.action == "task.completed"
            )
        ).scalar_one()
        final = session.get(Instance, instance)
        assert final is not None
        assert final.data["report"] == "완료 보고"
    assert reports == 1001
    result = driver.verify(instance)
    assert result.ok, result.first_broken
    assert result.records == len(driver.trail(instance))


LOOP_WITH_BRANCHES = (
    '<bpmn:startEvent id="start"/>' + user_task("draft")
    + '<bpmn:parallelGateway id="split"/>' + user_task("legal") + user_task("budget") + '<bpmn:parallelGateway id="join"/>'
    + script_task("count", "rounds = rounds + 1")
    + '<bpmn:exclusiveGateway id="again" default="finish"/>' + '<bpmn:endEvent id="end"/>'
    + chain("start", "draft", "split") + flow("to_legal", "split", "legal") + flow("to_budget", "split", "budget")
    + flow("legal_done", "legal", "join") + flow("budget_done", "budget", "join") + chain("join", "count", "again")
    + flow("revise", "again", "draft", "${revise}") + flow("finish", "again", "end")
)


def test_a_reloaded_instance_behaves_like_one_kept_in_memory_and_joins_wait_in_every_round(
    driver: Driver, tmp_path: Path
) -> None:
    """The stored path (compact, save, reload at every step) against one workflow object kept in memory.

    Both drop finished history, which is also what keeps the join honest: with every old round
    left in the tree, SpiffWorkflow's join counts an earlier round's branch and fires too early.
    """
    body = LOOP_WITH_BRANCHES
    folder = write_folder(tmp_path, "branches", {"b.bpmn": bpmn(process("branches", body))})
    driver.deploy(folder)
    instance = driver.start("branches", {"rounds": 0})

    from engine import definitions

    bundle = definitions.check(definitions.read_source(folder)).bundle
    reference = new_workflow(bundle, make_script_engine(1.0))
    reference.task_tree.data.update({"rounds": 0})
    with recording(reference) as recorder:
        run_engine(reference, recorder)

    steps = [("draft", {"text": "v1"}), ("budget", {"cost": 10}), ("legal", {"ok": False, "revise": True})] * 30
    steps += [("draft", {"text": "final"}), ("legal", {"ok": True}), ("budget", {"cost": 12, "revise": False})]
    for element, data in steps:
        driver.complete(instance, element, data)
        task = next(t for t in ready_user_tasks(reference) if t.task_spec.bpmn_id == element)
        with recording(reference) as recorder:
            task.data.update({**data, "completed_by": "staff", "acting_for": None})
            task.run()
            run_engine(reference, recorder)
        compact(reference)
        expected = sorted(t.task_spec.bpmn_id for t in ready_user_tasks(reference))
        assert driver.ready(instance) == expected, (steps.index((element, data)), element)
        assert driver.instance(instance).data == current_data(reference)
        if element == "legal" and data.get("ok"):
            assert expected == ["budget"], "the join fired before both branches were done"
    assert driver.instance(instance).status == "completed"
    assert reference.is_completed()
    assert driver.instance(instance).data["rounds"] == 31
