"""R2: the server is killed (SIGKILL) while eight clients work through it on PostgreSQL, then started
again. Every transition it answered 2xx must be in the database and on the audit trail, the trail
must verify, and every case must be able to go on to its end.

    python -m bench.crash [--seconds 6] [--clients 8] [--database-url postgresql+psycopg://…/postgres]

Each client repeats the suggestion process through the HTTP API: start a case (as 도로과 staff), the
planning office's review, the department's answer — three transitions, authenticated, each checked
against its form. The database named ``cityflow_crash`` on that server is made anew for the run."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "cityflow_crash"
PASSWORD = "cityflow-demo"  # the published password of the demo logins
STARTER, REVIEWER, ANSWERER, AUDITOR = "roads.staff", "planning.staff", "roads.lead", "auditor"
REVIEW = {"accepted": True, "category": "도로", "review_comment": "현장 확인 후 조치"}
ANSWER = {"answer": "보도블록을 교체했습니다."}


@dataclass
class Acknowledged:
    """What the server answered 2xx before it was killed: cases started, tasks completed."""

    started: list[str] = field(default_factory=list)
    completed: list[tuple[str, str]] = field(default_factory=list)  # (case, element id)
    failures: int = 0  # requests that got no answer or not 2xx (the kill among them)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fresh_database(server_url: str) -> str:
    """``cityflow_crash`` made anew on the PostgreSQL of ``server_url``; its URL."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()
    return make_url(server_url).set(database=DATABASE).render_as_string(hide_password=False)


@contextmanager
def server(env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    """``cityflow serve --with-worker`` in a process group of its own (its script processes in it)."""
    command = [sys.executable, "-c", "from api.cli import main; main()", "serve", "--port", str(port),
               "--with-worker"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)
        yield process
    finally:
        kill(process)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the server's whole process group: no shutdown, no flush, as a power cut would."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def token(base: str, username: str) -> str:
    answer = httpx.post(f"{base}/api/auth/token", json={"username": username, "password": PASSWORD}, timeout=30)
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def client_loop(base: str, tokens: dict[str, str], acked: Acknowledged, stop: threading.Event) -> None:
    """Start, review, answer — again and again, noting each transition answered 2xx."""
    heads = {name: {"Authorization": f"Bearer {value}"} for name, value in tokens.items()}
    with httpx.Client(base_url=base, timeout=30) as http:
        while not stop.is_set():
            try:
                started = http.post("/api/instances", headers=heads[STARTER], json={
                    "process_key": "suggestion", "data": {"title": "보도블록 파손", "supporters": 3}})
                if started.status_code != 201:
                    raise httpx.HTTPError(f"start answered {started.status_code}")
                case = started.json()
                with acked.lock:
                    acked.started.append(case["id"])
                for element, who, data in (("review_suggestion", REVIEWER, REVIEW), ("write_answer", ANSWERER, ANSWER)):
                    (task,) = [t for t in case["tasks"] if t["element_id"] == element]
                    done = http.post(f"/api/tasks/{task['id']}/complete", headers=heads[who], json={"data": data})
                    if done.status_code != 200:
                        raise httpx.HTTPError(f"complete answered {done.status_code}")
                    with acked.lock:
                        acked.completed.append((case["id"], element))
                    case = done.json()
            except (httpx.HTTPError, ValueError):
                with acked.lock:
                    acked.failures += 1
                if stop.is_set():
                    return
                time.sleep(0.05)  # the server is gone (the kill) or refused: try again until told to stop


def running_cases(http: httpx.Client, headers: dict[str, str], since: str) -> list[dict[str, Any]]:
    """Every running suggestion started since ``since`` (ISO, UTC): this run's, acknowledged or not."""
    found: list[dict[str, Any]] = []
    cursor: str | None = ""
    while cursor is not None:
        page = http.get("/api/instances", headers=headers, params={
            "status": "running", "process_key": "suggestion", "limit": 200, **({"cursor": cursor} if cursor else {})})
        page.raise_for_status()
        found += [case for case in page.json()["items"] if case["started_at"] >= since]
        cursor = page.json().get("next_cursor")
    return found


def check(base: str, tokens: dict[str, str], acked: Acknowledged, since: str) -> dict[str, Any]:
    """Every acknowledged transition stored and on the trail; the trail verifies; every case goes on."""
    heads = {name: {"Authorization": f"Bearer {value}"} for name, value in tokens.items()}
    missing: list[str] = []
    server_errors = 0
    continued = 0
    with httpx.Client(base_url=base, timeout=60) as http:
        done: dict[str, set[str]] = {}
        for case_id, element in acked.completed:
            done.setdefault(case_id, set()).add(element)
        for case_id in dict.fromkeys(acked.started):
            answer = http.get(f"/api/instances/{case_id}", headers=heads[AUDITOR])
            if answer.status_code != 200:
                missing.append(f"case {case_id}: {answer.status_code}")
                continue
            trail = http.get(f"/api/instances/{case_id}/audit", headers=heads[AUDITOR]).json()
            on_record = {r["element_id"] for r in trail if r["action"] == "task.completed"}
            missing += [f"case {case_id}: {element} not on the trail" for element in done.get(case_id, set())
                        if element not in on_record]
            if not any(r["action"] == "instance.created" for r in trail):
                missing.append(f"case {case_id}: its creation is not on the trail")
        verified = http.get("/api/audit/verify", headers=heads[AUDITOR]).json()
        # Every case the kill interrupted goes on: its open tasks done by their people, to the end.
        for case in running_cases(http, heads[AUDITOR], since):
            for _ in range(3):
                detail = http.get(f"/api/instances/{case['id']}", headers=heads[AUDITOR]).json()
                if detail["status"] != "running" or not detail["tasks"]:
                    break
                task = detail["tasks"][0]
                who, data = (REVIEWER, REVIEW) if task["element_id"] == "review_suggestion" else (ANSWERER, ANSWER)
                answer = http.post(f"/api/tasks/{task['id']}/complete", headers=heads[who], json={"data": data})
                server_errors += answer.status_code >= 500
            final = http.get(f"/api/instances/{case['id']}", headers=heads[AUDITOR]).json()
            continued += final["status"] == "completed"
        still = running_cases(http, heads[AUDITOR], since)
    return {"missing": missing, "verified": verified, "continued": continued, "still_running": len(still),
            "server_errors": server_errors}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.crash", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="how long the clients work before the kill")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--database-url", default=os.environ.get("CITYFLOW_TEST_POSTGRES_URL"),
                        help="a PostgreSQL server (any database on it); default $CITYFLOW_TEST_POSTGRES_URL")
    args = parser.parse_args(argv)
    if not args.database_url or not args.database_url.startswith("postgresql"):
        parser.error("R2 runs on PostgreSQL: give --database-url or set CITYFLOW_TEST_POSTGRES_URL "
                     "(.ci/postgres-up prints one)")
    folder = Path(tempfile.mkdtemp(prefix="cityflow-crash-"))
    env = {**os.environ, "CITYFLOW_DATABASE_URL": fresh_database(args.database_url),
           "CITYFLOW_VAR_DIR": str(folder / "var"), "CITYFLOW_WORKFLOWS_DIR": str(ROOT / "workflows")}
    print("setting up the demo city hall on PostgreSQL …", flush=True)
    subprocess.run([sys.executable, "-c", "from api.cli import main; main()", "init", "--demo"], cwd=ROOT, env=env,
                   check=True, stdout=subprocess.DEVNULL)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    acked = Acknowledged()
    stop = threading.Event()
    since = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    with server(env, port) as process:
        tokens = {name: token(base, name) for name in (STARTER, REVIEWER, ANSWERER, AUDITOR)}
        clients = [threading.Thread(target=client_loop, args=(base, tokens, acked, stop))
                   for _ in range(args.clients)]
        for client in clients:
            client.start()
        time.sleep(args.seconds)
        with acked.lock:
            before = (len(acked.started), len(acked.completed))
        stop.set()  # the clients stop after what they are sending …
        kill(process)  # … which the kill cuts off mid-flight: no answer for it
        killed_at = time.monotonic()
        for client in clients:
            client.join(60)
    with server(env, port):
        restarted = time.monotonic() - killed_at
        result = check(base, tokens, acked, since)
    transitions = len(acked.started) + len(acked.completed)
    print(f"clients {args.clients}, killed after {args.seconds:g} s with SIGKILL, back in {restarted:.1f} s")
    print(f"transitions answered 2xx: {transitions} ({len(acked.started)} starts, {len(acked.completed)} "
          f"completions; {before[0] + before[1]} just before the kill)")
    print(f"requests without a 2xx answer (the kill among them): {acked.failures}")
    print(f"missing from the database or the trail: {len(result['missing'])}")
    for line in result["missing"][:20]:
        print(f"  {line}")
    print(f"audit verify: {'ok' if result['verified'].get('ok') else 'FAILED'} "
          f"({result['verified'].get('records', '?')} records)")
    print(f"cases of the run left running, taken on to their end: {result['continued']}; still running after: "
          f"{result['still_running']}; server errors while continuing: {result['server_errors']}")
    healthy = (not result["missing"] and result["verified"].get("ok") and not result["server_errors"]
               and not result["still_running"])
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
