"""BPMN that validates must run as modelled, or be refused by name at validate; an expression that
fails when the case reaches it stops the case in 오류 with its cause — never a traceback, never a task
nobody can complete."""

from __future__ import annotations

from pathlib import Path

from engine import definitions
from tests.engine.helpers import Driver, bpmn, chain, process, user_task, write_folder


def test_ids_the_engine_keeps_for_itself_are_refused_by_name_at_validate(tmp_path: Path) -> None:
    body = ('<bpmn:startEvent id="Start"/>' + user_task("work") + '<bpmn:endEvent id="End"/>'
            + chain("Start", "work", "End"))
    folder = write_folder(tmp_path, "reserved", {"reserved.bpmn": bpmn(process("reserved", body))})
    problems = [str(p).split(": ", 1)[1] for p in definitions.check(definitions.read_source(folder)).problems]
    assert problems == [
        "RESERVED_ID: Start: the id 'Start' is one the engine uses for itself; give the element another id "
        "(e.g. 'start_1')",
        "RESERVED_ID: End: the id 'End' is one the engine uses for itself; give the element another id "
        "(e.g. 'end_1')",
    ]


def test_a_due_date_that_cannot_be_computed_stops_the_case_in_error_with_its_cause(
    driver: Driver, tmp_path: Path,
) -> None:
    body = ('<bpmn:startEvent id="start"/>' + user_task("first", "접수")
            + user_task("second", "검토", 'camunda:dueDate="${dateTime().plusDays(2).toDate()}"')
            + '<bpmn:endEvent id="end"/>' + chain("start", "first", "second", "end"))
    driver.deploy(write_folder(tmp_path, "due", {"due.bpmn": bpmn(process("due", body))}))
    case = driver.start("due")
    assert driver.complete(case, "first") == "error"
    stopped = driver.instance(case)
    assert stopped.status == "error" and driver.ready(case) == []
    assert "dateTime" in str(stopped.error)
    (errored,) = [r for r in driver.trail(case) if r["action"] == "instance.errored"]
    assert "dateTime" in errored["detail"]["message"]
    assert driver.verify(case).ok
