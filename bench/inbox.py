"""P4: ``GET /api/tasks`` with 100,000 open tasks and 1,000,000 audit records in the database."""

from __future__ import annotations

import hashlib
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert

from api.app import create_app
from bench.common import scratch_database
from engine import definitions
from engine.config import Settings
from engine.context import EngineContext
from engine.demo import DEMO_PASSWORD, seed_organisation
from engine.models import AuditRecord, Instance, OpenTask, ProcessVersion, TaskCandidate

ROOT = Path(__file__).resolve().parents[1]
GROUPS = ["도로과", "교통정책과", "복지정책과", "환경정책과", "자원순환과", "기획조정실"]


def fill(database: Any, tasks: int, records: int) -> None:
    """Bulk rows shaped like real ones: instances with open tasks offered to departments, and trails."""
    with database.unit_of_work() as session:
        seed_organisation(session)
        folder = ROOT / "workflows" / "suggestion"
        definitions.deploy(session, definitions.check(definitions.read_source(folder)), "bench")
    with database.unit_of_work() as session:
        version_id = session.query(ProcessVersion.id).scalar()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    per_instance_tasks, batch = 5, 5000
    instance_count = tasks // per_instance_tasks
    records_per_instance = max(1, records // instance_count)
    instance_ids = [str(uuid.uuid4()) for _ in range(instance_count)]
    with database.engine.begin() as connection:
        for first in range(0, instance_count, batch):
            ids = instance_ids[first:first + batch]
            connection.execute(insert(Instance.__table__), [
                {"id": i, "process_version_id": version_id, "process_key": "suggestion", "status": "running",
                 "business_key": None, "initiator": "roads.staff", "data": {"title": "bench"}, "state": "{}",
                 "error": None, "waits": None, "audit_seq": records_per_instance, "audit_head": "0" * 64,
                 "lock_version": 1, "started_at": start, "ended_at": None} for i in ids])
            rows, candidates, trail = [], [], []
            for n, instance_id in enumerate(ids):
                for k in range(per_instance_tasks):
                    task_id = str(uuid.uuid4())
                    group = GROUPS[(first + n + k) % len(GROUPS)]
                    rows.append({"id": task_id, "instance_id": instance_id, "process_key": "suggestion",
                                 "element_id": "review_suggestion", "name": "제안 검토", "lane": group,
                                 "assignee": None, "candidate_users": [], "candidate_groups": [group],
                                 "form_key": None, "claimed_by": None, "opened_at": None,
                                 "created_at": start + timedelta(seconds=first + n * 5 + k), "due_at": None})
                    candidates.append({"task_id": task_id, "kind": "group", "name": group})
                for seq in range(1, records_per_instance + 1):
                    digest = hashlib.sha256(f"{instance_id}{seq}".encode()).hexdigest()
                    trail.append({"chain": instance_id, "seq": seq, "instance_id": instance_id, "at": start,
                                  "actor": "system:engine", "action": "task.ready", "task_id": None,
                                  "element_id": "review_suggestion", "element_name": "제안 검토", "lane": None,
                                  "from_state": None, "to_state": "READY", "changes": None, "detail": None,
                                  "process_key": "suggestion", "process_version": "x", "prev_hash": digest,
                                  "hash": digest})
            connection.execute(insert(OpenTask.__table__), rows)
            connection.execute(insert(TaskCandidate.__table__), candidates)
            connection.execute(insert(AuditRecord.__table__), trail)
    if database.dialect == "postgresql":  # as autovacuum would, before anyone reads the inbox
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE")


def p95_ms(client: TestClient, path: str, headers: dict[str, str], requests: int) -> float:
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = client.get(path, headers=headers)
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
    return statistics.quantiles(times, n=20)[18] * 1000


def measure(label: str, url: str | None, quick: bool) -> list[tuple[str, float, float]]:
    """(what, p95 of GET /api/tasks, p95 of GET /api/me as the baseline) in milliseconds."""
    tasks, records = (10_000, 100_000) if quick else (100_000, 1_000_000)
    database = scratch_database(url)
    started = time.perf_counter()
    fill(database, tasks, records)
    print(f"  P4 {label}: {tasks:,} open tasks and {records:,} audit records written in "
          f"{time.perf_counter() - started:.0f} s")
    settings = Settings(var_dir=Path("/tmp/cityflow-bench-var"), audit_key="bench", secret_key="bench")
    app = create_app(settings, database, EngineContext.create())
    with TestClient(app) as client:
        token = client.post("/api/auth/token", json={"username": "roads.staff", "password": DEMO_PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        baseline = p95_ms(client, "/api/me", headers, 200)
        inbox = p95_ms(client, "/api/tasks?scope=all&limit=50", headers, 200)
        group = p95_ms(client, "/api/tasks?scope=group&limit=50", headers, 200)
    database.dispose()
    return [(f"GET /api/tasks?scope=all p95, {label} ({tasks:,} tasks)", inbox, baseline),
            (f"GET /api/tasks?scope=group p95, {label}", group, baseline)]
