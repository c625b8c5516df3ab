"""P3 and P6: a city's busiest hour over HTTP, and the server's memory meanwhile.

    python -m bench.p3 [--clients 8] [--server-processes N] [--seconds 16] [--baseline-seconds 8]
                       [--rounds 2] [--warm-up 3] [--only postgresql|sqlite] [--no-worker]
                       [--serve-option=--…] [--database-url postgresql+psycopg://…] [--database cityflow_p3]

``--clients`` threads, each with one keep-alive connection, work against a served cityflow (``cityflow
serve --with-worker``, ``--workers`` when ``--server-processes`` is given, else its own default): each
starts a 전자결재 as roads.staff and completes its three tasks as the people they are assigned to
(``bench/load.py``), bearer tokens, form validation and audit on every request, again and again;
each answer is the case's brief (``Prefer: return=minimal``).
The in-run baseline is ``GET /api/me`` — the token checked, the caller read — from the same clients.
After ``--warm-up`` seconds of approvals the two alternate, ``--rounds`` times, each window preceded by
a second in which the clients change over; the figures are those of the windows. Printed: approval
instances/s (the 결재 answered), requests/s, p50/p95 per request, the server's CPU per approval
(its processes read from /proc, the share of each), the client's own CPU and how busy the machine
was. P6 is the peak, sampled every 100 ms over the whole load, of the resident memory of every
process of the server's process group summed: server processes, the worker's, script processes.

On PostgreSQL the database ``--database`` of ``--database-url`` (default
``$CITYFLOW_TEST_POSTGRES_URL``, else what ``.ci/postgres-up`` prints) is dropped and made anew; on
SQLite a file in the run's temporary folder. Either holds the demo's people and processes only; the
keys, the anchor log and the server's log are in the temporary folder, removed after the run.
Exits 1 when a request fails.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.load import (
    APPROVERS,
    DRAFTER,
    REQUEST_TIMEOUT,
    START_PATH,
    Server,
    bearer,
    city_environment,
    completion,
    demo_city,
    free_port,
    fresh_database,
    group_members,
    login,
    milliseconds,
    postgres_url,
    start_body,
    stopped,
    task_for,
)
from bench.transitions import Figure

APPROVALS, ME, STOP = "approvals", "GET /api/me", "stop"
CHANGE_OVER = 1.0  # seconds between windows: clients finish the approval under way
SAMPLE_EVERY = 0.1  # seconds between two readings of the server's memory
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 1024 * 1024
P3_LIMIT = 150.0  # approval instances/s, PostgreSQL (TARGETS.md)
P6_LIMIT = 300.0  # MB


# -- the clients ----------------------------------------------------------------------------------


@dataclass
class Board:
    """What the clients are to do now; every failed request."""

    phase: str = APPROVALS
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, line: str) -> None:
        with self.lock:
            self.errors.append(line)


class LoadClient(threading.Thread):
    """One client: a keep-alive connection (``http.client``, cheap on the client's CPU) doing what the
    board says; every answered request noted as (when answered, seconds it took, what it was)."""

    def __init__(self, number: int, port: int, tokens: dict[str, str], board: Board) -> None:
        super().__init__(name=f"p3-client-{number}", daemon=True)
        self.number, self.port, self.board = number, port, board
        # The clients act as a well-made client does: the answer to an action is the case's brief
        # (``Prefer: return=minimal``): what it needs to act next, not the whole case's data.
        self.headers = {name: {**bearer(token), "Content-Type": "application/json", "Prefer": "return=minimal"}
                        for name, token in tokens.items()}
        self.records: list[tuple[float, float, str]] = []
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)

    def run(self) -> None:
        round_ = 0
        while (phase := self.board.phase) != STOP:
            if phase == ME:
                self.send("GET", "/api/me", DRAFTER, None, "me")
            else:
                round_ += 1
                self.approval(f"p3-{self.number}-{round_}")
        self.connection.close()

    def approval(self, key: str) -> None:
        case = self.send("POST", START_PATH, DRAFTER, start_body(key), "start")
        for approver in APPROVERS:
            if case is None:
                return
            task = task_for(case, approver)
            if task is None:
                self.board.fail(f"{key} answered as {stopped(case)}, no task for {approver}")
                return
            path, body = completion(task)
            case = self.send("POST", path, approver, body, "approve" if approver == APPROVERS[-1] else "review")

    def send(self, method: str, path: str, who: str, body: dict[str, Any] | None, kind: str) -> Any:
        """The request on the kept-alive connection; its answer's JSON when 2xx, else None."""
        payload = None if body is None else json.dumps(body).encode()
        began = time.perf_counter()
        try:
            self.connection.request(method, path, payload, self.headers[who])
            answer = self.connection.getresponse()
            content = answer.read()
        except (OSError, http.client.HTTPException) as exc:
            self.board.fail(f"{method} {path}: no answer ({exc!r})")
            self.connection.close()  # connects again on the next request
            return None
        ended = time.perf_counter()
        if not 200 <= answer.status < 300:
            self.board.fail(f"{method} {path} as {who}: {answer.status} {content[:300]!r}")
            return None
        self.records.append((ended, ended - began, kind))
        return json.loads(content)


# -- the server, read from /proc -------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of process ``pid`` so far (0 when it is gone)."""
    with suppress(OSError, ValueError, IndexError):
        line = Path(f"/proc/{pid}/stat").read_text()
        fields = line[line.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    return 0.0


def resident_bytes(pid: int) -> int:
    with suppress(OSError, ValueError, IndexError):
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    return 0


def proportional_bytes(pid: int) -> int:
    """Process ``pid``'s proportional set size: its own pages, and its share of those it shares."""
    with suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def role(pid: int) -> str:
    """What process ``pid`` of the server's group is: the one started (it runs the worker too), a
    server process uvicorn started, or a script process."""
    with suppress(OSError):
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        if b"engine.script_process" in command:
            return "script"
        if b"spawn_main" in command or b"multiprocessing" in command:
            return "server"
        return "main"
    return "gone"


def machine_busy() -> tuple[float, float]:
    """(busy, all) jiffies of the machine's CPUs so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


class Sampler(threading.Thread):
    """Reads the resident memory of every process of the server's group every ``SAMPLE_EVERY``
    seconds and keeps the peak of their sum; every fifth time also their proportional set sizes
    (pages shared between them counted once), which cost more to read."""

    def __init__(self, group: int) -> None:
        super().__init__(name="p3-sampler", daemon=True)
        self.group = group
        self.peak = self.peak_processes = self.peak_proportional = 0
        self.stopping = threading.Event()

    def total(self) -> tuple[int, int]:
        members = group_members(self.group)
        return sum(resident_bytes(pid) for pid in members), len(members)

    def run(self) -> None:
        readings = 0
        while not self.stopping.wait(SAMPLE_EVERY):
            total, processes = self.total()
            if total > self.peak:
                self.peak, self.peak_processes = total, processes
            readings += 1
            if readings % 5 == 0:
                shared = sum(proportional_bytes(pid) for pid in group_members(self.group))
                self.peak_proportional = max(self.peak_proportional, shared)


@dataclass
class Snapshot:
    """Clocks read at a window's edge."""

    at: float  # perf_counter
    client_cpu: float
    server_cpu: dict[int, float]
    machine: tuple[float, float]

    @classmethod
    def take(cls, group: int) -> Snapshot:
        return cls(time.perf_counter(), time.process_time(), {pid: cpu_seconds(pid) for pid in group_members(group)},
                   machine_busy())


@dataclass
class Window:
    phase: str
    began: Snapshot
    ended: Snapshot

    @property
    def seconds(self) -> float:
        return self.ended.at - self.began.at

    def server_cpu(self) -> dict[int, float]:
        return {pid: self.ended.server_cpu.get(pid, 0.0) - self.began.server_cpu.get(pid, 0.0)
                for pid in self.ended.server_cpu}


# -- a run ---------------------------------------------------------------------------------------


@dataclass
class Result:
    """The figures of one served city under the load."""

    label: str
    clients: int
    seconds: dict[str, float]  # phase → seconds measured
    latencies: dict[str, list[float]]  # phase → seconds per request
    approvals: int
    server_cpu: dict[str, float]  # phase → CPU-s of the server's group in its windows
    per_process: list[tuple[str, float]]  # (role, CPU-s) in the approval windows, busiest first
    client_cpu: dict[str, float]
    machine_busy: dict[str, float]  # phase → cores busy on average
    peak_rss: int
    peak_processes: int
    peak_proportional: int
    idle_rss: int
    errors: list[str]

    def rate(self, phase: str) -> float:
        return len(self.latencies[phase]) / self.seconds[phase]

    @property
    def approvals_per_second(self) -> float:
        return self.approvals / self.seconds[APPROVALS]


def drive(server: Server, tokens: dict[str, str], clients: int, warm_up: float, seconds: float,
          baseline_seconds: float, rounds: int) -> tuple[list[Window], list[LoadClient], Board, Sampler]:
    """The load: ``warm_up`` seconds of approvals, then approvals and the baseline in turn."""
    board = Board()
    sampler = Sampler(server.group)
    sampler.start()
    workers = [LoadClient(number, server.port, tokens, board) for number in range(1, clients + 1)]
    for client in workers:
        client.start()
    windows: list[Window] = []
    try:
        time.sleep(warm_up)
        for _ in range(rounds):
            for phase, length in ((APPROVALS, seconds / rounds), (ME, baseline_seconds / rounds)):
                board.phase = phase
                time.sleep(CHANGE_OVER)
                began = Snapshot.take(server.group)
                time.sleep(length)
                windows.append(Window(phase, began, Snapshot.take(server.group)))
    finally:
        board.phase = STOP
        for client in workers:
            client.join(REQUEST_TIMEOUT)
        sampler.stopping.set()
        sampler.join()
    return windows, workers, board, sampler


def measure_served(label: str, database_url: str, folder: Path, clients: int, processes: int | None,
                   options: Sequence[str], warm_up: float, seconds: float, baseline_seconds: float,
                   rounds: int) -> Result:
    """P3 and P6 against a cityflow served on ``database_url``, set up anew with the demo's people."""
    var = folder / f"var-{label.lower()}"
    env = city_environment(database_url, var)
    say(f"{label}: setting up the demo's people and processes")
    probe = demo_city(env, history=False)
    server = Server(env, free_port(), processes, folder / f"server-{label.lower()}.log", options)
    try:
        started = server.start(probe)
        tokens = {name: login(server.base, name) for name in (DRAFTER, *APPROVERS)}
        idle_rss = Sampler(server.group).total()[0]
        say(f"{label}: server up in {started:.1f} s; {clients} clients, {warm_up:g} s warm-up, then "
            f"{rounds}× ({seconds / rounds:g} s approvals, {baseline_seconds / rounds:g} s GET /api/me)")
        windows, workers, board, sampler = drive(server, tokens, clients, warm_up, seconds, baseline_seconds,
                                                 rounds)
        roles = {pid: role(pid) for pid in group_members(server.group)}
    finally:
        server.stop()
    return summarise(label, clients, windows, workers, board, sampler, idle_rss, roles)


def summarise(label: str, clients: int, windows: list[Window], workers: list[LoadClient], board: Board,
              sampler: Sampler, idle_rss: int, roles: dict[int, str]) -> Result:
    kinds = {APPROVALS: {"start", "review", "approve"}, ME: {"me"}}
    latencies: dict[str, list[float]] = {APPROVALS: [], ME: []}
    approvals = 0
    seconds = {APPROVALS: 0.0, ME: 0.0}
    server_cpu = {APPROVALS: 0.0, ME: 0.0}
    client_cpu = {APPROVALS: 0.0, ME: 0.0}
    busy = {APPROVALS: 0.0, ME: 0.0}
    by_process: dict[int, float] = {}
    cores = os.cpu_count() or 1
    for window in windows:
        seconds[window.phase] += window.seconds
        cpu = window.server_cpu()
        server_cpu[window.phase] += sum(cpu.values())
        client_cpu[window.phase] += window.ended.client_cpu - window.began.client_cpu
        spent, total = (e - b for e, b in zip(window.ended.machine, window.began.machine, strict=True))
        busy[window.phase] += cores * spent / total * window.seconds if total else 0.0
        if window.phase == APPROVALS:
            for pid, used in cpu.items():
                by_process[pid] = by_process.get(pid, 0.0) + used
        for client in workers:
            for ended, took, kind in client.records:
                if window.began.at <= ended < window.ended.at and kind in kinds[window.phase]:
                    latencies[window.phase].append(took)
                    approvals += window.phase == APPROVALS and kind == "approve"
    per_process = sorted(((roles.get(pid, "gone"), used) for pid, used in by_process.items()), key=lambda p: -p[1])
    return Result(label, clients, seconds, latencies, approvals, server_cpu, per_process, client_cpu,
                  {phase: busy[phase] / seconds[phase] for phase in busy if seconds[phase]},
                  sampler.peak, sampler.peak_processes, sampler.peak_proportional, idle_rss, board.errors)


def report(result: Result) -> None:
    a, m = result.latencies[APPROVALS], result.latencies[ME]
    rate, baseline = result.rate(APPROVALS), result.rate(ME)
    print(f"P3 {result.label}, {result.clients} clients, {result.seconds[APPROVALS]:.1f} s of approvals and "
          f"{result.seconds[ME]:.1f} s of GET /api/me in turn:")
    print(f"  approvals    {result.approvals_per_second:8.1f} instances/s {rate:8.1f} requests/s  "
          f"p50 {milliseconds(a, 0.5):6.1f} ms  p95 {milliseconds(a, 0.95):6.1f} ms  ({len(a):,} requests)")
    print(f"  GET /api/me  {'':20} {baseline:8.1f} requests/s  p50 {milliseconds(m, 0.5):6.1f} ms  "
          f"p95 {milliseconds(m, 0.95):6.1f} ms  ({len(m):,} requests)")
    print(f"  ratio: requests/s {rate / baseline if baseline else float('nan'):.2f} of GET /api/me's, "
          f"p50 {milliseconds(a, 0.5) / (milliseconds(m, 0.5) or 1):.1f}×, "
          f"p95 {milliseconds(a, 0.95) / (milliseconds(m, 0.95) or 1):.1f}×")
    per_approval = result.server_cpu[APPROVALS] / result.approvals * 1000 if result.approvals else float("nan")
    per_me = result.server_cpu[ME] / len(m) * 1000 if m else float("nan")
    shares = ", ".join(f"{who} {used:.1f}" for who, used in result.per_process if used >= 0.05)
    print(f"  server CPU: {per_approval:.1f} ms per approval, {per_me:.2f} ms per GET /api/me; CPU-s in the "
          f"approval windows by process: {shares}")
    client = {phase: result.client_cpu[phase] / result.seconds[phase] for phase in (APPROVALS, ME)}
    print(f"  client CPU (this process, {result.clients} threads): {client[APPROVALS]:.2f} s/s in approvals, "
          f"{client[ME]:.2f} s/s in GET /api/me; machine busy "
          f"{result.machine_busy.get(APPROVALS, 0):.2f} and {result.machine_busy.get(ME, 0):.2f} of "
          f"{os.cpu_count()} cores")
    print(f"P6 {result.label}: peak resident memory of the server's {result.peak_processes} processes "
          f"{result.peak_rss / MB:.0f} MB (after start, idle: {result.idle_rss / MB:.0f} MB; proportional set sizes, "
          f"shared pages counted once: peak {result.peak_proportional / MB:.0f} MB)")
    for line in result.errors[:10]:
        print(f"  FAILED {line}")
    if len(result.errors) > 10:
        print(f"  … {len(result.errors) - 10} more failed requests")


def figures(result: Result) -> list[Figure]:
    """The rows of ``make bench``'s table."""
    a, m = result.latencies[APPROVALS], result.latencies[ME]
    on, n = result.label, result.clients
    p3_limit = f"≥ {P3_LIMIT:g}/s" if on == "PostgreSQL" else "stated"
    return [
        Figure("P3", f"approvals/s, {n} clients, {on} (vs GET /api/me requests/s)", result.approvals_per_second,
               result.rate(ME), "/s", p3_limit),
        Figure("P3", f"requests/s in the approvals, {on} (vs GET /api/me)", result.rate(APPROVALS),
               result.rate(ME), "/s", "stated"),
        Figure("P3", f"p50 per request in the approvals, {on} (vs GET /api/me)", milliseconds(a, 0.5) / 1000,
               milliseconds(m, 0.5) / 1000, "ms", "stated"),
        Figure("P3", f"p95 per request in the approvals, {on} (vs GET /api/me)", milliseconds(a, 0.95) / 1000,
               milliseconds(m, 0.95) / 1000, "ms", "stated"),
        Figure("P6", f"peak RSS of the server's processes under P3, {on} (vs idle)", result.peak_rss / MB,
               result.idle_rss / MB, "MB", f"≤ {P6_LIMIT:g} MB"),
    ]


def say(line: str) -> None:
    print(f"· {line}", flush=True)


def parser() -> argparse.ArgumentParser:
    found = argparse.ArgumentParser(prog="python -m bench.p3", description=(__doc__ or "").split("\n\n")[0])
    found.add_argument("--clients", type=int, default=8)
    found.add_argument("--server-processes", type=int, default=None,
                       help="cityflow serve --workers (default: serve's own default)")
    found.add_argument("--seconds", type=float, default=16.0, help="approval seconds measured, all rounds together")
    found.add_argument("--baseline-seconds", type=float, default=8.0,
                       help="GET /api/me seconds measured, all rounds together")
    found.add_argument("--rounds", type=int, default=2, help="how many times approvals and the baseline alternate")
    found.add_argument("--warm-up", type=float, default=3.0, help="seconds of approvals before the first window")
    found.add_argument("--only", choices=("postgresql", "sqlite"), help="one database (default: both)")
    found.add_argument("--no-worker", action="store_true", help="serve without --with-worker")
    found.add_argument("--serve-option", action="append", default=[], metavar="OPTION",
                       help="a further option of cityflow serve, e.g. --serve-option=--backlog=4096 (repeatable)")
    found.add_argument("--database-url", default=os.environ.get("CITYFLOW_TEST_POSTGRES_URL"),
                       help="a PostgreSQL server (any database on it); default $CITYFLOW_TEST_POSTGRES_URL, "
                            "else .ci/postgres-up")
    found.add_argument("--database", default="cityflow_p3", help="the PostgreSQL database made anew for the run")
    return found


def run(args: argparse.Namespace) -> list[Result]:
    """P3 and P6 on the databases ``args`` name, in a temporary folder removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="cityflow-p3-"))
    options = ([] if args.no_worker else ["--with-worker"]) + list(args.serve_option)
    results = []
    try:
        targets: list[tuple[str, str]] = []
        if args.only in (None, "postgresql"):
            targets.append(("PostgreSQL", fresh_database(postgres_url(args.database_url), args.database)))
        if args.only in (None, "sqlite"):
            targets.append(("SQLite", f"sqlite:///{folder / 'cityflow_p3_sqlite.db'}"))
        for label, url in targets:
            result = measure_served(label, url, folder, args.clients, args.server_processes, options, args.warm_up,
                                    args.seconds, args.baseline_seconds, args.rounds)
            report(result)
            results.append(result)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    results = run(parser().parse_args(argv))
    return 1 if any(result.errors for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
