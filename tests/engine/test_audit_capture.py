"""Every transition reaches the audit trail however logging is configured: the engine captures them itself.

A server configures logging after it has imported the engine (``dictConfig`` and ``fileConfig``
disable every existing logger unless told otherwise), and an operator may silence SpiffWorkflow's
loggers. The runs under such a configuration happen in a child process, so that no other test's
logging is touched: the child imports the app, runs one instance through, reconfigures logging and
runs another; this process then reads both trails from the database.
"""

from __future__ import annotations

import json
import logging
import logging.config
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from SpiffWorkflow.task import Task

from engine import runtime
from engine.db import Database
from engine.instances import EngineContext
from engine.runtime import make_script_engine, new_workflow, recording, run_engine
from engine.worker import deliver_message
from tests.engine.helpers import Driver, bpmn, chain, process, script_task, user_task, write_folder

ROOT = Path(__file__).resolve().parents[2]

MEMO = (
    '<bpmn:startEvent id="start"/>' + user_task("draft") + script_task("count", "pages = len(body)")
    + user_task("approve") + '<bpmn:endEvent id="end"/>' + chain("start", "draft", "count", "approve", "end")
)
# One run: started, draft completed, approve completed.
EXPECTED = [
    ("instance.created", None),
    ("task.ready", "start"), ("task.completed", "start"), ("task.ready", "draft"),
    ("task.completed", "draft"), ("task.ready", "count"), ("task.completed", "count"), ("task.ready", "approve"),
    ("task.completed", "approve"), ("task.ready", "end"), ("task.completed", "end"),
    ("instance.completed", None),
]
# What a server's logging file typically says; ``disable_existing_loggers`` is left at its default (true).
LOGGING_INI = """\
[loggers]
keys=root

[handlers]
keys=console

[formatters]
keys=plain

[logger_root]
level=INFO
handlers=console

[handler_console]
class=StreamHandler
level=INFO
formatter=plain
args=(sys.stderr,)

[formatter_plain]
format=%(asctime)s %(levelname)s %(name)s %(message)s
"""


def _one_run(driver: Driver) -> str:
    instance = driver.start("memo", {"title": "예산 요청"})
    driver.complete(instance, "draft", {"body": "v1"}, actor="kim")
    driver.complete(instance, "approve", {"approved": True}, actor="lee")
    return instance


def _reconfigure(how: str, folder: Path) -> None:
    if how == "dictConfig":
        logging.config.dictConfig({"version": 1})
    elif how == "fileConfig":
        ini = folder / "logging.ini"
        ini.write_text(LOGGING_INI, encoding="utf-8")
        logging.config.fileConfig(ini)
    elif how == "silenced":
        logging.getLogger("spiff.task").setLevel(logging.CRITICAL)
        logging.disable(logging.CRITICAL)
    else:
        raise ValueError(how)


def _child(url: str, how: str, folder: str) -> None:
    """In the child process: the app's imports first, as in a server, then a run before and after ``how``."""
    from api.app import create_app  # noqa: F401  (imports the engine, as a server does before configuring logging)

    database = Database(url)
    driver = Driver(database, EngineContext.create(script_time_limit=1.0))
    before = _one_run(driver)
    _reconfigure(how, Path(folder))
    after = _one_run(driver)
    database.dispose()
    print(json.dumps({"before": before, "after": after, "disabled": logging.getLogger("spiff.task").disabled}))


def _runs_around(database: Database, driver: Driver, tmp_path: Path, how: str) -> dict[str, Any]:
    driver.deploy(write_folder(tmp_path, "memo", {"memo.bpmn": bpmn(process("memo", MEMO))}))
    url = database.engine.url.render_as_string(hide_password=False)
    done = subprocess.run(
        [sys.executable, "-m", "tests.engine.test_audit_capture", url, how, str(tmp_path)],
        cwd=ROOT, env=os.environ.copy(), capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _steps(driver: Driver, instance: str) -> list[tuple[str, str | None]]:
    return [(r["action"], r["element_id"]) for r in driver.trail(instance)]


def _assert_every_transition_on_record(driver: Driver, runs: dict[str, Any]) -> None:
    assert _steps(driver, runs["before"]) == EXPECTED
    assert _steps(driver, runs["after"]) == _steps(driver, runs["before"])
    for instance in (runs["before"], runs["after"]):
        result = driver.verify(instance)
        assert result.ok, result.first_broken


def test_a_dict_config_applied_after_the_app_is_imported_loses_no_transition(
    database: Database, driver: Driver, tmp_path: Path
) -> None:
    runs = _runs_around(database, driver, tmp_path, "dictConfig")
    assert runs["disabled"], "the configuration did disable SpiffWorkflow's loggers"
    _assert_every_transition_on_record(driver, runs)


def test_a_server_logging_file_read_by_file_config_loses_no_transition(
    database: Database, driver: Driver, tmp_path: Path
) -> None:
    runs = _runs_around(database, driver, tmp_path, "fileConfig")
    assert runs["disabled"]
    _assert_every_transition_on_record(driver, runs)


def test_spiffworkflow_logging_silenced_by_level_and_disable_loses_no_transition(
    database: Database, driver: Driver, tmp_path: Path
) -> None:
    runs = _runs_around(database, driver, tmp_path, "silenced")
    _assert_every_transition_on_record(driver, runs)


def test_the_engine_leaves_spiffworkflow_logging_to_the_operators() -> None:
    spiff_task = logging.getLogger("spiff.task")
    assert spiff_task.handlers == []
    assert spiff_task.propagate
    assert spiff_task.level == logging.NOTSET


def test_installing_the_hooks_again_records_each_transition_once(tmp_path: Path) -> None:
    from engine import definitions

    folder = write_folder(tmp_path, "memo", {"memo.bpmn": bpmn(process("memo", MEMO))})
    bundle = definitions.check(definitions.read_source(folder)).bundle
    runtime._observe_task_states()
    runtime._observe_task_states()
    assert Task._set_state.__wrapped__ is Task._cityflow_unhooked[0]
    workflow = new_workflow(bundle, make_script_engine(1.0))
    with recording(workflow) as recorder:
        run_engine(workflow, recorder)
    assert [(t.task.task_spec.bpmn_id, t.to_state) for t in recorder.transitions] == [
        ("start", "READY"), ("start", "COMPLETED"), ("draft", "READY"),
    ]


# Each instance of a multi-instance receive task is created WAITING and stays so until its message
# comes: no state change announces it, yet it is a transition like a plain receive task's.
REPLIES = (
    '<bpmn:startEvent id="start"/>'
    '<bpmn:receiveTask id="reply" name="reply" messageRef="answer"><bpmn:multiInstanceLoopCharacteristics>'
    "<bpmn:loopCardinality>2</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:receiveTask>"
    + user_task("close") + '<bpmn:endEvent id="end"/>' + chain("start", "reply", "close", "end")
)


def test_each_waiting_instance_of_a_multi_instance_receive_task_is_on_record(
    driver: Driver, tmp_path: Path
) -> None:
    driver.deploy(write_folder(tmp_path, "replies", {
        "r.bpmn": bpmn(process("replies", REPLIES), extra='<bpmn:message id="answer" name="answer"/>')}))
    instance = driver.start("replies")
    trail = driver.trail(instance)
    waiting = [r for r in trail if r["action"] == "task.waiting"]
    assert [(r["element_id"], r["from_state"], r["to_state"]) for r in waiting] == [("reply", None, "WAITING")] * 2
    assert len({r["task_id"] for r in waiting}) == 2

    with driver.database.unit_of_work() as session:
        deliver_message(session, driver.ctx, "answer", {}, {"text": "ok"})
    assert driver.ready(instance) == ["close"]
    received = [r for r in driver.trail(instance) if r["task_id"] in {w["task_id"] for w in waiting}]
    assert [(r["action"], r["from_state"]) for r in received if r["action"].startswith("task.")] == [
        ("task.waiting", None), ("task.waiting", None),
        ("task.ready", "WAITING"), ("task.ready", "WAITING"), ("task.completed", "READY"), ("task.completed", "READY"),
    ]
    result = driver.verify(instance)
    assert result.ok, result.first_broken


if __name__ == "__main__":
    _child(*sys.argv[1:4])
