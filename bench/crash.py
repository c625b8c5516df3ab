"""R2: the server is killed with SIGKILL under P3 load and started again; nothing it answered is lost.

    python -m bench.crash [--seconds 5] [--clients 8] [--server-processes 2] [--people-only] [--keep]
                          [--database-url postgresql+psycopg://…] [--database cityflow_crash]

The load is P3's: ``--clients`` clients work through the HTTP API at once, each starting a 전자결재
(approval) as roads.staff, its start form checked, and completing its three tasks, each as the person
it is assigned to with its form's data — 검토 by the team leader, 검토 by the chief, 결재 by the
director (a budget of 1억 원 is a 국장's to approve) — again and again, every request with a bearer
token. Each client notes every transition answered 2xx. ``--seconds`` after every client has been
answered once, the server's whole process group (its server processes, the worker running in it,
their script processes) gets SIGKILL, checkpoints being written every second meanwhile; what was
under way then is "in flight": answered by nobody, so promised to nobody. The server is started again
on the same database and var folder (the same audit keys and anchor log), and:

- every start answered 201 is an instance with ``instance.created`` on its trail; every completion
  answered 200 left its task no longer open and a ``task.completed`` record of it by its person;
- ``GET /api/audit/verify`` finds nothing wrong in the whole database;
- every instance of the run, acknowledged or not, goes on to its end: its open tasks completed by
  their people through the API, the worker's steps (the approval's time, its number, the records
  register) done by the worker, with no 5xx;
- ``cityflow audit verify``, the server stopped, finds nothing wrong either.

Any of it failing exits 1. The database ``--database`` on the PostgreSQL server of ``--database-url``
(default ``$CITYFLOW_TEST_POSTGRES_URL``, else what ``.ci/postgres-up`` prints) is dropped and made
anew by ``cityflow init --demo`` (``--people-only``: the demo's people and processes without its
months of cases); the keys, the anchor log and the servers' logs go to a temporary folder, removed
when the run passes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.load import (
    APPROVERS,
    AUDITOR,
    CLI,
    DECISIONS,
    DRAFTER,
    REQUEST_TIMEOUT,
    ROOT,
    START_PATH,
    START_TIMEOUT,
    Server,
    bearer,
    city_environment,
    completion,
    demo_city,
    free_port,
    fresh_database,
    login,
    milliseconds,
    postgres_url,
    start_body,
    stopped,
    task_for,
)

FINISH_TIMEOUT = 180.0  # seconds for the instances of the run to reach their end after the restart
KEY_PREFIX = "r2-"  # the business key of every instance the run starts: r2-<client>-<round>


# -- what the clients did -------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """One request that moves an instance: a start (no ``task_id``) or a task's completion."""

    business_key: str
    actor: str
    instance_id: str | None = None  # known once the start is answered
    task_id: str | None = None
    element_id: str | None = None

    def __str__(self) -> str:
        if self.task_id is None:
            return f"start of {self.business_key} by {self.actor}"
        return f"{self.element_id} {self.task_id} of {self.business_key} by {self.actor}"


@dataclass
class Ledger:
    """What the server answered, and what was under way when it was killed."""

    acknowledged: list[Transition] = field(default_factory=list)  # answered 2xx
    acknowledged_at_kill: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds, of the 2xx answers
    in_flight: dict[int, Transition] = field(default_factory=dict)  # client → its request under way
    at_kill: list[Transition] = field(default_factory=list)  # in flight when the SIGKILL went out
    errors: list[str] = field(default_factory=list)  # non-2xx answers, or no answer before the kill
    answered: set[int] = field(default_factory=set)  # the clients answered at least once
    killed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def kill(self, kill: Callable[[], None]) -> None:
        """Run ``kill`` with every client held still, so what was answered and what was in flight at
        that moment are exact."""
        with self.lock:
            kill()
            self.killed = True
            self.acknowledged_at_kill = len(self.acknowledged)
            self.at_kill = list(self.in_flight.values())


class Client(threading.Thread):
    """One P3 client: approvals from start to 결재, again and again, until the server is killed."""

    def __init__(self, number: int, base: str, tokens: dict[str, str], ledger: Ledger) -> None:
        super().__init__(name=f"client-{number}", daemon=True)
        self.number, self.base, self.ledger = number, base, ledger
        self.headers = {name: bearer(token) for name, token in tokens.items()}

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=REQUEST_TIMEOUT) as http:
            round_ = 0
            while not self.ledger.killed:
                round_ += 1
                self.approval(http, f"{KEY_PREFIX}{self.number}-{round_}")

    def approval(self, http: httpx.Client, key: str) -> None:
        case = self.send(http, Transition(key, DRAFTER), START_PATH, start_body(key))
        for approver in APPROVERS:
            if case is None or self.ledger.killed:
                return
            task = task_for(case, approver)
            if task is None:
                with self.ledger.lock:
                    self.ledger.errors.append(f"{key} answered as {stopped(case)}, no task for {approver}")
                return
            case = self.send(http, Transition(key, approver, case["id"], task["id"], task["element_id"]),
                             *completion(task))

    def send(self, http: httpx.Client, transition: Transition, path: str, body: dict[str, Any]) -> Any:
        """POST ``body``; the answer's JSON when it is 2xx (noted as acknowledged), else None."""
        with self.ledger.lock:
            self.ledger.in_flight[self.number] = transition
        began = time.perf_counter()
        try:
            answer = http.post(path, json=body, headers=self.headers[transition.actor])
        except httpx.TransportError as exc:
            with self.ledger.lock:
                del self.ledger.in_flight[self.number]
                if not self.ledger.killed:
                    self.ledger.errors.append(f"{transition}: no answer ({exc!r})")
            return None
        with self.ledger.lock:
            del self.ledger.in_flight[self.number]
            if not answer.is_success:
                self.ledger.errors.append(f"{transition}: {answer.status_code} {answer.text[:300]}")
                return None
            case = answer.json()
            if transition.instance_id is None:
                transition = Transition(transition.business_key, transition.actor, case["id"])
            self.ledger.acknowledged.append(transition)
            self.ledger.latencies.append(time.perf_counter() - began)
            self.ledger.answered.add(self.number)
        return case


# -- after the restart ---------------------------------------------------------------------------


@dataclass
class Findings:
    """What the run measured and found, for the report."""

    load_seconds: float = 0.0  # from the clients' start to the kill
    warm_up: float = 0.0  # until every client had its first answer
    first_start: float = 0.0  # seconds until the server first answered
    restart: float = 0.0  # seconds from the SIGKILL until the server answered again
    survivors: list[int] = field(default_factory=list)  # processes of the killed group still alive
    checked_instances: int = 0
    checked_transitions: int = 0
    missing: list[str] = field(default_factory=list)  # acknowledged, yet not in the database or the trail
    in_flight_kept: int = 0  # in flight at the kill, and in the database all the same
    verify_after_restart: dict[str, Any] = field(default_factory=dict)  # by the server
    verify_at_end: dict[str, Any] = field(default_factory=dict)  # by cityflow audit verify, the server stopped
    instances: int = 0  # of the run, found after the restart
    finished_before: int = 0  # at their end already (before the kill, or by the worker since the restart)
    continued: int = 0  # taken on to their end after the restart
    tasks_completed_after: int = 0
    problems: list[str] = field(default_factory=list)  # while going on: 5xx, refusals, instances stuck
    server_errors: int = 0


class Reader:
    """The API as the run's people see it after the restart; every 5xx counted."""

    def __init__(self, http: httpx.Client, tokens: dict[str, str], findings: Findings) -> None:
        self.http, self.findings = http, findings
        self.headers = {name: bearer(token) for name, token in tokens.items()}

    def call(self, method: str, path: str, who: str = AUDITOR, **kwargs: Any) -> httpx.Response:
        answer = self.http.request(method, path, headers=self.headers[who], **kwargs)
        if answer.status_code >= 500:
            self.findings.server_errors += 1
            self.findings.problems.append(f"{method} {path}: {answer.status_code} {answer.text[:300]}")
        return answer

    def instances_of_the_run(self) -> list[dict[str, Any]]:
        """Every approval the run started, answered or not (by its business key), page by page."""
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"process_key": "approval", "limit": 200}
            if cursor:
                params["cursor"] = cursor
            page = self.call("GET", "/api/instances", params=params)
            page.raise_for_status()
            found += [item for item in page.json()["items"] if (item["business_key"] or "").startswith(KEY_PREFIX)]
            cursor = page.json().get("next_cursor")
            if not cursor:
                return found

    def verify(self) -> dict[str, Any]:
        """The whole database's trail verified by the server: ``GET /api/audit/verify``."""
        answer = self.call("GET", "/api/audit/verify", timeout=600)
        answer.raise_for_status()
        return dict(answer.json())


def verify_offline(env: dict[str, str]) -> dict[str, Any]:
    """The whole database's trail verified by ``cityflow audit verify``, the server stopped."""
    done = subprocess.run([*CLI, "audit", "verify", "--json"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    report: dict[str, Any] = json.loads(done.stdout) if done.stdout.strip() else {"ok": False}
    report["ok"] = report.get("ok") is True and done.returncode == 0
    return report


def check_acknowledged(reader: Reader, ledger: Ledger, findings: Findings) -> None:
    """Every transition answered 2xx is in the database and on its instance's trail."""
    by_instance: dict[str, list[Transition]] = {}
    for transition in ledger.acknowledged:
        assert transition.instance_id is not None
        by_instance.setdefault(transition.instance_id, []).append(transition)
    for instance_id, transitions in by_instance.items():
        findings.checked_instances += 1
        findings.checked_transitions += len(transitions)
        answer = reader.call("GET", f"/api/instances/{instance_id}")
        if answer.status_code != 200:
            findings.missing.append(f"instance {instance_id} ({transitions[0].business_key}): {answer.status_code}")
            continue
        open_tasks = {task["id"] for task in answer.json()["tasks"]}
        trail = reader.call("GET", f"/api/instances/{instance_id}/audit").json()
        completed = {(record["task_id"], record["actor"]) for record in trail if record["action"] == "task.completed"}
        for transition in transitions:
            if transition.task_id is None:
                if not any(record["action"] == "instance.created" for record in trail):
                    findings.missing.append(f"{transition}: no instance.created on the trail")
            elif (transition.task_id, transition.actor) not in completed:
                findings.missing.append(f"{transition}: no task.completed by {transition.actor} on the trail")
            elif transition.task_id in open_tasks:
                findings.missing.append(f"{transition}: the task is open again")


def check_in_flight(reader: Reader, ledger: Ledger, findings: Findings) -> None:
    """How many of the requests the kill cut off were committed all the same (either is right)."""
    for transition in ledger.at_kill:
        if transition.task_id is None:
            page = reader.call("GET", "/api/instances", params={"business_key": transition.business_key}).json()
            findings.in_flight_kept += bool(page["items"])
        else:
            trail = reader.call("GET", f"/api/instances/{transition.instance_id}/audit").json()
            findings.in_flight_kept += any(record["action"] == "task.completed"
                                           and record["task_id"] == transition.task_id for record in trail)


def complete(reader: Reader, task: dict[str, Any]) -> str | None:
    """``task`` completed by its person with its form's data; what went wrong, if anything."""
    if task["assignee"] not in reader.headers or task["element_id"] not in DECISIONS:
        return f"{task['element_id']} for {task['assignee']}: not a task the run's people know"
    path, body = completion(task)
    done = reader.call("POST", path, who=task["assignee"], json=body)
    return None if done.status_code == 200 else f"{task['element_id']}: {done.status_code} {done.text[:300]}"


def take_to_the_end(reader: Reader, findings: Findings) -> None:
    """Every instance of the run goes on: open tasks completed by their people, the rest by the worker."""
    waiting = {}
    for item in reader.instances_of_the_run():
        findings.instances += 1
        if item["status"] == "completed":
            findings.finished_before += 1
        else:
            waiting[item["id"]] = item["business_key"]
    deadline = time.monotonic() + FINISH_TIMEOUT
    while waiting and time.monotonic() < deadline:
        for instance_id in list(waiting):
            case = reader.call("GET", f"/api/instances/{instance_id}").json()
            if case["status"] == "completed":
                del waiting[instance_id]
                findings.continued += 1
                continue
            if case["status"] != "running":
                findings.problems.append(f"{waiting.pop(instance_id)} is {stopped(case)} after the restart")
                continue
            todo = [task for task in case["tasks"] if not task["standing"]]
            if not todo:
                continue  # the worker's steps: the approval's time, its number, its record
            problem = complete(reader, todo[0])  # one at a time: the answer says what comes next
            if problem:
                findings.problems.append(f"{waiting.pop(instance_id)}: {problem}")
            else:
                findings.tasks_completed_after += 1
        if waiting:
            time.sleep(0.2)
    findings.problems += [f"{key}: not at its end {FINISH_TIMEOUT:.0f} s after the restart" for key in waiting.values()]


# -- the run ---------------------------------------------------------------------------------------


def run(args: argparse.Namespace, folder: Path) -> bool:
    env = city_environment(fresh_database(postgres_url(args.database_url), args.database), folder / "var",
                           audit_checkpoint_seconds=str(args.checkpoint_seconds))
    say(f"database {args.database} made anew ({'without' if args.people_only else 'with'} the demo's cases); "
        f"keys, anchor log and logs in {folder}")
    probe = demo_city(env, history=not args.people_only)
    port = free_port()
    servers = [Server(env, port, args.server_processes, folder / f"server-{n}.log") for n in (1, 2)]
    ledger, findings = Ledger(), Findings()
    try:
        findings.first_start = servers[0].start(probe)
        tokens = {name: login(servers[0].base, name) for name in (DRAFTER, *APPROVERS)} | {AUDITOR: probe}
        clients = [Client(number, servers[0].base, tokens, ledger) for number in range(1, args.clients + 1)]
        say(f"server up in {findings.first_start:.1f} s; {args.clients} clients start")
        load_began = time.monotonic()
        for client in clients:
            client.start()
        # The kill comes --seconds into the load proper: once every client has been answered, the
        # server's processes have loaded the process and started their script processes.
        while len(ledger.answered) < len(clients) and time.monotonic() < load_began + START_TIMEOUT:
            time.sleep(0.01)
        findings.warm_up = time.monotonic() - load_began
        time.sleep(args.seconds)
        ledger.kill(servers[0].kill)
        killed_at = time.monotonic()
        findings.load_seconds = killed_at - load_began
        findings.survivors = servers[0].survivors()
        for client in clients:
            client.join(REQUEST_TIMEOUT)
        say(f"killed with {len(ledger.at_kill)} requests in flight; starting the server again")
        servers[1].start(probe)
        findings.restart = time.monotonic() - killed_at
        say(f"back in {findings.restart:.1f} s; checking, then taking every instance to its end")
        with httpx.Client(base_url=servers[1].base, timeout=REQUEST_TIMEOUT) as http:
            reader = Reader(http, tokens, findings)
            check_acknowledged(reader, ledger, findings)
            check_in_flight(reader, ledger, findings)
            findings.verify_after_restart = reader.verify()
            take_to_the_end(reader, findings)
        servers[1].stop()
        findings.verify_at_end = verify_offline(env)
    finally:
        for server in servers:
            server.kill()
    return report(args, ledger, findings)


def say(line: str) -> None:
    print(f"· {line}", flush=True)


def report(args: argparse.Namespace, ledger: Ledger, findings: Findings) -> bool:
    """Print the figures; whether R2 holds."""
    before = ledger.acknowledged[:ledger.acknowledged_at_kill]
    starts = sum(t.task_id is None for t in before)
    finals = sum(t.element_id == "approve" for t in before)
    late = len(ledger.acknowledged) - len(before)
    servers = f"{args.server_processes} server process{'es' if args.server_processes > 1 else ''}"
    print(f"load: {args.clients} clients, {servers}, {findings.load_seconds:.1f} s "
          f"({findings.warm_up:.1f} s until every client was answered): "
          f"{len(before)} transitions answered 2xx before the kill ({starts} starts, {len(before) - starts} "
          f"completions; {finals / findings.load_seconds:.1f} approvals to 결재 a second; per request p95 "
          f"{milliseconds(ledger.latencies, 0.95):.0f} ms, median {milliseconds(ledger.latencies, 0.5):.0f} ms)")
    print(f"SIGKILL to the server's process group: {len(ledger.at_kill)} requests in flight "
          f"({sum(t.task_id is None for t in ledger.at_kill)} starts); {late} answered 2xx all the same (sent "
          f"before the kill, read after it); {findings.in_flight_kept} committed in all; processes of the group "
          f"alive after it: {len(findings.survivors)}")
    print(f"restart: answering again {findings.restart:.1f} s after the kill (the first start took "
          f"{findings.first_start:.1f} s)")
    print(f"checked: {findings.checked_transitions} acknowledged transitions of {findings.checked_instances} "
          f"instances; missing from the database or the trail: {len(findings.missing)}")
    for line in findings.missing[:20]:
        print(f"  MISSING {line}")
    for name, verified in (("by the server after the restart", findings.verify_after_restart),
                           ("by cityflow audit verify at the end", findings.verify_at_end)):
        print(f"audit verify {name}: {'ok' if verified.get('ok') else 'FAILED'}, {verified.get('records', 0):,} "
              f"records, {verified.get('checkpoints', 0)} checkpoints, {verified.get('anchors', 0)} anchors")
        for finding in verified.get("findings", [])[:10]:
            print(f"  {finding['code']}: {finding['message']}")
    print(f"instances of the run: {findings.instances}, {findings.finished_before} at their end already, "
          f"{findings.continued} taken on to their end after the restart ({findings.tasks_completed_after} tasks "
          f"completed then, the rest by the worker); 5xx after the restart: {findings.server_errors}")
    problems = ledger.errors + findings.problems
    for line in problems[:20]:
        print(f"  PROBLEM {line}")
    passed = not (findings.missing or problems or findings.survivors or not findings.verify_after_restart.get("ok")
                  or not findings.verify_at_end.get("ok"))
    print("R2 holds" if passed else "R2 FAILED")
    return passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.crash", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="how long the clients work before the kill")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--server-processes", type=int, default=2, help="cityflow serve --workers")
    parser.add_argument("--checkpoint-seconds", type=int, default=1,
                        help="CITYFLOW_AUDIT_CHECKPOINT_SECONDS: checkpoints and anchors are written under the load")
    parser.add_argument("--people-only", action="store_true",
                        help="the demo's people and processes without its months of cases: set up in seconds")
    parser.add_argument("--database-url", default=os.environ.get("CITYFLOW_TEST_POSTGRES_URL"),
                        help="a PostgreSQL server (any database on it); default $CITYFLOW_TEST_POSTGRES_URL, "
                             "else .ci/postgres-up")
    parser.add_argument("--database", default="cityflow_crash", help="the database made anew for the run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, keys) after a pass too")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="cityflow-crash-"))
    passed = False
    try:
        passed = run(args, folder)
    finally:
        if passed and not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"the servers' logs, the keys and the anchor log are kept in {folder}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
