"""Past one machine: two ``cityflow serve`` processes and two ``cityflow worker`` processes on one
PostgreSQL database share a city's work, and nothing is done twice.

Every server and worker is a real process, laid out as on two hosts: each host (one server, one
worker) has a var folder of its own, while the audit keys (``CITYFLOW_AUDIT_KEYS``) and the anchor
log (``CITYFLOW_AUDIT_ANCHORS``) are the same everywhere, as the README's "Running on several
machines" asks. The workers checkpoint every second, so both write checkpoints and anchor them
while the load runs. Client threads send each request to the other server than the one before:
they start 전자결재 documents and take them through their three people's tasks (the workers then
record the approval's time, number the document and register it), and start ``tick`` cases — a
task with a one-second reminder and, after it, a two-second wait — deployed on one server and
started on both. When every case has reached its end, the trail shows each ended once, each timer
fired once at most, each task and job completed once, no server answered 5xx, every process is
still up, and verify passes on both servers and from the command line.
"""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from engine import definitions, identity
from engine.config import get_settings
from engine.db import Database
from engine.demo import SAMPLE_APPROVAL, SAMPLE_APPROVERS, SAMPLE_DECISIONS, seed_organisation
from engine.migrate import upgrade
from engine.models import AuditRecord, Instance, Job, Timer
from tests.engine.helpers import bpmn, chain, flow, process, user_task
from tests.engine.test_audit_backup import own_postgres

ROOT = Path(__file__).resolve().parent.parent
CITYFLOW = Path(sys.executable).parent / "cityflow"
CLIENTS = 4
LOAD_SECONDS = 6.0  # of client work, after both servers answer
START_TIMEOUT = 60.0  # for a server to answer after it is started
FINISH_TIMEOUT = 40.0  # for every case to reach its end after the load

DRAFTER, AUDITOR, DESIGNER = "roads.staff", "auditor", "designer"
APPROVERS = SAMPLE_APPROVERS
# 예산 of 1억 원 is a 국장's to approve: 검토, 검토, then 결재 by the director.
DOCUMENT, DECISIONS = SAMPLE_APPROVAL, SAMPLE_DECISIONS


def _timer(duration: str) -> str:
    return f"<bpmn:timerEventDefinition><bpmn:timeDuration>{duration}</bpmn:timeDuration></bpmn:timerEventDefinition>"


# A task for its starter with a reminder after a second (non-interrupting), then a wait of two
# seconds and a service task the worker calls: two timers and a job per case, all within seconds.
TICK = bpmn(process("tick", (
    '<bpmn:startEvent id="start"/>' + user_task("confirm", "확인")
    + f'<bpmn:boundaryEvent id="nudge" cancelActivity="false" attachedToRef="confirm">{_timer("PT1S")}'
      "</bpmn:boundaryEvent>"
    + '<bpmn:endEvent id="nudged"/>' + flow("f_nudge", "nudge", "nudged")
    + f'<bpmn:intermediateCatchEvent id="settle">{_timer("PT2S")}</bpmn:intermediateCatchEvent>'
    + '<bpmn:serviceTask id="stamp" camunda:delegateExpression="${set_due_date}"><bpmn:extensionElements>'
      '<camunda:inputOutput><camunda:inputParameter name="variable">stamped_at</camunda:inputParameter>'
      '<camunda:inputParameter name="days">0</camunda:inputParameter></camunda:inputOutput>'
      "</bpmn:extensionElements></bpmn:serviceTask>"
    + '<bpmn:endEvent id="end"/>' + chain("start", "confirm", "settle", "stamp", "end")
), name="두 서버 시험"))


# -- the processes -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Member:
    """One ``cityflow`` process, in a process group of its own (its script processes die with it)."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    stopped: bool = False

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([str(CITYFLOW), *self.args], env=self.env, cwd=self.log.parent,
                                            start_new_session=True, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM to the whole group, then SIGKILL to whatever of it is left (once)."""
        if self.process is None or self.stopped:
            return
        self.stopped = True
        for number in (signal.SIGTERM, signal.SIGKILL):
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, number)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)

    def tail(self, chars: int = 6000) -> str:
        content = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"----- {self.name} ({self.log}) -----\n{content[-chars:]}"


@dataclass
class Fleet:
    """Two hosts, each with a server and a worker, on one database; stopped, whatever happens, on exit,
    and their logs printed when the test fails."""

    members: list[Member]
    servers: list[str]  # the servers' base URLs

    def __enter__(self) -> Fleet:
        return self

    def start(self, kind: str) -> None:
        for member in self.members:
            if member.name.startswith(kind):
                member.start()

    def stop(self) -> None:
        for member in self.members:
            member.stop()

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self.stop()
        if kind is not None:
            for member in self.members:
                print(member.tail())

    def logs(self) -> str:
        return "\n".join(member.tail() for member in self.members)

    def wait_until_served(self, token: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        for base in self.servers:
            while True:
                with suppress(httpx.HTTPError):
                    if httpx.get(f"{base}/api/me", headers={"Authorization": f"Bearer {token}"},
                                 timeout=5).status_code == 200:
                        break
                dead = [m.name for m in self.members if m.process is not None and not m.alive]
                assert not dead, f"{dead} exited while starting"
                assert time.monotonic() < deadline, f"{base} did not answer within {START_TIMEOUT:.0f} s"
                time.sleep(0.1)


# -- the city ----------------------------------------------------------------------------------


@pytest.fixture
def city_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An empty PostgreSQL database of this test's own, and the audit keys every host shares; its URL.
    Dropped afterwards."""
    urls = own_postgres("servers")
    try:
        monkeypatch.delenv("CITYFLOW_AUDIT_KEY")
        monkeypatch.setenv("CITYFLOW_AUDIT_KEYS", f"1:{secrets.token_hex(32)}")
        get_settings.cache_clear()
        monkeypatch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
        yield next(urls)
    finally:
        next(urls, None)


def _set_up_city(url: str) -> dict[str, str]:
    """The schema, the approval process and the demo's people; an API token of each person the test needs."""
    database = Database(url)
    try:
        upgrade(database.engine)
        with database.unit_of_work() as session:
            approval = definitions.check(definitions.read_source(ROOT / "workflows" / "approval"))
            definitions.deploy(session, approval, "system:test")
            seed_organisation(session)
        with database.unit_of_work() as session:
            return {name: identity.create_token(session, name)[0]
                    for name in (DRAFTER, *APPROVERS, AUDITOR, DESIGNER)}
    finally:
        database.dispose()


def _fleet(url: str, folder: Path) -> Fleet:
    shared = {name: value for name, value in os.environ.items() if not name.startswith("CITYFLOW_")}
    shared.update(
        CITYFLOW_DATABASE_URL=url,
        CITYFLOW_AUDIT_KEYS=os.environ["CITYFLOW_AUDIT_KEYS"],
        CITYFLOW_AUDIT_ANCHORS=str(folder / "shared" / "audit-anchors.jsonl"),
        CITYFLOW_AUDIT_CHECKPOINT_SECONDS="1",
        CITYFLOW_WORKFLOWS_DIR=str(ROOT / "workflows"),
        CITYFLOW_SCRIPT_PROCESSES="1",
    )
    members, servers = [], []
    for host in (1, 2):
        home = folder / f"host-{host}"
        home.mkdir(parents=True)
        env = {**shared, "CITYFLOW_VAR_DIR": str(home / "var")}
        port = _free_port()
        servers.append(f"http://127.0.0.1:{port}")
        members.append(Member(f"server {host}", ["serve", "--host", "127.0.0.1", "--port", str(port),
                                                 "--workers", "1"], env, home / "server.log"))
        members.append(Member(f"worker {host}", ["worker"], env, home / "worker.log"))
    return Fleet(members, servers)


# -- the load ----------------------------------------------------------------------------------


@dataclass
class Ledger:
    """What the servers answered."""

    completed: list[tuple[str, str]] = field(default_factory=list)  # (task id, by whom), answered 200
    started: list[str] = field(default_factory=list)  # instance ids, answered 201
    by_server: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)  # 5xx
    problems: list[str] = field(default_factory=list)  # any other answer that is not what the step expects
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client(threading.Thread):
    """One person's desk after another: each request to the other server than the one before."""

    def __init__(self, number: int, servers: list[str], tokens: dict[str, str], ledger: Ledger,
                 until: float) -> None:
        super().__init__(name=f"client-{number}", daemon=True)
        self.number, self.ledger, self.until = number, ledger, until
        self.servers = itertools.cycle(servers[number % 2:] + servers[:number % 2])
        self.headers = {name: {"Authorization": f"Bearer {token}"} for name, token in tokens.items()}

    def run(self) -> None:
        with httpx.Client(timeout=60) as http:
            self.http = http
            for round_ in itertools.count(1):
                if time.monotonic() > self.until:
                    return
                key = f"c{self.number}-{round_}"
                tick = self.open_case("tick", f"tick-{key}", {})
                self.approval(f"approval-{key}")
                if tick is not None:  # a second or so on: the reminder may have come meanwhile
                    confirm = self.task_for(tick, DRAFTER)
                    if confirm is not None:
                        self.complete(confirm, DRAFTER, {})

    def approval(self, key: str) -> None:
        case = self.open_case("approval", key, DOCUMENT)
        for approver in APPROVERS:
            task = self.task_for(case, approver) if case is not None else None
            if task is None:
                return
            case = self.complete(task, approver, DECISIONS[task["element_id"]])

    def send(self, path: str, who: str, body: dict[str, Any], expected: int) -> Any:
        server = next(self.servers)
        try:
            answer = self.http.post(f"{server}{path}", json=body, headers=self.headers[who])
        except httpx.TransportError as exc:
            with self.ledger.lock:
                self.ledger.problems.append(f"POST {server}{path}: no answer ({exc!r})")
            return None
        with self.ledger.lock:
            self.ledger.by_server[server] += 1
            if answer.status_code >= 500:
                self.ledger.server_errors.append(f"POST {server}{path}: {answer.status_code} {answer.text[:500]}")
            elif answer.status_code != expected:
                self.ledger.problems.append(f"POST {server}{path}: {answer.status_code} {answer.text[:500]}")
        return answer.json() if answer.status_code == expected else None

    def open_case(self, process_key: str, business_key: str, data: dict[str, Any]) -> Any:
        case = self.send("/api/instances", DRAFTER,
                         {"process_key": process_key, "business_key": business_key, "data": data}, 201)
        if case is not None:
            with self.ledger.lock:
                self.ledger.started.append(case["id"])
        return case

    def complete(self, task: dict[str, Any], who: str, data: dict[str, Any]) -> Any:
        case = self.send(f"/api/tasks/{task['id']}/complete", who, {"data": data}, 200)
        if case is not None:
            with self.ledger.lock:
                self.ledger.completed.append((task["id"], who))
        return case

    def task_for(self, case: dict[str, Any], person: str) -> dict[str, Any] | None:
        """The task the case now waits for from ``person`` (its standing 회수 option aside)."""
        tasks = case.get("tasks")
        if tasks is None:  # an answer that names less than the whole case: ask for it
            tasks = self.http.get(f"{next(self.servers)}/api/instances/{case['id']}",
                                  headers=self.headers[AUDITOR]).json()["tasks"]
        found = next((t for t in tasks if t["assignee"] == person and not t["standing"]), None)
        if found is None:
            with self.ledger.lock:
                self.ledger.problems.append(f"{case.get('business_key')}: no task for {person} in {tasks}")
        return found


# -- what the trail shows ------------------------------------------------------------------------


def _twice(rows: list[Any]) -> dict[Any, int]:
    return {key: count for key, count in Counter(rows).items() if count > 1}


def _wait_for_the_end(url: str, instance_ids: list[str], fleet: Fleet) -> dict[str, tuple[str, str]]:
    """Each case's status and process once none is running any more (or the time is up)."""
    database = Database(url)
    try:
        deadline = time.monotonic() + FINISH_TIMEOUT
        while True:
            with database.unit_of_work() as session:
                cases = {row.id: (row.status, row.process_key) for row in session.execute(
                    select(Instance.id, Instance.status, Instance.process_key).where(Instance.id.in_(instance_ids)))}
            if all(status != "running" for status, _ in cases.values()) or time.monotonic() > deadline:
                return cases
            assert all(m.alive for m in fleet.members), f"{[m.name for m in fleet.members if not m.alive]} exited"
            time.sleep(0.25)
    finally:
        database.dispose()


def _check_the_trail(url: str, ledger: Ledger, cases: dict[str, tuple[str, str]], alive: dict[str, bool],
                     verified: list[httpx.Response], fleet: Fleet) -> None:
    """What the answers, the database and its trail show once every process has stopped."""
    assert ledger.server_errors == [], ledger.server_errors
    assert ledger.problems == [], ledger.problems
    assert all(alive.values()), f"exited during the run: {alive}"
    assert "Traceback" not in fleet.logs(), "a process logged a traceback (the logs follow)"
    assert min(ledger.by_server.values()) > 0 and len(ledger.by_server) == 2, ledger.by_server
    approvals = sum(1 for task, who in ledger.completed if who == APPROVERS[-1])
    assert approvals >= CLIENTS, f"only {approvals} approvals went through in {LOAD_SECONDS:.0f} s"
    assert Counter(status for status, _ in cases.values()) == {"completed": len(ledger.started)}, cases

    database = Database(url)
    try:
        with database.unit_of_work() as session:
            records = session.execute(
                select(AuditRecord.chain, AuditRecord.action, AuditRecord.task_id, AuditRecord.element_id,
                       AuditRecord.actor).where(AuditRecord.instance_id.in_(ledger.started))
            ).all()
            left = (session.execute(select(func.count()).select_from(Timer)).scalar_one(),
                    session.execute(select(func.count()).select_from(Job)).scalar_one())
    finally:
        database.dispose()
    ended = Counter(r.chain for r in records if r.action == "instance.completed")
    assert set(ended) == set(ledger.started) and set(ended.values()) == {1}, _twice(
        [r.chain for r in records if r.action == "instance.completed"])
    fired = [(r.chain, r.task_id) for r in records if r.action == "timer.fired"]
    assert _twice(fired) == {}, "timers fired twice"
    ticks = {instance for instance, (_, key) in cases.items() if key == "tick"}
    settled = Counter(r.chain for r in records if r.action == "timer.fired" and r.element_id == "settle")
    assert ticks and set(settled) == ticks, "every tick case waited for its two seconds"
    assert _twice([(r.chain, r.task_id) for r in records if r.action == "job.completed"]) == {}, "jobs ran twice"
    assert _twice([(r.chain, r.task_id) for r in records if r.action == "task.completed"]) == {}, \
        "tasks completed twice"
    by_people = {(r.task_id, r.actor) for r in records if r.action == "task.completed"
                 and not r.actor.startswith("system:")}
    assert by_people == set(ledger.completed)
    assert left == (0, 0), "timers or jobs left over"

    for answer in verified:  # each server reads the one anchor log, and the workers checkpointed meanwhile
        assert answer.status_code == 200 and answer.json()["ok"], answer.text[:2000]
        assert answer.json()["checkpoints"] > 1 and answer.json()["anchors"] > 1, answer.text[:2000]
    done = subprocess.run([str(CITYFLOW), "audit", "verify"], env=fleet.members[0].env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_two_servers_and_two_workers_share_the_work_and_do_nothing_twice(
        city_database: str, tmp_path: Path) -> None:
    ledger = Ledger()
    with _fleet(city_database, tmp_path) as fleet:
        fleet.start("server")  # it starts while the city is set up: a server reads the database when asked
        tokens = _set_up_city(city_database)
        fleet.start("worker")
        fleet.wait_until_served(tokens[AUDITOR])
        folder = {"files": ("tick.bpmn", TICK.encode(), "application/xml")}
        deployed = httpx.post(f"{fleet.servers[1]}/api/processes", files=folder,
                              headers={"Authorization": f"Bearer {tokens[DESIGNER]}"}, timeout=60)
        assert deployed.status_code == 201, deployed.text

        clients = [Client(n, fleet.servers, tokens, ledger, time.monotonic() + LOAD_SECONDS)
                   for n in range(CLIENTS)]
        for client in clients:
            client.start()
        for client in clients:
            client.join(LOAD_SECONDS + 120)
        assert not any(client.is_alive() for client in clients), "a client still waits for an answer"
        cases = _wait_for_the_end(city_database, ledger.started, fleet)
        alive = {m.name: m.alive for m in fleet.members}
        verified = [httpx.get(f"{base}/api/audit/verify", headers={"Authorization": f"Bearer {tokens[AUDITOR]}"},
                              timeout=120) for base in fleet.servers]
        fleet.stop()
        _check_the_trail(city_database, ledger, cases, alive, verified, fleet)  # logs printed if it fails
