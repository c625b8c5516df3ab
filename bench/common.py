"""What every benchmark shares: a scratch database, a deployed loop process, a timer."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from engine import definitions
from engine.db import Database
from engine.migrate import upgrade
from engine.models import Base

LOOP_PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="bench" targetNamespace="https://cityflow.example/bench">
  <bpmn:process id="directive_loop" name="지시사항 (반복)" isExecutable="true">
    <bpmn:startEvent id="issued"/>
    <bpmn:userTask id="respond" name="추진상황 보고"/>
    <bpmn:userTask id="review" name="검토"/>
    <bpmn:exclusiveGateway id="decision" default="to_closed"/>
    <bpmn:endEvent id="closed"/>
    <bpmn:sequenceFlow id="to_respond" sourceRef="issued" targetRef="respond"/>
    <bpmn:sequenceFlow id="to_review" sourceRef="respond" targetRef="review"/>
    <bpmn:sequenceFlow id="to_decision" sourceRef="review" targetRef="decision"/>
    <bpmn:sequenceFlow id="reopen" sourceRef="decision" targetRef="respond">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${reopen}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_closed" sourceRef="decision" targetRef="closed"/>
  </bpmn:process>
</bpmn:definitions>
"""


def scratch_database(url: str | None) -> Database:
    """A migrated, empty database: a temporary SQLite file, or the PostgreSQL at ``url``."""
    if url is None:
        path = Path(tempfile.mkdtemp(prefix="cityflow-bench-")) / "bench.db"
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(url)
        with database.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    upgrade(database.engine)
    with database.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    return database


def deploy_loop(database: Database) -> None:
    folder = Path(tempfile.mkdtemp(prefix="cityflow-bench-")) / "directive_loop"
    folder.mkdir()
    (folder / "directive_loop.bpmn").write_text(LOOP_PROCESS, encoding="utf-8")
    checked = definitions.check(definitions.read_source(folder))
    assert not checked.problems, checked.problems
    with database.unit_of_work() as session:
        definitions.deploy(session, checked, "bench")


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``action`` over ``repeat`` runs (after one warm-up run)."""
    action()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)
