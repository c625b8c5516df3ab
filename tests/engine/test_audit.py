"""The audit trail cannot be altered unnoticed: verify names the first record that does not match."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from engine import audit
from engine.db import Database
from tests.engine.helpers import Driver, bpmn, chain, process, user_task, write_folder

BODY = (
    '<bpmn:startEvent id="start"/>' + user_task("draft") + user_task("approve") + '<bpmn:endEvent id="end"/>'
    + chain("start", "draft", "approve", "end")
)


@pytest.fixture
def finished(driver: Driver, tmp_path: Path) -> str:
    """One approval run to its end, plus a second instance left waiting."""
    driver.deploy(write_folder(tmp_path, "memo", {"memo.bpmn": bpmn(process("memo", BODY))}))
    instance = driver.start("memo", {"title": "예산 요청"})
    driver.complete(instance, "draft", {"body": "v1"}, actor="kim")
    driver.complete(instance, "approve", {"approved": True}, actor="lee")
    driver.start("memo", {"title": "다른 문서"})
    return instance


def sql(database: Database, statement: str, **params: object) -> None:
    with database.engine.begin() as connection:
        connection.execute(text(statement), params)


def test_an_untouched_trail_verifies(driver: Driver, finished: str) -> None:
    result = driver.verify()
    assert result.ok, result.first_broken
    assert result.records == driver.count(audit.AuditRecord)


def test_every_transition_is_on_record_in_order_with_actor_and_changes(driver: Driver, finished: str) -> None:
    trail = driver.trail(finished)
    assert [r["seq"] for r in trail] == list(range(1, len(trail) + 1))
    steps = [(r["action"], r["element_id"], r["actor"]) for r in trail]
    assert steps[0] == ("instance.created", None, "drafter")
    assert ("task.completed", "draft", "kim") in steps
    assert ("task.completed", "approve", "lee") in steps
    assert steps[-1] == ("instance.completed", None, "system:engine")
    approve = next(r for r in trail if r["element_id"] == "approve" and r["action"] == "task.completed")
    assert approve["changes"] == {"approved": [None, True]}
    assert approve["from_state"] == "READY"
    assert approve["to_state"] == "COMPLETED"
    states = {r["to_state"] for r in trail if r["action"].startswith("task.")}
    assert states <= {"READY", "WAITING", "COMPLETED", "CANCELLED", "ERROR"}


def test_an_edited_record_is_named(driver: Driver, finished: str) -> None:
    sql(driver.database, "UPDATE audit_records SET actor = 'mallory' WHERE chain = :c AND seq = 5", c=finished)
    result = driver.verify()
    assert not result.ok
    assert f"instance {finished} record #5" in result.first_broken
    assert "does not match its hash" in result.first_broken


def test_an_edited_record_with_a_recomputed_hash_breaks_the_next_link(driver: Driver, finished: str) -> None:
    with driver.database.unit_of_work() as session:
        row = next(r for r in audit.records(session, finished) if r["seq"] == 3)
    row["actor"] = "mallory"
    forged = audit.record_hash(row)
    sql(driver.database, "UPDATE audit_records SET actor = 'mallory', hash = :h WHERE chain = :c AND seq = 3",
        h=forged, c=finished)
    result = driver.verify()
    assert not result.ok
    assert f"instance {finished} record #4" in result.first_broken


def test_a_deleted_record_is_named(driver: Driver, finished: str) -> None:
    sql(driver.database, "DELETE FROM audit_records WHERE chain = :c AND seq = 4", c=finished)
    result = driver.verify()
    assert not result.ok
    assert f"instance {finished} record #4 is missing" in result.first_broken


def test_deleting_an_instances_last_record_is_noticed_by_its_head(driver: Driver, finished: str) -> None:
    last = len(driver.trail(finished))
    sql(driver.database, "DELETE FROM audit_records WHERE chain = :c AND seq = :s", c=finished, s=last)
    result = driver.verify()
    assert not result.ok
    assert f"instance {finished} record #{last} is missing" in result.first_broken


def test_a_tampered_deployment_record_in_the_system_chain_is_named(driver: Driver, finished: str) -> None:
    sql(driver.database, "UPDATE audit_records SET actor = 'mallory' WHERE chain = 'system' AND seq = 1")
    result = driver.verify()
    assert not result.ok
    assert "system chain record #1" in result.first_broken


def test_checkpoint_notices_a_whole_instance_deleted_with_its_records(driver: Driver, finished: str) -> None:
    with driver.database.unit_of_work() as session:
        audit.write_checkpoint(session, b"test-audit-key")
    assert driver.verify().ok
    for table, column in (("open_tasks", "instance_id"), ("audit_records", "chain"), ("instances", "id")):
        sql(driver.database, f"DELETE FROM {table} WHERE {column} = :c", c=finished)
    result = driver.verify()
    assert not result.ok
    assert f"instance {finished}" in result.first_broken
    assert "checkpoint #1" in result.first_broken


def test_a_checkpoint_signed_with_another_key_is_refused(driver: Driver, finished: str) -> None:
    with driver.database.unit_of_work() as session:
        audit.write_checkpoint(session, b"someone-elses-key")
    result = driver.verify()
    assert not result.ok
    assert "checkpoint #1: signature does not verify" in result.first_broken


def test_verify_of_one_instance_checks_only_its_chain(driver: Driver, finished: str) -> None:
    with driver.database.engine.connect() as connection:
        ids = connection.execute(text("SELECT id FROM instances")).scalars().all()
    other = next(c for c in ids if c != finished)
    sql(driver.database, "UPDATE audit_records SET actor = 'x' WHERE chain = :c AND seq = 1", c=other)
    assert driver.verify(finished).ok
    assert driver.verify(finished).records == len(driver.trail(finished))
    assert not driver.verify(other).ok


def test_export_as_jsonl_and_csv_carries_every_field(driver: Driver, finished: str) -> None:
    with driver.database.unit_of_work() as session:
        lines = list(audit.export(audit.records(session, finished), "jsonl"))
        csv_text = "".join(audit.export(audit.records(session, finished), "csv"))
    first = json.loads(lines[0])
    assert set(first) == set(audit.EXPORT_FIELDS)
    assert len(lines) == len(driver.trail(finished))
    header, *rows = csv_text.splitlines()
    assert header.split(",")[:3] == ["id", "chain", "seq"]
    assert len(rows) == len(lines)
