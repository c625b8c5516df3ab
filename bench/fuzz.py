"""``make fuzz``: requests generated from the OpenAPI description (schemathesis), sent as each kind of
person the city has and as nobody, against a fresh demo city hall on SQLite. Whatever is sent, the
answer must not be a server error, and an answer that says it is JSON must parse as JSON: any 5xx is
printed with what was sent, the answer and the server's traceback, and the run exits 1.

    python -m bench.fuzz [--seconds 280] [--max-examples 25] [--roles mayor,auditor]

``--seconds`` bounds the whole run, the set-up included; the roles share evenly what the set-up
leaves, and within a role the operations share evenly what is left of its time. Each operation gets
up to ``--max-examples`` generated requests, drawn from those that fit the schema and those that do
not (schemathesis's positive and negative modes)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: One demo person of each kind: staff, a department head, the mayor, the planning office (records
#: manager), an auditor, a process designer, an administrator — and nobody logged in.
ROLES: dict[str, str | None] = {
    "staff": "roads.staff",
    "head": "roads.chief",
    "mayor": "mayor",
    "planning": "planning.staff",
    "auditor": "auditor",
    "designer": "designer",
    "admin": "admin",
    "anonymous": None,
}

#: Revoking the token would end the role's session: it goes last, after every other operation.
LAST = ("POST", "/api/auth/revoke")


@dataclass
class Tally:
    role: str
    operations: int = 0  # those that got at least one request
    requests: int = 0
    ok: int = 0  # 2xx and 3xx
    refused: int = 0  # 4xx
    failures: list[str] = field(default_factory=list)  # 5xx, exceptions and unreadable answers
    server_errors: int = 0
    unreadable: int = 0
    not_generated: list[str] = field(default_factory=list)
    seconds: float = 0.0


class OutOfTime(Exception):
    """The operation's share of the time is spent."""


class ServerLog(logging.Handler):
    """What the app logs at ERROR and above (its tracebacks), kept for the request being sent."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self.shown: set[tuple[str, ...]] = set()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def report(self, raised: BaseException | None = None) -> str:
        """The server's side of the request just sent: what it logged, each traceback by cityflow's own
        frames; a traceback already shown for an earlier request is named, not repeated."""
        logged = [(r.getMessage(), r.exc_info[1] if r.exc_info else None) for r in self.records]
        lines = []
        for message, error in logged or [("(nothing logged; raised through to the client)", raised)]:
            lines.append(f"  server: {message}")
            if error is None:
                continue
            where = (*own_frames(error), type(error).__name__)
            if where in self.shown:
                lines.append(f"    {type(error).__name__}, the traceback shown above")
                continue
            self.shown.add(where)
            lines += [f"    {frame}" for frame in where[:-1]]
            lines.append(f"    {type(error).__name__}: {(str(error).splitlines() or [''])[0][:300]}")
        return "\n".join(lines)


def own_frames(error: BaseException) -> list[str]:
    """The frames of a traceback in cityflow's own code."""
    own = tuple(str(ROOT / package) + os.sep for package in ("api", "engine", "forms"))
    return [f"{Path(f.filename).relative_to(ROOT)}:{f.lineno} in {f.name}: {f.line}"
            for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith(own)]


def demo_city(folder: Path) -> dict[str, str]:
    """A demo city hall in ``folder``: the settings' environment, after ``cityflow init --demo``."""
    env = {
        "CITYFLOW_VAR_DIR": str(folder / "var"),
        "CITYFLOW_DATABASE_URL": f"sqlite:///{folder / 'var' / 'fuzz.db'}",
        "CITYFLOW_WORKFLOWS_DIR": str(ROOT / "workflows"),
        "CITYFLOW_ATTACHMENTS_DIR": str(folder / "var" / "attachments"),
    }
    command = [sys.executable, "-c", "from api.cli import main; main()", "init", "--demo"]
    subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL)
    return env


def fuzz_role(schema: Any, role: str, token: str | None, examples: int, seconds: float, log: ServerLog) -> Tally:
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    tally = Tally(role)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    operations = sorted((result.ok() for result in schema.get_all_operations()),
                        key=lambda operation: (operation.method.upper(), operation.path) == LAST)
    started = time.monotonic()
    for number, operation in enumerate(operations):
        # Each operation gets an even share of what is left of the role's time.
        deadline = time.monotonic() + (started + seconds - time.monotonic()) / (len(operations) - number)
        before = tally.requests
        strategy = st.one_of(*(operation.as_strategy(generation_mode=mode) for mode in GenerationMode))
        try:
            _sender(strategy, headers, examples, deadline, tally, log)()
        except OutOfTime:
            pass
        except Exception as exc:  # no request could be generated for it (an unsatisfiable schema, say)
            tally.not_generated.append(f"{operation.method.upper()} {operation.path}: {type(exc).__name__}: {exc}")
        tally.operations += tally.requests > before
    tally.seconds = time.monotonic() - started
    return tally


def _sender(strategy: Any, headers: dict[str, str], examples: int, deadline: float, tally: Tally,
            log: ServerLog) -> Any:
    """A run of up to ``examples`` requests drawn from ``strategy``, each answer checked and tallied."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from schemathesis.core import NOT_SET

    first = tally.requests

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet)
    @given(case=strategy)
    def send(case: Any) -> None:
        if time.monotonic() > deadline and tally.requests > first:  # (every operation gets one request)
            raise OutOfTime
        tally.requests += 1
        log.records.clear()
        body = "(none)" if case.body is NOT_SET else repr(case.body)[:500]
        sent = (f"{tally.role}: {case.method} {case.formatted_path}\n  query {case.query!r}\n"
                f"  headers {case.headers!r}\n  body {body}")
        try:
            answer = case.call(headers={**(case.headers or {}), **headers})
        except Exception as exc:  # the app raised through to the client: a server error too
            tally.server_errors += 1
            tally.failures.append(f"{sent}\n  → raised {type(exc).__name__} through to the client\n{log.report(exc)}")
            return
        if answer.status_code >= 500:
            tally.server_errors += 1
            tally.failures.append(f"{sent}\n  → {answer.status_code} {answer.text[:500]}\n{log.report()}")
            return
        if answer.status_code >= 400:
            tally.refused += 1
        else:
            tally.ok += 1
        if "json" in (answer.headers.get("content-type") or [""])[0] and answer.content:
            try:
                json.loads(answer.content)
            except ValueError as exc:
                tally.unreadable += 1
                tally.failures.append(f"{sent}\n  → {answer.status_code}, not JSON ({exc}): {answer.text[:500]!r}")

    return send


def main(argv: list[str] | None = None) -> int:
    begun = time.monotonic()
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=280.0, help="the whole run's time, the set-up included")
    parser.add_argument("--max-examples", "--examples", type=int, default=25,
                        help="generated requests per operation and role")
    parser.add_argument("--roles", default=",".join(ROLES), help="which of: " + ", ".join(ROLES))
    args = parser.parse_args(argv)
    roles = [name.strip() for name in args.roles.split(",") if name.strip()]
    unknown = [name for name in roles if name not in ROLES]
    if unknown:
        parser.error(f"no role {', '.join(unknown)}: choose from {', '.join(ROLES)}")

    folder = Path(tempfile.mkdtemp(prefix="cityflow-fuzz-"))
    print(f"setting up a demo city hall in {folder} …", flush=True)
    os.environ.update(demo_city(folder))
    log = ServerLog()  # the app's errors are kept for the report, not printed as they happen
    logging.getLogger().addHandler(log)
    import schemathesis

    from api.app import create_app
    from engine.demo import DEMO_PASSWORD

    schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app())
    login = schema["/api/auth/token"]["POST"]
    tokens: dict[str, str | None] = {}
    for role in roles:  # once per role, before any generated login attempt can trip the throttle
        username = ROLES[role]
        if username is not None:
            answer = login.Case(body={"username": username, "password": DEMO_PASSWORD}).call()
            if answer.status_code != 200:
                raise SystemExit(f"{username} cannot log in: {answer.status_code} {answer.text}")
            tokens[role] = answer.json()["access_token"]
    setup = time.monotonic() - begun
    print(f"set up in {setup:.0f} s", flush=True)

    tallies = []
    for number, role in enumerate(roles):
        share = max(0.0, args.seconds - (time.monotonic() - begun)) / (len(roles) - number)
        print(f"fuzzing as {role} ({ROLES[role] or 'not logged in'}) for up to {share:.0f} s …", flush=True)
        tallies.append(fuzz_role(schema, role, tokens.get(role), args.max_examples, share, log))

    print(f"\n{'role':<10}{'user':<15}{'operations':>11}{'requests':>10}{'2xx/3xx':>9}{'4xx':>7}{'5xx':>5}"
          f"{'unreadable':>11}{'seconds':>9}")
    for t in tallies:
        print(f"{t.role:<10}{ROLES[t.role] or '-':<15}{t.operations:>11}{t.requests:>10}{t.ok:>9}{t.refused:>7}"
              f"{t.server_errors:>5}{t.unreadable:>11}{t.seconds:>9.0f}")
    server_errors = sum(t.server_errors for t in tallies)
    unreadable = sum(t.unreadable for t in tallies)
    print(f"\n{sum(t.requests for t in tallies)} requests, {server_errors} server errors, {unreadable} unreadable "
          f"answers; {time.monotonic() - begun:.0f} s in all ({setup:.0f} s of set-up)")
    for failure in (failure for t in tallies for failure in t.failures):
        print(f"\n{failure}")
    not_generated = sorted({item for t in tallies for item in t.not_generated})
    if not_generated:
        print(f"\n{len(not_generated)} operations for which no request could be generated:\n  "
              + "\n  ".join(not_generated))
    return 1 if server_errors or unreadable else 0


if __name__ == "__main__":
    sys.exit(main())
