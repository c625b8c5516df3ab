"""``cityflow migrate`` as a designer uses it at a shell: a dry run first, then the move, one line per
case, the exit code saying whether any stayed behind; on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import identity
from engine.config import get_settings
from engine.db import Database
from tests.cli_helpers import AUDIT_KEY, Cli
from tests.engine.helpers import bpmn, chain, process, user_task

SOME_KEPT = 4
PEOPLE = [("drafter.kim", ("staff",)), ("designer.jung", ("designer",)), ("clerk.han", ("staff",))]


def permit(after_review: str, draft_group: str = "drafters") -> str:
    body = ('<bpmn:startEvent id="start"/>' + user_task("draft", "기안", f'camunda:candidateGroups="{draft_group}"')
            + user_task("review", "검토", 'camunda:candidateUsers="clerk.han"') + user_task(after_review)
            + '<bpmn:endEvent id="end"/>' + chain("start", "draft", "review", after_review, "end"))
    return bpmn(process("permit", body))


@pytest.fixture(params=["sqlite", "postgresql"])
def cli(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("CITYFLOW_AUDIT_KEY", AUDIT_KEY)
    get_settings.cache_clear()
    url = (request.getfixturevalue("postgres").url if request.param == "postgresql"
           else f"sqlite:///{tmp_path / 'cityflow.db'}")
    command = Cli.configured(tmp_path, url, tmp_path / "workflows")
    command.ok("init")
    database = Database(url)
    try:
        with database.unit_of_work() as session:
            for username, roles in PEOPLE:
                identity.add_user(session, username, "a long enough password", actor="test", roles=list(roles),
                                  groups=["drafters"])
    finally:
        database.dispose()
    return command


def deploy(cli: Cli, tmp_path: Path, content: str) -> None:
    folder = tmp_path / "workflows" / "permit"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "permit.bpmn").write_text(content, encoding="utf-8")
    cli.ok("deploy", folder, "--as", "designer.jung")


def task_of(cli: Cli, instance_id: str) -> dict[str, object]:
    (task,) = cli.json_lines("tasks", "--instance", instance_id)
    return task


def test_a_dry_run_then_the_move_one_line_per_case(cli: Cli, tmp_path: Path) -> None:
    deploy(cli, tmp_path, permit("archive"))
    at_review = cli.ok("start", "permit", "--business-key", "허가-1", "--as", "drafter.kim").strip()
    cli.ok("complete", task_of(cli, at_review)["id"], "--as", "drafter.kim")
    at_draft = cli.ok("start", "permit", "--as", "drafter.kim").strip()
    deploy(cli, tmp_path, permit("sign_off", draft_group="clerks"))

    dry = cli("migrate", "permit", "--from", "1", "--to", "2", "--dry-run", "--as", "designer.jung")
    assert dry.returncode == SOME_KEPT, dry.stderr
    assert dry.stdout.splitlines() == [
        f"would move {at_review} (허가-1) at review",
        f"would keep {at_draft}: task 'draft' changed: its assignment differs",
        "permit 1 → 2: 1 would move, 1 would keep (dry run: nothing changed)",
    ]
    assert not [r for r in cli.json_lines("audit", "export", "--instance", at_review) if r["action"] == "instance.migrated"]

    refused = cli("migrate", "permit", "--from", "1", "--to", "2", "--as", "drafter.kim")
    assert refused.returncode == 1
    assert "NotAllowed: only a process designer or an admin may move running cases" in refused.stderr

    done = cli("migrate", "permit", "--from", "1", "--to", "2", "--as", "designer.jung")
    assert done.returncode == SOME_KEPT
    assert done.stdout.splitlines()[0] == f"moved {at_review} (허가-1) at review"
    assert done.stdout.splitlines()[-1] == "permit 1 → 2: 1 moved, 1 kept"

    # The moved case goes on along version 2; nothing is left to move; the trail verifies.
    cli.ok("complete", task_of(cli, at_review)["id"], "--as", "clerk.han")
    assert task_of(cli, at_review)["element_id"] == "sign_off"
    trail = cli.json_lines("audit", "export", "--instance", at_review)
    (moved,) = [r for r in trail if r["action"] == "instance.migrated"]
    assert moved["actor"] == "designer.jung"
    assert (moved["detail"]["from"]["version"], moved["detail"]["to"]["version"]) == (1, 2)
    cli.ok("audit", "verify")
    again = cli("migrate", "permit", "--from", "1", "--to", "2", "--as", "designer.jung")
    assert again.returncode == SOME_KEPT and again.stdout.splitlines()[-1] == "permit 1 → 2: 0 moved, 1 kept"


def test_at_the_shell_without_as_every_case_moves_and_it_exits_0(cli: Cli, tmp_path: Path) -> None:
    deploy(cli, tmp_path, permit("archive"))
    case = cli.ok("start", "permit", "--as", "drafter.kim").strip()
    deploy(cli, tmp_path, permit("sign_off"))

    assert cli.ok("migrate", "permit", "--from", "1", "--to", "2").splitlines() == [
        f"moved {case} at draft", "permit 1 → 2: 1 moved, 0 kept"]
    (moved,) = [r for r in cli.json_lines("audit", "export", "--instance", case) if r["action"] == "instance.migrated"]
    assert str(moved["actor"]).startswith("cli:")


def test_an_unknown_version_is_named(cli: Cli, tmp_path: Path) -> None:
    deploy(cli, tmp_path, permit("archive"))
    result = cli("migrate", "permit", "--from", "1", "--to", "7", "--as", "designer.jung")
    assert result.returncode == 1
    assert result.stderr.strip() == "ProcessNotFound: no process 'permit' version 7"
