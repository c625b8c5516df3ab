"""A workflow kept in memory between an instance's steps changes nothing anyone can see: the same
records, data and tasks as restoring it from the database every time; a step rolled back leaves
nothing kept, and a stored state changed elsewhere is read from the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine import instances
from engine.context import EngineContext
from engine.db import Database
from engine.workflow_cache import WorkflowCache
from tests.engine.helpers import Driver, bpmn, chain, process, script_task, user_task, write_folder

# A loop a person drives (report → review, reopened or closed), with a script between that counts.
LOOP = bpmn(process("loop", "".join([
    '<bpmn:startEvent id="start"/>',
    user_task("report"),
    script_task("count", "rounds = (rounds or 0) + 1"),
    user_task("review"),
    '<bpmn:exclusiveGateway id="again"/>',
    '<bpmn:endEvent id="end"/>',
    chain("start", "report", "count", "review", "again"),
    '<bpmn:sequenceFlow id="f_reopen" sourceRef="again" targetRef="report">'
    '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">reopen</bpmn:conditionExpression>'
    "</bpmn:sequenceFlow>",
    '<bpmn:sequenceFlow id="f_close" sourceRef="again" targetRef="end">'
    '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">not reopen</bpmn:conditionExpression>'
    "</bpmn:sequenceFlow>",
])))


class Restores:
    """Counts how often a stored state is restored (load_state), i.e. how often no kept workflow served."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = instances.load_state

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(instances, "load_state", counted)


def kept(size: int) -> EngineContext:
    context = EngineContext.create(script_time_limit=1.0)
    context.workflows = WorkflowCache(size=size)
    return context


def journey(driver: Driver) -> tuple[str, list[tuple[Any, ...]], dict[str, Any], str]:
    """Three rounds of the loop: what the trail says happened, the data, and where it ended."""
    instance_id = driver.start("loop", {"topic": "보도 정비", "rounds": 0})
    for round_ in range(3):
        driver.complete(instance_id, "report", {"note": f"round {round_}"})
        driver.complete(instance_id, "review", {"reopen": round_ < 2})
    trail = [(r["action"], r["element_id"], r["from_state"], r["to_state"], r["actor"], r["changes"])
             for r in driver.trail(instance_id)]
    instance = driver.instance(instance_id)
    return instance_id, trail, dict(instance.data), instance.status


def test_kept_workflows_change_nothing_anyone_sees(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_folder(tmp_path, "loop", {"loop.bpmn": LOOP})
    restores = Restores(monkeypatch)
    restoring, keeping = Driver(database, kept(0)), Driver(database, kept(16))
    restoring.deploy(folder)

    _, trail, data, status = journey(restoring)
    restored_every_step = restores.count
    restores.count = 0
    _, kept_trail, kept_data, kept_status = journey(keeping)

    assert restored_every_step == 6  # each completion restored the stored state
    assert restores.count == 0  # each completion took the workflow its previous step kept
    assert kept_trail == trail
    assert len(trail) > 20 and trail[-1][0] == "instance.completed"
    assert kept_data == data and data["rounds"] == 3 and data["note"] == "round 2"
    assert kept_status == status == "completed"
    assert restoring.verify().ok and keeping.verify().ok


def test_a_step_rolled_back_keeps_nothing(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    driver = Driver(database, kept(16))
    driver.deploy(write_folder(tmp_path, "loop", {"loop.bpmn": LOOP}))
    instance_id = driver.start("loop", {"rounds": 0})
    driver.complete(instance_id, "report", {"note": "first"})
    task_id = driver.task_id(instance_id, "review")

    def failing_request() -> None:
        with database.unit_of_work() as session:
            instances.complete_task(session, driver.ctx, task_id, {"reopen": False}, "staff")
            raise RuntimeError("the request failed after the step")  # its transaction rolls back

    with pytest.raises(RuntimeError):
        failing_request()
    assert len(driver.ctx.workflows) == 0  # the step that was kept by nobody left nothing behind

    restores = Restores(monkeypatch)
    assert driver.ready(instance_id) == ["review"]  # the database says the review still waits
    assert driver.complete(instance_id, "review", {"reopen": False}) == "completed"
    assert restores.count == 1  # read from the stored state, not from memory
    assert driver.verify(instance_id).ok


def test_a_state_changed_elsewhere_is_read_from_the_database(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, elsewhere = Driver(database, kept(16)), Driver(database, kept(16))  # two server processes
    here.deploy(write_folder(tmp_path, "loop", {"loop.bpmn": LOOP}))
    instance_id = here.start("loop", {"rounds": 0})
    here.complete(instance_id, "report", {"note": "from here"})
    with database.unit_of_work() as session:  # the other process corrects the data meanwhile
        instances.edit_data(session, elsewhere.ctx, instance_id, {"note": "corrected elsewhere"}, "admin")

    restores = Restores(monkeypatch)
    here.complete(instance_id, "review", {"reopen": True})

    assert restores.count == 1  # what this process kept was no longer what is stored
    assert here.instance(instance_id).data["note"] == "corrected elsewhere"
    assert here.verify(instance_id).ok
