"""The real ``cityflow`` command, run as a subprocess against a database and folders of the test's own.

The command reads its configuration from the environment only; every run here gets
an environment naming the test's database, key folder and audit key, and runs in
the test's temporary folder, so nothing can reach the repository's ``var/``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / "workflows"
CITYFLOW = Path(sys.executable).parent / "cityflow"
AUDIT_KEY = "cli-test-audit-key"


@dataclass
class Cli:
    """``cityflow`` with a fixed environment; calling it runs one command."""

    env: dict[str, str]
    cwd: Path

    @classmethod
    def configured(cls, workdir: Path, database_url: str, workflows_dir: Path = WORKFLOWS) -> Cli:
        env = {name: value for name, value in os.environ.items() if not name.startswith("CITYFLOW_")}
        env.update(
            CITYFLOW_DATABASE_URL=database_url,
            CITYFLOW_VAR_DIR=str(workdir / "var"),
            CITYFLOW_AUDIT_KEY=AUDIT_KEY,
            CITYFLOW_WORKFLOWS_DIR=str(workflows_dir),
        )
        return cls(env=env, cwd=workdir)

    @property
    def database_url(self) -> str:
        return self.env["CITYFLOW_DATABASE_URL"]

    def __call__(self, *args: object) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(CITYFLOW), *(str(a) for a in args)],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        # Whatever the command and its outcome, a user never gets a traceback.
        assert "Traceback" not in result.stdout + result.stderr, (
            f"cityflow {' '.join(map(str, args))} crashed:\n{result.stdout}\n{result.stderr}"
        )
        return result

    def ok(self, *args: object) -> str:
        """Run a command that must succeed; its standard output."""
        result = self(*args)
        assert result.returncode == 0, (
            f"cityflow {' '.join(map(str, args))} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
        return result.stdout

    def json_lines(self, *args: object) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.ok(*args).splitlines() if line.strip()]
