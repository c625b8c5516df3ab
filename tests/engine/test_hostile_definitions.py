"""BPMN that validates must run as modelled, or be refused by name at validate; an expression that
fails when the case reaches it stops the case in 오류 with its cause — never a traceback, never a task
nobody can complete."""

from __future__ import annotations

from pathlib import Path

from engine import definitions
from engine.context import EngineContext
from engine.db import Database
from tests.engine.helpers import Driver, bpmn, chain, process, script_task, user_task, write_folder


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
            + user_task("second", "검토", 'camunda:dueDate="${deadline.plusDays(2).toDate()}"')
            + '<bpmn:endEvent id="end"/>' + chain("start", "first", "second", "end"))
    driver.deploy(write_folder(tmp_path, "due", {"due.bpmn": bpmn(process("due", body))}))
    case = driver.start("due")
    assert driver.complete(case, "first") == "error"
    stopped = driver.instance(case)
    assert stopped.status == "error" and driver.ready(case) == []
    assert "deadline" in str(stopped.error)  # the data never said when the deadline is
    (errored,) = [r for r in driver.trail(case) if r["action"] == "instance.errored"]
    assert "deadline" in errored["detail"]["message"]
    assert driver.verify(case).ok


def chain_of_scripts(length: int) -> str:
    names = [f"s{n}" for n in range(length)]
    body = ('<bpmn:startEvent id="start"/>'
            + "".join(script_task(name, f"count = {n}") for n, name in enumerate(names))
            + '<bpmn:endEvent id="end"/>' + chain("start", *names, "end"))
    return bpmn(process("chain", body))


def test_a_chain_of_5000_script_tasks_is_refused_by_name_and_one_of_250_runs_to_its_end(
    driver: Driver, tmp_path: Path,
) -> None:
    folder = write_folder(tmp_path / "long", "chain", {"chain.bpmn": chain_of_scripts(5000)})
    problems = [str(p).split(": ", 1)[1] for p in definitions.check(definitions.read_source(folder)).problems]
    assert problems == ["PROCESS_TOO_LONG: chain: a path runs through 5,002 elements in a row; the engine follows "
                        "at most 300 — split it into sub-processes or call activities"]
    driver.deploy(write_folder(tmp_path / "short", "chain", {"chain.bpmn": chain_of_scripts(250)}))
    case = driver.start("chain")
    ran = driver.instance(case)
    assert (ran.status, ran.data["count"]) == ("completed", 249)
    assert driver.verify(case).ok


def test_a_script_that_would_leave_the_case_holding_too_much_stops_it_and_nothing_of_it_is_kept(
    database: Database, tmp_path: Path,
) -> None:
    driver = Driver(database, EngineContext.create(max_data_bytes=100_000))
    body = ('<bpmn:startEvent id="start"/>' + user_task("ask", "요청") + script_task("enlarge", "rows = [[0] * 10**6] * 30")
            + user_task("check", "확인") + '<bpmn:endEvent id="end"/>' + chain("start", "ask", "enlarge", "check", "end"))
    driver.deploy(write_folder(tmp_path, "grow", {"grow.bpmn": bpmn(process("grow", body))}))
    case = driver.start("grow", {"title": "대장 정리"})
    assert driver.complete(case, "ask", {"note": "확인 바랍니다"}) == "error"
    stopped = driver.instance(case)
    assert stopped.error["error"] == "DataTooLarge" and "100,000 bytes" in stopped.error["message"], stopped.error
    assert "rows" not in stopped.data and "note" not in stopped.data  # the step was not kept
    assert len(stopped.state) < 100_000
    assert [r["action"] for r in driver.trail(case)][-1] == "instance.errored"
    assert driver.verify(case).ok

    big = "가" * 60_000  # 180,000 bytes of UTF-8 from a person's form: the same refusal
    again = driver.start("grow")
    assert driver.complete(again, "ask", {"note": big}) == "error"
    assert driver.instance(again).error["error"] == "DataTooLarge"
