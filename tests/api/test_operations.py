"""What an operator sees: /healthz and /readyz, Prometheus /metrics, request ids in logs, a logging file.

The metrics are read as Prometheus reads them (the text exposition, parsed); counters are compared
before and after what a test does, since they count for the whole process.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, text, update

from api import logs
from api.app import create_app
from api.operations import worker_app
from engine import audit, handlers, instances
from engine.config import Settings
from engine.context import EngineContext
from engine.db import Database
from engine.demo import DEMO_PASSWORD
from engine.migrate import alembic_config, head_revisions
from engine.models import AuditCheckpoint, AuditRecord, Job, Timer
from engine.worker import Worker
from tests.api.conftest import Api, seed
from tests.engine.helpers import bpmn, chain, process, user_task, write_folder

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = ("127.0.0.1", 41000)
ELSEWHERE = ("203.0.113.9", 41000)
LINE = [{"kind": "검토", "people": [{"user": "roads.lead"}]}, {"kind": "결재", "people": [{"user": "roads.chief"}]}]


# -- helpers ---------------------------------------------------------------------------------------


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(exposition: str) -> Samples:
    """Every sample of a Prometheus text exposition: (name, sorted labels) → value."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(exposition) for s in family.samples}


def scrape(app: FastAPI, **headers: str) -> Samples:
    answer = TestClient(app, client=LOOPBACK).get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return parse(answer.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def task(instance: dict[str, Any], element_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [t for t in instance["tasks"] if t["element_id"] == element_id]
    assert len(found) == 1, f"{len(found)} open tasks {element_id}"
    return found[0]


class HttpApi(Api):
    """The API of a server at ``base`` over HTTP, one demo user at a time, as ``Api`` is over a TestClient."""

    def __init__(self, base: str) -> None:
        super().__init__(None)  # type: ignore[arg-type]
        self.base = base

    def call(self, method: str, path: str, username: str | None = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if username is not None:
            headers.update(self.headers(username))
        return httpx.request(method, self.base + path, headers=headers, timeout=60, **kwargs)

    def token(self, username: str) -> str:
        if username not in self._tokens:
            answer = self.call("POST", "/api/auth/token", json={"username": username, "password": DEMO_PASSWORD})
            self._tokens[username] = str(answer.json()["access_token"])
        return self._tokens[username]


def approve_a_document(api: Api) -> dict[str, Any]:
    """The drafter submits, the team leader reviews, the chief approves: a real 결재 through the API."""
    started = api.call("POST", "/api/instances", "roads.staff", headers={"X-Request-ID": "step-draft"}, json={
        "process_key": "approval",
        "data": {"title": "보도 정비 계획", "body": "보도블록 교체", "doc_type": "일반", "line": LINE}})
    assert started.status_code == 201, started.text
    document: dict[str, Any] = started.json()
    reviewed = api.call("POST", f"/api/tasks/{task(document, 'review')['id']}/complete", "roads.lead",
                        headers={"X-Request-ID": "step-review"}, json={"data": {"decision": "승인"}})
    assert reviewed.status_code == 200, reviewed.text
    approved = api.call("POST", f"/api/tasks/{task(reviewed.json(), 'approve')['id']}/complete", "roads.chief",
                        headers={"X-Request-ID": "step-approve"}, json={"data": {"decision": "결재"}})
    assert approved.status_code == 200, approved.text
    return document


def records_by_kind(database: Database) -> Counter[str]:
    with database.unit_of_work() as session:
        rows = session.execute(select(AuditRecord.action, func.count()).group_by(AuditRecord.action))
        return Counter(dict(rows.all()))


def unreachable(database: Database, tmp_path: Path) -> Database:
    """A database of the same kind that does not answer: nothing listens on the port; a file that is no database."""
    if database.dialect == "postgresql":
        return Database("postgresql+psycopg://cityflow:cityflow@127.0.0.1:9/cityflow", connect_args={"connect_timeout": 3})
    garbage = tmp_path / "not-a-database.db"
    garbage.write_bytes(b"this is not a database file" * 100)
    return Database(f"sqlite:///{garbage}")


# -- health ----------------------------------------------------------------------------------------


def test_a_live_process_answers_healthz_even_when_its_database_does_not(
    database: Database, ctx: EngineContext, settings: Settings, tmp_path: Path
) -> None:
    down = unreachable(database, tmp_path)
    client = TestClient(create_app(settings, down, ctx))
    alive = client.get("/healthz")
    assert (alive.status_code, alive.text) == (200, "ok\n")
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.text.startswith("not ready: the database does not answer")
    down.dispose()


def test_ready_when_the_database_answers_at_the_newest_schema(client: TestClient) -> None:
    ready = client.get("/readyz")
    assert (ready.status_code, ready.text) == (200, "ready\n")


def test_not_ready_while_the_database_schema_is_behind_the_code(database: Database, client: TestClient) -> None:
    from alembic.script import ScriptDirectory

    (head,) = head_revisions()
    previous = ScriptDirectory.from_config(alembic_config()).get_revision(head).down_revision
    assert isinstance(previous, str)
    with database.engine.begin() as connection:  # as after new code was installed but not yet migrated
        connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": previous})
    try:
        answer = client.get("/readyz")
        assert answer.status_code == 503
        assert answer.text == f"not ready: the database schema is at {previous}, this code needs {head}: " \
                              "run `cityflow init`\n"
        assert client.get("/healthz").status_code == 200
    finally:
        with database.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    assert client.get("/readyz").status_code == 200


def test_health_and_metrics_are_no_part_of_the_api_description(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    assert not {"/healthz", "/readyz", "/metrics"} & set(paths)


# -- metrics ---------------------------------------------------------------------------------------


def test_an_approval_shows_in_the_metrics_as_requests_transitions_and_jobs(
    app: FastAPI, api: Api, database: Database, ctx: EngineContext, settings: Settings
) -> None:
    before, records_before = scrape(app), records_by_kind(database)
    document = approve_a_document(api)
    worked = Worker(database, ctx, settings).drain()  # the service tasks after the approval; a checkpoint
    assert api.call("GET", f"/api/instances/{document['id']}", "roads.staff").json()["status"] == "completed"
    after = scrape(app)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # Requests by route template, never by the path with a task's id in it.
    complete = {"method": "POST", "route": "/api/tasks/{task_id}/complete"}
    assert delta("cityflow_http_requests_total", **complete, status="2xx") == 2
    assert delta("cityflow_http_request_duration_seconds_count", **complete) == 2
    assert delta("cityflow_http_request_duration_seconds_sum", **complete) > 0
    assert delta("cityflow_http_requests_total", method="POST", route="/api/instances", status="2xx") == 1
    routes = {dict(labels).get("route") for (_, labels) in after}
    assert not any(route and re.search(r"[0-9a-f]{8}-[0-9a-f]{4}", route) for route in routes)

    # Each audit record committed counts once, by its kind: the metric agrees with the trail.
    written = records_by_kind(database) - records_before
    counted = {kind: delta("cityflow_transitions_total", kind=kind) for kind in written}
    assert counted == dict(written)
    assert written["instance.created"] == 1 and written["instance.completed"] == 1
    assert written["task.completed"] >= 4 and written["job.completed"] == 3

    # What the worker did.
    assert worked.jobs == 3
    assert delta("cityflow_worker_jobs_total", kind="service_task", outcome="done") == 3
    assert delta("cityflow_worker_jobs_total", kind="checkpoint", outcome="done") == 1

    # The database's view: nothing waits; the worker's checkpoint came after its first job, so the later
    # jobs' records wait for the next one — until an operator writes it.
    assert value(after, "cityflow_database_up") == 1
    assert value(after, "cityflow_open_incidents") == 0
    assert value(after, "cityflow_timer_lag_seconds") == 0
    assert 0 <= value(after, "cityflow_audit_checkpoint_age_seconds") < 60
    assert 0 < value(after, "cityflow_audit_unsealed_seconds") < 60
    with database.unit_of_work() as session:
        assert audit.write_checkpoint(session) is not None
    sealed = scrape(app)
    assert value(sealed, "cityflow_audit_unsealed_seconds") == 0
    assert value(sealed, "cityflow_audit_checkpoint_age_seconds") < 5


def test_a_refused_step_counts_as_a_request_but_not_as_a_transition(
    app: FastAPI, api: Api, database: Database
) -> None:
    document = api.start("roads.staff", "approval", {"title": "t", "body": "b", "doc_type": "일반", "line": LINE})
    before, records_before = scrape(app), records_by_kind(database)
    refused = api.call("POST", f"/api/tasks/{task(document, 'review')['id']}/complete", "roads.lead",
                       json={"data": {"decision": "아마도"}})
    assert refused.status_code == 422
    after = scrape(app)
    assert records_by_kind(database) == records_before
    assert {k: v for k, v in after.items() if k[0] == "cityflow_transitions_total"} == \
           {k: v for k, v in before.items() if k[0] == "cityflow_transitions_total"}
    labels = {"method": "POST", "route": "/api/tasks/{task_id}/complete", "status": "4xx"}
    assert value(after, "cityflow_http_requests_total", **labels) - value(before, "cityflow_http_requests_total",
                                                                          **labels) == 1


def test_the_gauges_show_an_open_incident_a_late_timer_and_an_old_checkpoint(
    app: FastAPI, api: Api, database: Database, ctx: EngineContext
) -> None:
    document = api.start("roads.staff", "approval", {"title": "t", "body": "b", "doc_type": "일반", "line": LINE})
    now = ctx.clock()
    with database.unit_of_work() as session:
        session.add(Job(instance_id=document["id"], task_id=str(uuid.uuid4()), element_id="notify_approved",
                        handler="notify", attempts=3, status="incident", due_at=now, last_error="mail server down"))
        session.add(Timer(instance_id=document["id"], task_id=str(uuid.uuid4()), element_id="reminder",
                          due_at=now - timedelta(seconds=90)))
        checkpoint = audit.write_checkpoint(session)
        assert checkpoint is not None
        session.execute(update(AuditCheckpoint).where(AuditCheckpoint.id == checkpoint.id)
                        .values(at=now - timedelta(minutes=10)))
    shown = scrape(app)
    assert value(shown, "cityflow_open_incidents") == 1
    assert 90 <= value(shown, "cityflow_timer_lag_seconds") < 150
    assert 600 <= value(shown, "cityflow_audit_checkpoint_age_seconds") < 660
    assert value(shown, "cityflow_audit_unsealed_seconds") > 0  # the case's records wait for the next checkpoint


def test_a_scrape_while_the_database_is_down_still_reports_the_counters(
    database: Database, ctx: EngineContext, settings: Settings, tmp_path: Path
) -> None:
    down = unreachable(database, tmp_path)
    app = create_app(settings, down, ctx)
    TestClient(app).get("/healthz")
    shown = scrape(app)
    assert value(shown, "cityflow_database_up") == 0
    assert value(shown, "cityflow_http_requests_total", method="GET", route="/healthz", status="2xx") >= 1
    assert ("cityflow_open_incidents", ()) not in shown
    down.dispose()


def test_metrics_are_read_from_this_machine_only_unless_a_token_is_set(app: FastAPI) -> None:
    assert TestClient(app, client=LOOPBACK).get("/metrics").status_code == 200
    assert TestClient(app, client=("::1", 41000)).get("/metrics").status_code == 200
    elsewhere = TestClient(app, client=ELSEWHERE).get("/metrics")
    assert elsewhere.status_code == 403
    assert "CITYFLOW_METRICS_TOKEN" in elsewhere.text
    # A reverse proxy on this machine connects from loopback; what it forwards came from further away.
    proxied = TestClient(app, client=LOOPBACK).get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"})
    assert proxied.status_code == 403


def test_with_a_metrics_token_a_scraper_anywhere_reads_them_with_it_and_nobody_without(
    database: Database, ctx: EngineContext, settings: Settings
) -> None:
    app = create_app(settings.model_copy(update={"metrics_token": "scrape-9f2c"}), database, ctx)
    remote = TestClient(app, client=ELSEWHERE)
    assert remote.get("/metrics", headers={"Authorization": "Bearer scrape-9f2c"}).status_code == 200
    for headers in ({}, {"Authorization": "Bearer guess"}, {"Authorization": "Basic c2NyYXBlLTlmMmM="}):
        refused = remote.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
    assert TestClient(app, client=LOOPBACK).get("/metrics").status_code == 401  # the token holds here too


def test_prometheus_asking_for_openmetrics_gets_it(app: FastAPI) -> None:
    answer = TestClient(app, client=LOOPBACK).get(
        "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/openmetrics-text")
    assert answer.text.rstrip().endswith("# EOF")


# -- request ids -----------------------------------------------------------------------------------


def test_every_answer_names_its_request_id_keeping_a_sane_one_sent(client: TestClient) -> None:
    first, second = client.get("/healthz"), client.get("/api/processes")
    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["x-request-id"])
    assert second.headers["x-request-id"] != first.headers["x-request-id"]
    kept = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.2026:11/29"})
    assert kept.headers["x-request-id"] == "lb-7f3a.2026:11/29"
    for insane in ("a b", "x" * 129, "id\r\nForged: yes", '"quoted"', "ünicode"):
        replaced = client.get("/healthz", headers={b"X-Request-ID": insane.encode("utf-8")})
        assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"]), insane


class Kept(logging.Handler):
    """Log lines as the shipped configuration writes them: the request id filter, then its format."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.addFilter(logs.RequestIdFilter())
        self.setFormatter(logging.Formatter("[%(request_id)s] %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def kept_lines(*names: str) -> Iterator[Kept]:
    kept = Kept()
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(kept)
        logger.setLevel(logging.INFO)
    try:
        yield kept
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(kept)
            logger.setLevel(level)


@contextmanager
def served_with_access_log(app: FastAPI) -> Iterator[str]:
    """``app`` behind uvicorn with its access log on, logging left as this process has it."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=True))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the test server did not start"
        thread.join(0.05)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_the_log_lines_of_a_request_name_its_id_the_access_line_and_a_traceback_too(app: FastAPI) -> None:
    @app.get("/api/broken-on-purpose")
    def broken() -> None:
        raise RuntimeError("the disk is full")

    with kept_lines("uvicorn.access", "cityflow") as kept, served_with_access_log(app) as url:
        failed = httpx.get(f"{url}/api/broken-on-purpose", headers={"X-Request-ID": "desk-4711"})
        fine = httpx.get(f"{url}/healthz")
        deadline = time.monotonic() + 5
        while len([line for line in kept.lines if "access" in line]) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert failed.status_code == 500
    assert failed.headers["x-request-id"] == "desk-4711"  # what the citizen reads out to the help desk
    logged = [line for line in kept.lines if line.startswith("[desk-4711]")]
    assert any("cityflow.api unexpected error on GET /api/broken-on-purpose" in line for line in logged)
    assert any(line.startswith("[desk-4711] uvicorn.access") and "/api/broken-on-purpose" in line and "500" in line
               for line in logged)
    own = fine.headers["x-request-id"]
    assert any(line.startswith(f"[{own}] uvicorn.access") and "GET /healthz" in line for line in kept.lines)
    assert not [line for line in kept.lines if "access" in line and line.startswith("[-]")]


def test_a_failed_request_is_counted_as_a_server_error(app: FastAPI) -> None:
    @app.get("/api/broken-on-purpose/{thing_id}")
    def broken(thing_id: str) -> None:
        raise RuntimeError("the disk is full")

    labels = {"method": "GET", "route": "/api/broken-on-purpose/{thing_id}", "status": "5xx"}
    before = value(scrape(app), "cityflow_http_requests_total", **labels)
    answer = TestClient(app, raise_server_exceptions=False).get(f"/api/broken-on-purpose/{uuid.uuid4()}")
    assert answer.status_code == 500
    assert value(scrape(app), "cityflow_http_requests_total", **labels) == before + 1


# -- the logging file, and the audit trail whatever it says -----------------------------------------

# An operator's file that silences everything it can: the trail must not notice.
SILENCING = {"version": 1, "disable_existing_loggers": True, "root": {"level": "CRITICAL", "handlers": []}}


def _child(url: str, config: str, result: str) -> None:
    """In a child process: logging from ``config`` as a server applies it (before the app is made), then
    a document approved through the app served by uvicorn; what came of it written to ``result``."""
    logs.configure(Path(config))
    database = Database(url)
    settings = Settings(var_dir=Path(result).parent / "var", audit_key="test-audit-key", secret_key="test-secret")
    app = create_app(settings, database, EngineContext.create(script_time_limit=1.0))

    with served_with_access_log(app) as base:
        document = approve_a_document(HttpApi(base))
    Path(result).write_text(json.dumps({"instance": document["id"],
                                        "spiff_disabled": logging.getLogger("spiff.task").disabled}))


@pytest.mark.parametrize("config", ["shipped", "silencing"])
def test_the_logging_file_shapes_the_lines_and_the_audit_trail_stays_whole(
    app: FastAPI, database: Database, tmp_path: Path, config: str
) -> None:
    path = logs.DEFAULT_CONFIG
    if config == "silencing":
        path = tmp_path / "logging.json"
        path.write_text(json.dumps(SILENCING))
    result = tmp_path / "result.json"
    url = database.engine.url.render_as_string(hide_password=False)
    done = subprocess.run([sys.executable, "-m", "tests.api.test_operations", url, str(path), str(result)],
                          cwd=ROOT, env={k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(result.read_text())
    if config == "shipped":
        access = [line for line in done.stdout.splitlines() if " access " in line]
        assert any("[step-review] 127.0.0.1:" in line and '"POST /api/tasks/' in line and "200" in line
                   for line in access), done.stdout
        assert any("[step-approve] " in line for line in access)
    else:
        assert outcome["spiff_disabled"], "the file did disable SpiffWorkflow's loggers"
        assert done.stdout == "" and "access" not in done.stderr

    with database.unit_of_work() as session:
        trail = [(r.action, r.element_id) for r in session.scalars(
            select(AuditRecord).where(AuditRecord.instance_id == outcome["instance"]).order_by(AuditRecord.seq))]
        verified = audit.verify(session, b"test-audit-key", outcome["instance"])
    assert verified.ok, verified.first_broken
    for step in ("review", "approve"):
        assert ("task.ready", step) in trail and ("task.completed", step) in trail
    assert trail[0] == ("instance.created", None)


# -- cityflow serve: several processes, one truth; the logging file handed to uvicorn ----------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _counting_processes(folder: Path) -> set[str]:
    return {found.group(1) for path in folder.glob("*.db") if (found := re.search(r"_(\d+)\.db$", path.name))}


def test_cityflow_serve_with_two_processes_and_a_worker_reports_what_each_did_and_logs_by_its_file(
    app: FastAPI, database: Database, tmp_path: Path
) -> None:
    port = _free_port()
    config = tmp_path / "ops-logging.json"
    shipped = json.loads(logs.DEFAULT_CONFIG.read_text())
    shipped["formatters"]["access"]["fmt"] = "OPS %(request_id)s %(request_line)s %(status_code)s"
    config.write_text(json.dumps(shipped))
    stale = tmp_path / "var" / "metrics" / "counter_999999.db"  # left by a process of an earlier run
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"\0" * 16)
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"} | {
        "CITYFLOW_DATABASE_URL": database.engine.url.render_as_string(hide_password=False),
        "CITYFLOW_VAR_DIR": str(tmp_path / "var"), "CITYFLOW_SECRET_KEY": "test-secret"}
    server = subprocess.Popen(
        [sys.executable, "-c", "from api.cli import main; main()", "serve", "--port", str(port), "--workers", "2",
         "--log-config", str(config)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=60).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"the server did not start: {server.communicate()[1]}")
            time.sleep(0.2)
        folder = tmp_path / "var" / "metrics"
        sent = 0
        # Until both processes have answered some (which one accepts a connection is the kernel's choice).
        while len(_counting_processes(folder)) < 2 and sent < 2000:
            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(lambda n: httpx.get(f"{base}/healthz", timeout=60, headers={
                    "X-Request-ID": f"probe-{n}"}), range(sent, sent + 40)))
            assert {answer.status_code for answer in answers} == {200}
            sent += 40
        servers = _counting_processes(folder)
        # The worker beside them, on this machine: the service tasks after an approval are its jobs.
        worker = subprocess.Popen([sys.executable, "-c", "from api.cli import main; main()", "worker"], cwd=ROOT,
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            api = HttpApi(base)
            document = approve_a_document(api)
            deadline = time.monotonic() + 120
            while api.call("GET", f"/api/instances/{document['id']}", "roads.staff").json()["status"] != "completed":
                assert worker.poll() is None and time.monotonic() < deadline, worker.stderr.read()  # type: ignore[union-attr]
                time.sleep(0.2)
            shown = parse(httpx.get(f"{base}/metrics", timeout=60).text)
        finally:
            worker.terminate()
            worker.communicate(timeout=30)
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    assert len(servers) == 2, "both server processes count into the shared folder"
    assert len(_counting_processes(folder) - servers) == 1, "and so does the worker"
    assert value(shown, "cityflow_worker_jobs_total", kind="service_task", outcome="done") == 3
    assert value(shown, "cityflow_transitions_total", kind="job.completed") == 3  # written by the worker
    assert value(shown, "cityflow_transitions_total", kind="instance.created") == 1  # by a server
    assert value(shown, "cityflow_http_requests_total", method="GET", route="/healthz", status="2xx") == sent
    assert not stale.exists()
    lines = out.splitlines()
    assert "OPS probe-7 GET /healthz HTTP/1.1 200 OK" in lines, out + err


if __name__ == "__main__":
    _child(*sys.argv[1:4])


# -- a worker on a host of its own ------------------------------------------------------------------


def test_a_worker_on_a_host_of_its_own_answers_its_health_and_metrics_on_its_port(
    api: Api, database: Database, tmp_path: Path
) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"} | {
        "CITYFLOW_DATABASE_URL": database.engine.url.render_as_string(hide_password=False),
        "CITYFLOW_VAR_DIR": str(tmp_path / "worker-host"), "CITYFLOW_SECRET_KEY": "test-secret"}
    worker = subprocess.Popen([sys.executable, "-c", "from api.cli import main; main()", "worker",
                               "--metrics-port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    own = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                health = httpx.get(f"{own}/healthz", timeout=30)
                break
            except httpx.TransportError:
                if worker.poll() is not None or time.monotonic() > deadline:
                    worker.kill()
                    pytest.fail(f"the worker did not answer on its port: {worker.communicate()[1]}")
                time.sleep(0.2)
        assert (health.status_code, health.text) == (200, "ok\n")
        ready = httpx.get(f"{own}/readyz", timeout=30)
        assert (ready.status_code, ready.text) == (200, "ready\n")

        document = approve_a_document(api)  # through a server elsewhere; its service tasks are this worker's
        deadline = time.monotonic() + 120
        while True:
            answer = httpx.get(f"{own}/metrics", timeout=30)
            assert answer.status_code == 200, answer.text
            done = value(parse(answer.text), "cityflow_worker_jobs_total", kind="service_task", outcome="done")
            if done == 3 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert done == 3  # counted in the worker's own process, read at its own address
        assert api.call("GET", f"/api/instances/{document['id']}", "roads.staff").json()["status"] == "completed"
        assert value(parse(answer.text), "cityflow_database_up") == 1
        assert httpx.get(f"{own}/api/instances", timeout=30).status_code == 404  # nothing else is served there
    finally:
        worker.terminate()
        worker.wait(30)


def test_a_worker_stuck_in_a_pass_says_so_at_its_health_address_and_its_metrics_keep_the_rules(
    database: Database, ctx: EngineContext, settings: Settings, tmp_path: Path
) -> None:
    body = ('<bpmn:startEvent id="start"/><bpmn:serviceTask id="call" camunda:delegateExpression="${slow_archive}"/>'
            + user_task("after") + '<bpmn:endEvent id="end"/>' + chain("start", "call", "after", "end"))
    released = threading.Event()
    handlers.register("slow_archive", lambda call: {"archived": released.wait(30)})
    worker = Worker(database, ctx, settings, stuck_after=0.5)
    watched = TestClient(worker_app(settings, database, ctx.clock, worker), client=LOOPBACK)
    try:
        seed(database, [write_folder(tmp_path, "archive", {"archive.bpmn": bpmn(process("archive", body))})])
        with database.unit_of_work() as session:
            instances.start_instance(session, ctx, "archive", {"title": "문서 이관"})
        assert (watched.get("/healthz").status_code, watched.get("/healthz").text) == (200, "ok\n")  # between passes
        passing = threading.Thread(target=worker.run_pass)
        passing.start()
        time.sleep(1.0)  # the handler has not returned for twice the worker's patience
        stuck = watched.get("/healthz")
        assert stuck.status_code == 503 and stuck.text.startswith("stuck: nothing done for ")
        released.set()
        passing.join(30)
        assert watched.get("/healthz").text == "ok\n"  # the pass ended: it goes round again
    finally:
        released.set()
        handlers.unregister("slow_archive")

    assert TestClient(worker_app(settings, database, ctx.clock, worker), client=ELSEWHERE).get(
        "/metrics").status_code == 403
    guarded = worker_app(settings.model_copy(update={"metrics_token": "scrape-9f2c"}), database, ctx.clock, worker)
    assert TestClient(guarded, client=ELSEWHERE).get("/metrics").status_code == 401
    answer = TestClient(guarded, client=ELSEWHERE).get("/metrics", headers={"Authorization": "Bearer scrape-9f2c"})
    assert answer.status_code == 200
    assert value(parse(answer.text), "cityflow_worker_jobs_total", kind="service_task", outcome="done") >= 1
