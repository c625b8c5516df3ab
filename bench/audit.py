"""P5: ``audit verify`` records per second, with keyed records (HMAC-SHA256 under the audit key).

A trail shaped like a city's is written in bulk through the engine's own append (so every link is
keyed as in production): chains of a hundred records, task steps with their changes in Korean,
then a checkpoint, anchored. The figure is the median of three full verifications (every link,
head, checkpoint and anchor line); the baseline, measured in the same run, is reading the same
records without verifying them (a plain SELECT of every column through SQLAlchemy Core).
"""

from __future__ import annotations

import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from bench.common import median_seconds, scratch_database
from bench.transitions import Figure
from engine import audit
from engine.config import Settings, get_settings
from engine.db import Database
from engine.models import AuditRecord, Instance, ProcessVersion

PER_CHAIN = 100
STEPS = [("task.ready", None, "READY", None), ("task.completed", "READY", "COMPLETED",
         {"approved": [None, True], "opinion": [None, "현장 확인 결과 보수가 필요함"]}),
         ("task.completed", "READY", "COMPLETED", {"department": [None, "도로과"], "due": [None, "2026-12-31"]})]


def fill(database: Database, chains: int, settings: Settings) -> int:
    """``chains`` instances of ``PER_CHAIN`` keyed records each, then a checkpoint appended to the anchor log."""
    start = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    with database.engine.begin() as connection:
        connection.execute(insert(ProcessVersion.__table__), [{
            "id": 1, "key": "directive", "version": 1, "hash": "0" * 64, "name": "지시사항", "entry_point": "directive",
            "files": {}, "spec": {}, "deployed_at": start, "deployed_by": "bench"}])
    for first in range(0, chains, 200):
        with database.unit_of_work() as session:
            rows: list[dict[str, Any]] = []
            for n in range(first, min(first + 200, chains)):
                instance = Instance(id=str(uuid.uuid4()), process_key="directive", audit_seq=0, audit_head="")
                entries = [audit.Entry(
                    action=action, actor="roads.staff" if changes else "system:engine", task_id=str(uuid.uuid4()),
                    element_id="review", element_name="검토", lane="도로과", from_state=old, to_state=new,
                    changes=changes, at=start + timedelta(minutes=n, seconds=k))
                    for k, (action, old, new, changes) in ((k, STEPS[k % 3]) for k in range(PER_CHAIN))]
                audit.append_to_instance(session, instance, entries, "v" * 64)
                rows.append({"id": instance.id, "process_version_id": 1, "process_key": "directive",
                             "status": "running", "initiator": "mayor", "data": {}, "state": "",
                             "audit_seq": instance.audit_seq, "audit_head": instance.audit_head, "lock_version": 1,
                             "started_at": start})
            session.connection().execute(insert(Instance.__table__), rows)
    with database.unit_of_work() as session:
        audit.write_checkpoint(session)
    with database.unit_of_work() as session:
        audit.anchor(session, settings)
    return chains * PER_CHAIN


def measure(label: str, url: str | None, quick: bool) -> list[Figure]:
    database = scratch_database(url)
    # Each database its own anchor log (a log holds one database's checkpoints).
    anchors = Path(tempfile.mkdtemp(prefix="cityflow-bench-anchors-")) / "audit-anchors.jsonl"
    settings = get_settings().model_copy(update={"audit_anchors": anchors})
    try:
        records = fill(database, 500 if quick else 2000, settings)

        def read_once() -> None:
            with database.engine.connect() as connection:
                for _ in connection.execute(select(AuditRecord.__table__).order_by(AuditRecord.id)).partitions(5000):
                    pass

        def verify_once() -> None:
            with database.unit_of_work() as session:
                result = audit.verify(session, settings=settings)
            assert result.ok, result.findings
            assert result.keys == {1: records}

        read = median_seconds(read_once, 3)
        verified = median_seconds(verify_once, 3)
        return [Figure("P5", f"audit verify, keyed records, {label} ({records:,} records)", records / verified,
                       records / read, "records/s", "≥ 50,000 records/s (baseline: reading them)")]
    finally:
        database.dispose()
