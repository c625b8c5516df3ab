"""P3's load, shared by the P3 driver (``bench/p3.py``) and R2 (``bench/crash.py``).

A served cityflow (``cityflow serve``) in a process group of its own, on a database made anew with
the demo city hall's people and processes; the 전자결재 (approval) a client works through: started
by roads.staff with its start form's document, then its three tasks completed, each by the person
it is assigned to with its form's data — 검토 by the team leader, 검토 by the chief, 결재 by the
director (a budget of 1억 원 is a 국장's to approve).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from engine.demo import DEMO_PASSWORD, SAMPLE_APPROVAL, SAMPLE_APPROVERS, SAMPLE_DECISIONS, SAMPLE_DRAFTER

ROOT = Path(__file__).resolve().parents[1]
REQUEST_TIMEOUT = 60.0  # seconds; even on a busy machine a request answers within a few
START_TIMEOUT = 120.0  # seconds for a server to answer after it is started
CLI = [sys.executable, "-c", "from api.cli import main; main()"]

DRAFTER, AUDITOR = SAMPLE_DRAFTER, "auditor"
APPROVERS = SAMPLE_APPROVERS
PASSWORD = DEMO_PASSWORD
# 예산 of 1억 원: the delegation rules want a 국장, so three tasks, as P3 counts an approval.
DOCUMENT = SAMPLE_APPROVAL
DECISIONS = SAMPLE_DECISIONS
START_PATH = "/api/instances"


# -- the approval ---------------------------------------------------------------------------------


def start_body(business_key: str) -> dict[str, Any]:
    """What roads.staff posts to ``START_PATH`` to start an approval."""
    return {"process_key": "approval", "business_key": business_key, "data": DOCUMENT}


def task_for(case: dict[str, Any], approver: str) -> dict[str, Any] | None:
    """The task of the answered ``case`` that ``approver`` is to complete next, if there is one."""
    return next((t for t in case["tasks"] if t["assignee"] == approver and not t["standing"]), None)


def completion(task: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Where to post the completion of ``task``, and its form's data."""
    return f"/api/tasks/{task['id']}/complete", {"data": DECISIONS[task["element_id"]]}


def stopped(case: dict[str, Any]) -> str:
    """An instance's status, and where and why it stopped when it is in error."""
    error = case.get("error")
    if not error:
        return str(case["status"])
    return f"{case['status']} at {error.get('element_id')} ({error.get('error')}: {error.get('message')})"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(base: str, username: str) -> str:
    """A bearer token for the demo person ``username``."""
    answer = httpx.post(f"{base}/api/auth/token", json={"username": username, "password": PASSWORD},
                        timeout=REQUEST_TIMEOUT)
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def milliseconds(seconds: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``seconds``, in milliseconds (nearest rank)."""
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000 if ordered else 0.0


# -- the server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def group_members(group: int) -> list[int]:
    """The processes of process group ``group`` still alive (zombies, already dead, left out)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, ValueError):
            line = stat.read_text()
            state, _parent, process_group = line[line.rindex(")") + 2:].split()[:3]
            if state != "Z" and int(process_group) == group:
                members.append(int(stat.parent.name))
    return members


class Server:
    """``cityflow serve`` in a process group of its own: its server processes, the worker running in
    it and every script process they start die together when the group is killed."""

    def __init__(self, env: dict[str, str], port: int, processes: int | None, log: Path,
                 options: Sequence[str] = ("--with-worker",)) -> None:
        self.env, self.port, self.processes, self.log, self.options = env, port, processes, log, options
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def group(self) -> int:
        assert self.process is not None, "the server is not started"
        return self.process.pid

    def start(self, probe_token: str) -> float:
        """Start it and wait until it answers ``GET /api/me`` (the database read, the token checked);
        the seconds that took."""
        processes = [] if self.processes is None else ["--workers", str(self.processes)]  # None: serve's default
        command = [*CLI, "serve", "--host", "127.0.0.1", "--port", str(self.port), *processes, *self.options]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, start_new_session=True,
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        began = time.monotonic()
        deadline = began + START_TIMEOUT
        while True:
            with suppress(httpx.HTTPError):
                answer = httpx.get(f"{self.base}/api/me", headers=bearer(probe_token), timeout=5)
                if answer.status_code == 200:
                    return time.monotonic() - began
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}; see {self.log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer within {START_TIMEOUT:.0f} s; see {self.log}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL to the whole group: no shutdown, no flush, as a power cut would leave it."""
        self.signal(signal.SIGKILL)

    def stop(self) -> None:
        """Stop it as an operator would (SIGTERM), killed when it takes longer than half a minute."""
        try:
            self.signal(signal.SIGTERM)
        except subprocess.TimeoutExpired:
            self.kill()

    def signal(self, number: signal.Signals) -> None:
        """``number`` to every process of the group (the group outlives its leader while any is left)."""
        if self.process is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, number)
        self.process.wait(timeout=30)

    def survivors(self) -> list[int]:
        """Processes of the killed group still alive a few seconds on (there should be none)."""
        if self.process is None:
            return []
        deadline = time.monotonic() + 5
        while (alive := group_members(self.process.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        return alive


# -- the database -------------------------------------------------------------------------------


def postgres_url(given: str | None) -> str:
    """The PostgreSQL server to use: the one given, or the machine's, started by ``.ci/postgres-up``."""
    if given:
        return given
    script = ROOT / ".ci" / "postgres-up"
    if not script.exists():
        raise SystemExit("this runs on PostgreSQL: give --database-url or set CITYFLOW_TEST_POSTGRES_URL")
    return subprocess.run([str(script)], check=True, capture_output=True, text=True).stdout.strip()


def fresh_database(server_url: str, name: str) -> str:
    """Database ``name`` dropped and created again on the PostgreSQL server of ``server_url``; its URL."""
    if not name.isidentifier():
        raise SystemExit(f"--database {name!r}: letters, digits and _ only")
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {name}"))
    finally:
        admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def city_environment(database_url: str, var_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of a served city on ``database_url`` with its keys and anchor log in ``var_dir``;
    ``settings`` are further ``CITYFLOW_…`` variables (``audit_checkpoint_seconds="1"``)."""
    return {
        **os.environ,
        "CITYFLOW_DATABASE_URL": database_url,
        "CITYFLOW_VAR_DIR": str(var_dir),
        "CITYFLOW_ATTACHMENTS_DIR": str(var_dir / "attachments"),
        "CITYFLOW_WORKFLOWS_DIR": str(ROOT / "workflows"),
        **{f"CITYFLOW_{name.upper()}": value for name, value in settings.items()},
    }


def demo_city(env: dict[str, str], history: bool) -> str:
    """The demo city hall's people and processes (``history``: its months of cases too, as ``cityflow
    init --demo`` seeds them) in the database of ``env``; an API token for the auditor, who reads
    everything and changes nothing. Set up in a process of its own, so that this one's settings stay
    its own."""
    if history:
        subprocess.run([*CLI, "init", "--demo"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    done = subprocess.run([sys.executable, "-c", "from bench.load import people_and_processes as p; print(p())"],
                          cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1]


def people_and_processes() -> str:
    """``demo_city`` within the set-up's own process: the schema, the approval process, the demo's
    people; the auditor's token."""
    from engine import definitions, identity
    from engine.config import get_settings
    from engine.db import Database
    from engine.demo import seed_organisation
    from engine.migrate import upgrade

    settings = get_settings()
    database = Database(settings.database_url)
    try:
        upgrade(database.engine)
        with database.unit_of_work() as session:
            approval = definitions.read_source(settings.workflows_dir / "approval")
            definitions.deploy(session, definitions.check(approval), "bench")  # unchanged: deployed already
            seed_organisation(session)
            token, _ = identity.create_token(session, AUDITOR)
    finally:
        database.dispose()
    return token
