"""Two writers on one instance: one wins, the others get a named conflict, nothing is lost."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import func, select

from engine import instances
from engine.context import EngineContext
from engine.db import Database
from engine.errors import Conflict
from engine.models import AuditRecord
from tests.engine.helpers import Driver, bpmn, chain, process, user_task, write_folder

BODY = '<bpmn:startEvent id="start"/>' + user_task("approve") + user_task("file") + '<bpmn:endEvent id="end"/>'


def race_to_complete(database: Database, ctx: EngineContext, task_id: str, clients: int) -> list[str]:
    """``clients`` threads complete the same task at once; returns each one's outcome."""
    barrier = threading.Barrier(clients)
    outcomes: list[str] = []

    def client(n: int) -> None:
        barrier.wait()
        try:
            with database.unit_of_work() as session:
                instances.complete_task(session, ctx, task_id, {"approved_by": f"user{n}"}, f"user{n}")
            outcomes.append("ok")
        except Conflict as conflict:
            outcomes.append(conflict.name)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _one_task(driver: Driver, tmp_path: Path) -> tuple[str, str]:
    driver.deploy(write_folder(tmp_path, "race", {"race.bpmn": bpmn(process("race", BODY + chain("start", "approve", "file", "end")))}))
    instance = driver.start("race")
    return instance, driver.task_id(instance, "approve")


def test_ten_clients_completing_one_task_on_postgres_one_wins(postgres: Database, ctx: EngineContext, tmp_path: Path) -> None:
    driver = Driver(postgres, ctx)
    instance, task_id = _one_task(driver, tmp_path)
    outcomes = race_to_complete(postgres, ctx, task_id, clients=10)
    assert outcomes.count("ok") == 1, outcomes
    assert len(outcomes) == 10
    assert set(outcomes) - {"ok"} <= {"TaskNotReady", "ConcurrentUpdate"}
    with postgres.unit_of_work() as session:
        completed = session.execute(
            select(func.count()).where(AuditRecord.task_id == task_id, AuditRecord.action == "task.completed")
        ).scalar_one()
    assert completed == 1
    assert driver.ready(instance) == ["file"]
    assert driver.verify().ok


def test_concurrent_completions_on_either_database_lose_no_update(database: Database, ctx: EngineContext, tmp_path: Path) -> None:
    driver = Driver(database, ctx)
    instance, task_id = _one_task(driver, tmp_path)
    outcomes = race_to_complete(database, ctx, task_id, clients=4)
    assert outcomes.count("ok") == 1, outcomes
    winner = next(r for r in driver.trail(instance) if r["action"] == "task.completed" and r["element_id"] == "approve")
    assert driver.instance(instance).data["approved_by"] == winner["actor"]
    assert driver.verify().ok
