"""The audit trail cannot be altered unnoticed by someone who has the database but not the audit key.

Every attack here is done as such an attacker would: raw SQL on the database, hashes recomputed
with plain sha256 (all one can compute without the key), the anchor log edited as a text file.
The trail was checkpointed and anchored first, as the worker does every minute. Each attack must
make ``verify`` fail with a finding that names what was done (its code and the record, chain,
checkpoint or line).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from engine import audit
from engine.clock import MovableClock
from engine.config import get_settings
from engine.context import EngineContext
from engine.db import Database
from tests.engine.helpers import Driver, bpmn, chain, process, user_task, write_folder

BODY = (
    '<bpmn:startEvent id="start"/>' + user_task("draft") + user_task("approve") + '<bpmn:endEvent id="end"/>'
    + chain("start", "draft", "approve", "end")
)


@pytest.fixture
def finished(driver: Driver, tmp_path: Path) -> str:
    """One approval run to its end, plus a second instance left waiting; then a checkpoint, anchored."""
    driver.deploy(write_folder(tmp_path, "memo", {"memo.bpmn": bpmn(process("memo", BODY))}))
    instance = driver.start("memo", {"title": "예산 요청"})
    driver.complete(instance, "draft", {"body": "v1"}, actor="kim")
    driver.complete(instance, "approve", {"approved": True}, actor="lee")
    driver.start("memo", {"title": "다른 문서"})
    checkpoint(driver.database)
    return instance


def checkpoint(database: Database) -> None:
    """What the worker does every minute: a checkpoint, committed, then appended to the anchor log."""
    with database.unit_of_work() as session:
        audit.write_checkpoint(session)
    with database.unit_of_work() as session:
        audit.anchor(session)


def sql(database: Database, statement: str, **params: object) -> int:
    with database.engine.begin() as connection:
        return connection.execute(text(statement), params).rowcount


def verify(driver: Driver, instance_id: str | None = None, later: timedelta = timedelta()) -> audit.Verification:
    with driver.database.unit_of_work() as session:
        return audit.verify(session, instance_id=instance_id, now=datetime.now(UTC) + later)


def found(result: audit.Verification, code: str) -> list[str]:
    """The messages of the findings with ``code``."""
    assert code in audit.FINDINGS
    return [finding.message for finding in result.findings if finding.code == code]


def other_instance(driver: Driver, instance_id: str) -> str:
    with driver.database.engine.connect() as connection:
        ids = connection.execute(text("SELECT id FROM instances")).scalars().all()
    return next(i for i in ids if i != instance_id)


def anchor_log() -> Path:
    return get_settings().audit_anchor_log


def recompute_without_the_key(driver: Driver, instance_id: str, from_seq: int, change: dict[str, Any],
                              unkeyed: bool = False) -> None:
    """Change a record and recompute the chain from it with plain sha256, moving the instance's head too:
    all an attacker without the key can do. ``unkeyed``: also mark the records as written before keys."""
    rows = driver.trail(instance_id)
    prev = rows[from_seq - 2]["hash"] if from_seq > 1 else audit.GENESIS
    for row in rows[from_seq - 1:]:
        if row["seq"] == from_seq:
            row.update(change)
        row["prev_hash"] = prev
        row["hash"] = prev = audit.record_hash(row)
        sql(driver.database, "UPDATE audit_records SET actor = :actor, prev_hash = :p, hash = :h, key_id = :k "
                             "WHERE chain = :c AND seq = :s", actor=row["actor"], p=row["prev_hash"], h=row["hash"],
            k=0 if unkeyed else row["key_id"], c=instance_id, s=row["seq"])
    sql(driver.database, "UPDATE instances SET audit_head = :h WHERE id = :c", h=prev, c=instance_id)


# -- what an untouched trail says ------------------------------------------------------------


def test_an_untouched_trail_verifies_with_every_record_keyed_and_anchored(driver: Driver, finished: str) -> None:
    result = verify(driver)
    assert result.ok, result.findings
    assert result.records == driver.count(audit.AuditRecord)
    assert result.keys == {1: result.records}
    assert result.legacy_records == 0
    assert result.checkpoints == 1 and result.anchors == 1
    assert result.newest_anchor is not None and result.newest_anchor["checkpoint"] == 1
    assert 0 <= result.newest_anchor["age_seconds"] < 60
    assert result.unanchored_records == 0
    assert result.lines()[-1] == f"verified {result.records} records"


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


def test_records_written_after_the_newest_anchor_are_the_window_verify_reports(driver: Driver,
                                                                                 finished: str) -> None:
    waiting = other_instance(driver, finished)
    anchored = driver.instance(waiting).audit_seq
    driver.complete(waiting, "draft", {"body": "초안"}, actor="kim")
    result = verify(driver)
    assert result.ok, result.findings
    assert result.unanchored_records == driver.instance(waiting).audit_seq - anchored > 0
    assert any("records written since are not anchored yet" in line for line in result.lines())
    checkpoint(driver.database)
    assert verify(driver).unanchored_records == 0


# -- records ---------------------------------------------------------------------------------


def test_an_edited_record_is_named(driver: Driver, finished: str) -> None:
    sql(driver.database, "UPDATE audit_records SET actor = 'mallory' WHERE chain = :c AND seq = 5", c=finished)
    result = verify(driver)
    (message,) = found(result, "record-altered")
    assert f"instance {finished} record #5" in message
    assert "does not match its hash under audit key 1" in message


def test_an_edited_record_with_its_hash_recomputed_without_the_key_is_named(driver: Driver, finished: str) -> None:
    recompute_without_the_key(driver, finished, 3, {"actor": "mallory"})
    result = verify(driver)
    assert not result.ok
    (message,) = found(result, "record-altered")
    assert f"instance {finished} record #3" in message


def test_a_chain_recomputed_as_if_written_before_keys_is_named(driver: Driver, finished: str) -> None:
    recompute_without_the_key(driver, finished, 4, {"actor": "mallory"}, unkeyed=True)
    result = verify(driver)
    (message,) = found(result, "record-unkeyed")
    assert f"instance {finished} record #4" in message
    assert "carries no audit key after keyed records" in message


def test_a_whole_chain_recomputed_as_if_written_before_keys_is_named(driver: Driver, finished: str) -> None:
    recompute_without_the_key(driver, finished, 1, {"actor": "mallory"}, unkeyed=True)
    result = verify(driver)
    (message,) = found(result, "record-unkeyed")
    assert "newer than the unkeyed records the checkpoints counted" in message
    assert f"instance {finished} record #1" in message
    assert found(result, "chain-differs"), "the checkpoint signed the chain's real head"


def test_a_deleted_record_in_the_middle_is_named(driver: Driver, finished: str) -> None:
    sql(driver.database, "DELETE FROM audit_records WHERE chain = :c AND seq = 4", c=finished)
    result = verify(driver)
    (message,) = found(result, "record-missing")
    assert f"instance {finished} record #4 is missing" in message


def test_deleting_an_instances_last_record_is_noticed_by_its_head(driver: Driver, finished: str) -> None:
    last = len(driver.trail(finished))
    sql(driver.database, "DELETE FROM audit_records WHERE chain = :c AND seq = :s", c=finished, s=last)
    result = verify(driver)
    assert f"instance {finished} record #{last} is missing" in found(result, "chain-head")[0]


def test_a_truncated_tail_with_the_head_rewritten_is_named_by_the_anchored_checkpoint(driver: Driver,
                                                                                        finished: str) -> None:
    trail = driver.trail(finished)
    keep = trail[-4]
    sql(driver.database, "DELETE FROM audit_records WHERE chain = :c AND seq > :s", c=finished, s=keep["seq"])
    sql(driver.database, "UPDATE instances SET audit_seq = :s, audit_head = :h WHERE id = :c",
        s=keep["seq"], h=keep["hash"], c=finished)
    result = verify(driver)
    (message,) = found(result, "chain-shorter")
    assert f"instance {finished}: records #{keep['seq'] + 1}–#{len(trail)} are missing" in message
    assert "checkpoint #1" in message
    assert found(result, "chain-head") == []  # the head was rewritten to match


def test_a_tampered_deployment_record_in_the_system_chain_is_named(driver: Driver, finished: str) -> None:
    sql(driver.database, "UPDATE audit_records SET actor = 'mallory' WHERE chain = 'system' AND seq = 1")
    result = verify(driver)
    assert "system chain record #1" in found(result, "record-altered")[0]


def test_a_whole_instance_deleted_with_its_records_is_named(driver: Driver, finished: str) -> None:
    records, waiting = len(driver.trail(finished)), other_instance(driver, finished)
    for table, column in (("audit_records", "chain"), ("instances", "id")):
        sql(driver.database, f"DELETE FROM {table} WHERE {column} = :c", c=finished)
    result = verify(driver)
    (message,) = found(result, "chain-gone")
    assert f"instance {finished} is gone: records #1–#{records}" in message
    assert "checkpoint #1" in message
    assert waiting not in " ".join(f.message for f in result.findings)


# -- checkpoints -----------------------------------------------------------------------------


def test_deleting_every_checkpoint_row_and_then_an_instance_is_named(driver: Driver, finished: str) -> None:
    assert sql(driver.database, "DELETE FROM audit_checkpoints") == 1
    for table, column in (("audit_records", "chain"), ("instances", "id")):
        sql(driver.database, f"DELETE FROM {table} WHERE {column} = :c", c=finished)
    result = verify(driver)
    assert "checkpoint #1 of the anchor log is not in the database" in found(result, "checkpoint-missing")[0]
    assert "it holds no checkpoint" in found(result, "rolled-back")[0]
    assert f"instance {finished} is gone" in found(result, "chain-gone")[0]


def test_deleting_only_the_newest_checkpoint_and_then_truncating_a_chain_is_named(driver: Driver,
                                                                                 finished: str) -> None:
    waiting = other_instance(driver, finished)
    driver.complete(waiting, "draft", {"body": "초안"}, actor="kim")
    checkpoint(driver.database)
    assert sql(driver.database, "DELETE FROM audit_checkpoints WHERE id = 2") == 1
    sql(driver.database, "DELETE FROM audit_records WHERE chain = :c AND seq > 3", c=waiting)
    head = driver.trail(waiting)[-1]
    sql(driver.database, "UPDATE instances SET audit_seq = 3, audit_head = :h WHERE id = :c", h=head["hash"],
        c=waiting)
    result = verify(driver)
    assert "checkpoint #2 of the anchor log is not in the database" in found(result, "checkpoint-missing")[0]
    assert "its newest checkpoint is #1" in found(result, "rolled-back")[0]
    (shorter,) = found(result, "chain-shorter")
    assert f"instance {waiting}: records #4–" in shorter and "checkpoint #2" in shorter


def test_deleting_the_first_checkpoint_breaks_the_checkpoint_chain(driver: Driver, finished: str) -> None:
    driver.complete(other_instance(driver, finished), "draft", {"body": "초안"}, actor="kim")
    checkpoint(driver.database)
    sql(driver.database, "DELETE FROM audit_checkpoints WHERE id = 1")
    result = verify(driver)
    assert "checkpoint #2, the first in the database, follows a checkpoint that is not there" in \
        found(result, "checkpoint-unlinked")[0]
    assert "checkpoint #1 of the anchor log is not in the database" in found(result, "checkpoint-missing")[0]


def test_an_edited_checkpoint_row_is_named(driver: Driver, finished: str) -> None:
    sql(driver.database, "UPDATE audit_checkpoints SET summary = NULL WHERE id = 1")
    result = verify(driver)
    assert "checkpoint #1" in found(result, "checkpoint-altered")[0]
    assert "checkpoint #1 in the database differs" not in " ".join(found(result, "checkpoint-differs"))


def test_a_checkpoint_signed_with_another_key_is_refused(driver: Driver, finished: str) -> None:
    with driver.database.unit_of_work() as session:
        audit.write_checkpoint(session, b"someone-elses-key")
    result = verify(driver)
    assert "checkpoint #2: signature does not verify with audit key 1" in found(result, "checkpoint-signature")[0]


def test_records_older_than_the_interval_with_no_checkpoint_at_all_are_named(database: Database,
                                                                             finished: str) -> None:
    sql(database, "DELETE FROM audit_checkpoints")
    anchor_log().unlink()
    quick = Driver(database, EngineContext.create(clock=MovableClock(datetime.now(UTC) + timedelta(minutes=2))))
    waiting = other_instance(quick, finished)
    quick.complete(waiting, "draft", {"body": "초안"}, actor="kim")
    assert verify(quick, later=timedelta(minutes=2)).ok, "records two minutes old may wait for the next checkpoint"
    later = Driver(database, EngineContext.create(clock=MovableClock(datetime.now(UTC) + timedelta(minutes=10))))
    later.complete(waiting, "approve", {"approved": True}, actor="lee")
    result = verify(later, later=timedelta(minutes=10))
    (message,) = found(result, "never-checkpointed")
    assert "there is no checkpoint at all" in message and "more than 150 s before the newest one of their chain" in message
    assert f"instance {waiting} record #1" in message


# -- the anchor log --------------------------------------------------------------------------


def test_an_edited_anchor_line_is_named(driver: Driver, finished: str) -> None:
    line = json.loads(anchor_log().read_text())
    line["heads"][finished][0] -= 2  # pretend the chain was shorter when anchored
    anchor_log().write_text(json.dumps(line) + "\n")
    result = verify(driver)
    assert "anchor log line 1 (checkpoint #1) does not match its signature" in found(result, "anchor-altered")[0]


def test_a_line_removed_from_the_middle_of_the_anchor_log_is_named(driver: Driver, finished: str) -> None:
    waiting = other_instance(driver, finished)
    for element in ("draft", "approve"):
        driver.complete(waiting, element, {"body": "초안"}, actor="kim")
        checkpoint(driver.database)
    lines = anchor_log().read_text().splitlines()
    assert len(lines) == 3
    anchor_log().write_text(lines[0] + "\n" + lines[2] + "\n")
    result = verify(driver)
    assert "anchor log line 2: checkpoint #3 does not follow checkpoint #1" in found(result, "anchor-unlinked")[0]


def test_a_cut_anchor_log_is_named_once_its_checkpoint_had_time_to_reach_it(driver: Driver, finished: str) -> None:
    driver.complete(other_instance(driver, finished), "draft", {"body": "초안"}, actor="kim")
    with driver.database.unit_of_work() as session:
        audit.write_checkpoint(session)  # committed, its anchor line not written yet
    assert verify(driver).ok
    result = verify(driver, later=timedelta(minutes=5))
    assert "checkpoint #2 (the newest at" in found(result, "checkpoint-unanchored")[0]


def test_a_missing_anchor_log_is_named(driver: Driver, finished: str) -> None:
    anchor_log().unlink()
    result = verify(driver, later=timedelta(minutes=5))
    assert f"the anchor log {anchor_log()} is missing, and the database has checkpoint #1" in \
        found(result, "anchor-log-missing")[0]


# -- one instance, exports -------------------------------------------------------------------


def test_verify_of_one_instance_checks_only_its_chain_and_says_how_far_it_is_anchored(driver: Driver,
                                                                                       finished: str) -> None:
    other = other_instance(driver, finished)
    sql(driver.database, "UPDATE audit_records SET actor = 'x' WHERE chain = :c AND seq = 1", c=other)
    mine = verify(driver, finished)
    assert mine.ok, mine.findings
    assert mine.records == len(driver.trail(finished))
    assert mine.chain_anchor is not None
    assert (mine.chain_anchor["checkpoint"], mine.chain_anchor["seq"]) == (1, len(driver.trail(finished)))
    assert not verify(driver, other).ok
    with driver.database.unit_of_work() as session:
        held = audit.chain_checkpoint(session, finished)
    assert held is not None and (held.checkpoint_id, held.seq) == (1, len(driver.trail(finished)))


def test_export_as_jsonl_and_csv_carries_every_field(driver: Driver, finished: str) -> None:
    with driver.database.unit_of_work() as session:
        lines = list(audit.export(audit.records(session, finished), "jsonl"))
        csv_text = "".join(audit.export(audit.records(session, finished), "csv"))
    first = json.loads(lines[0])
    assert set(first) == set(audit.EXPORT_FIELDS)
    assert first["key_id"] == 1
    assert audit.record_link(first, audit.keyring()) == first["hash"]
    assert len(lines) == len(driver.trail(finished))
    header, *rows = csv_text.splitlines()
    assert header.split(",")[:3] == ["id", "chain", "seq"]
    assert len(rows) == len(lines)


def test_the_database_writes_each_keyed_message_as_cityflow_did_whatever_the_text(
        driver: Driver, finished: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify reads each message as the database writes it; for every character a record may hold it must
    be the text cityflow keyed, or every record would be read a second time (and P5 lost)."""
    awkward = 'quote " backslash \\ slash / tab \t newline \n nul-ish \x01 \x1f del \x7f 한글 ￦ \u2028 🏛'
    with driver.database.unit_of_work() as session:
        audit.append_to_system(session, audit.Entry(
            action="comment.added", actor=awkward, element_name=awkward, lane="도로과 \"A\"",
            changes={awkward: [None, awkward], "n": [1.5, -0.0], "big": [10**20, 1e100], "t": [True, False]},
            detail={"nested": {"é": ["\\u0041", {"": None}]}, "list": [awkward] * 3}))
    read_again: list[int] = []
    monkeypatch.setattr(audit._Verifier, "recheck", lambda self, row_id, stored: read_again.append(row_id))
    result = verify(driver)
    assert result.ok, result.findings
    assert read_again == []
    record = next(r for r in driver.trail("system") if r["action"] == "comment.added")
    assert record["actor"] == awkward and record["changes"][awkward] == [None, awkward]
