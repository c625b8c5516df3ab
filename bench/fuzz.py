"""``make fuzz``: requests generated from the OpenAPI description (schemathesis), sent as each kind of
person the city has and as nobody, against a fresh demo city hall on SQLite. Whatever is sent, the
answer must not be a server error: any 5xx is printed with what was sent and the run exits 1.

    python -m bench.fuzz [--seconds 320] [--examples 20] [--roles mayor,auditor]

The time is shared among the roles and, within a role, among the operations; each operation gets up
to ``--examples`` generated requests of each kind, valid and invalid (schemathesis's positive and
negative modes)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: One demo person of each kind: staff, a department head, the mayor, the planning office, the
#: records manager, an auditor, a process designer, an administrator — and nobody logged in.
ROLES = {
    "staff": "roads.staff",
    "head": "roads.chief",
    "mayor": "mayor",
    "planning": "planning.staff",
    "auditor": "auditor",
    "designer": "designer",
    "admin": "admin",
    "anonymous": None,
}


@dataclass
class Tally:
    role: str
    operations: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


class OutOfTime(Exception):
    """The role's share of the time is spent."""


def demo_city(folder: Path) -> dict[str, str]:
    """A demo city hall in ``folder``: the settings' environment, after ``cityflow init --demo``."""
    env = {
        "CITYFLOW_VAR_DIR": str(folder / "var"),
        "CITYFLOW_DATABASE_URL": f"sqlite:///{folder / 'var' / 'fuzz.db'}",
        "CITYFLOW_WORKFLOWS_DIR": str(ROOT / "workflows"),
        "CITYFLOW_ATTACHMENTS_DIR": str(folder / "var" / "attachments"),
    }
    command = [sys.executable, "-c", "from api.cli import main; main()", "init", "--demo"]
    subprocess.run(command, cwd=ROOT, env={**os.environ, **env},
                   check=True, stdout=subprocess.DEVNULL)
    return env


def fuzz_role(schema: Any, role: str, username: str | None, token: str | None, examples: int,
              seconds: float) -> Tally:
    from schemathesis import GenerationMode

    tally = Tally(role)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    operations = [result.ok() for result in schema.get_all_operations()]
    if token:  # revoking would end the role's session halfway: that one is fuzzed without a login
        operations = [operation for operation in operations if operation.path != "/api/auth/revoke"]
    started = time.monotonic()
    for number, operation in enumerate(operations):
        # Each operation gets an even share of what is left of the role's time.
        deadline = time.monotonic() + (started + seconds - time.monotonic()) / (len(operations) - number)
        tally.operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            send = _sender(strategy, role, headers, examples, deadline, tally)
            try:
                send()
            except OutOfTime:
                break
            except Exception as exc:  # no request could be generated for it (an unsatisfiable schema, say)
                if mode == GenerationMode.POSITIVE:  # (an operation without parameters has no invalid form)
                    tally.skipped.append(f"{operation.method.upper()} {operation.path}: {type(exc).__name__}")
    tally.seconds = time.monotonic() - started
    return tally


def _sender(strategy: Any, role: str, headers: dict[str, str], examples: int, deadline: float,
            tally: Tally) -> Any:
    """A run of up to ``examples`` requests drawn from ``strategy``, each answer's status tallied."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet)
    @given(case=strategy)
    def send(case: Any) -> None:
        if time.monotonic() > deadline:
            raise OutOfTime
        sent = f"{role}: {case.method} {case.formatted_path}\n  query {case.query!r} body {str(case.body)[:300]!r}"
        tally.requests += 1
        try:
            answer = case.call(headers={**(case.headers or {}), **headers})
        except Exception as exc:  # the app raised through to the client: a server error too
            tally.errors.append(f"{sent}\n  raised {type(exc).__name__}: {str(exc)[:300]}")
            return
        if answer.status_code >= 500:
            tally.errors.append(f"{sent}\n  → {answer.status_code} {answer.text[:300]}")

    return send


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=320.0, help="the whole run's time, shared by the roles")
    parser.add_argument("--examples", type=int, default=20, help="generated requests per operation and mode")
    parser.add_argument("--roles", default=",".join(ROLES), help="which of: " + ", ".join(ROLES))
    args = parser.parse_args(argv)
    roles = [name.strip() for name in args.roles.split(",") if name.strip()]
    unknown = [name for name in roles if name not in ROLES]
    if unknown:
        parser.error(f"no role {', '.join(unknown)}: choose from {', '.join(ROLES)}")

    folder = Path(tempfile.mkdtemp(prefix="cityflow-fuzz-"))
    print(f"setting up a demo city hall in {folder} …", flush=True)
    os.environ.update(demo_city(folder))
    import schemathesis
    from fastapi.testclient import TestClient

    from api.app import create_app
    from engine.demo import DEMO_PASSWORD

    app = create_app()
    client = TestClient(app)
    tokens: dict[str, str | None] = {}
    for role in roles:
        username = ROLES[role]
        if username is None:
            tokens[role] = None
            continue
        answer = client.post("/api/auth/token", json={"username": username, "password": DEMO_PASSWORD})
        answer.raise_for_status()
        tokens[role] = answer.json()["access_token"]
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)

    tallies = []
    share = args.seconds / len(roles)
    for role in roles:
        print(f"fuzzing as {role} ({ROLES[role] or 'not logged in'}) for up to {share:.0f} s …", flush=True)
        tallies.append(fuzz_role(schema, role, ROLES[role], tokens[role], args.examples, share))

    print(f"\n{'role':<10}{'operations':>11}{'requests':>10}{'5xx':>6}{'seconds':>9}")
    for tally in tallies:
        print(f"{tally.role:<10}{tally.operations:>11}{tally.requests:>10}{len(tally.errors):>6}{tally.seconds:>9.0f}")
    errors = [error for tally in tallies for error in tally.errors]
    total = sum(t.requests for t in tallies)
    print(f"\n{total} requests, {len(errors)} server errors")
    for error in errors:
        print(error)
    skipped = sorted({item for tally in tallies for item in tally.skipped})
    if skipped:
        print(f"\n{len(skipped)} operations generated no valid request: " + "; ".join(skipped))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
