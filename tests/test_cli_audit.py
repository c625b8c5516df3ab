"""What an operator does with the trail from a shell: checkpoint, back up, restore an older backup,
and read what ``cityflow audit verify`` says about it — on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.config import get_settings
from engine.context import EngineContext
from engine.db import Database
from tests.cli_helpers import AUDIT_KEY, Cli
from tests.engine.helpers import Driver, bpmn, process, write_folder
from tests.engine.test_audit import BODY
from tests.engine.test_audit_backup import own_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def operator(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """``cityflow`` on a database of its own; this process works on the same database, var folder and key."""
    urls = iter([f"sqlite:///{tmp_path / 'city.db'}"]) if request.param == "sqlite" else own_postgres("cli")
    command = Cli.configured(tmp_path, next(urls))
    assert command.ok("init").startswith("database ready: ")
    monkeypatch.setenv("CITYFLOW_AUDIT_KEY", AUDIT_KEY)
    monkeypatch.setenv("CITYFLOW_VAR_DIR", command.env["CITYFLOW_VAR_DIR"])
    get_settings.cache_clear()
    yield command
    next(urls, None)


def test_an_operator_restores_an_older_backup_and_verify_names_what_was_lost(operator: Cli, tmp_path: Path) -> None:
    database = Database(operator.database_url)
    driver = Driver(database, EngineContext.create())
    try:
        driver.deploy(write_folder(tmp_path, "memo", {"memo.bpmn": bpmn(process("memo", BODY))}))
        memo = driver.start("memo", {"title": "예산 요청"})
        driver.complete(memo, "draft", {"body": "v1"}, actor="kim")
        checkpointed = operator.ok("audit", "checkpoint")
        assert re.match(r"checkpoint 1 [0-9a-f]{64} \(2 chains moved, 2 chains and \d+ records in all\); "
                        r"1 appended to the anchor log ", checkpointed), checkpointed
        before = driver.instance(memo).audit_seq

        backup = tmp_path / "city.backup"
        made = operator.ok("backup", backup)
        assert re.fullmatch(rf"backup {re.escape(str(backup))}: [\d,]+ bytes, [\d,]+ audit records, newest "
                            r"checkpoint #1\n", made), made

        driver.complete(memo, "approve", {"approved": True}, actor="lee")
        operator.ok("audit", "checkpoint")
        after = driver.instance(memo).audit_seq
        assert operator.ok("audit", "verify").splitlines()[-1].startswith("verified ")
    finally:
        database.dispose()

    refused = operator("restore", backup)
    assert refused.returncode == 1 and "is not empty; give --force" in refused.stderr

    restored = operator("restore", backup, "--force")
    assert restored.returncode == 0, restored.stderr
    assert "the restored database does not verify against the anchor log:" in restored.stdout
    assert "the database is older than its anchor log: its newest checkpoint is #1" in restored.stdout

    verified = operator("audit", "verify")
    assert verified.returncode == 1
    assert verified.stdout.startswith("broken: the database is older than its anchor log")
    assert f"broken: instance {memo}: records #{before + 1}–#{after} are missing (checkpoint #2 at" in verified.stdout
    report = json.loads(operator("audit", "verify", "--json").stdout)
    assert report["ok"] is False
    assert [f["code"] for f in report["findings"]] == ["rolled-back", "checkpoint-missing", "chain-shorter"]
    assert report["newest_anchor"]["checkpoint"] == 2


def test_verify_can_compare_with_a_copy_of_the_anchor_log_kept_elsewhere(operator: Cli, tmp_path: Path) -> None:
    database = Database(operator.database_url)
    try:
        Driver(database, EngineContext.create()).deploy(
            write_folder(tmp_path, "memo", {"memo.bpmn": bpmn(process("memo", BODY))}))
    finally:
        database.dispose()
    operator.ok("audit", "checkpoint")
    kept = tmp_path / "worm-copy.jsonl"
    kept.write_text(get_settings().audit_anchor_log.read_text())
    get_settings().audit_anchor_log.write_text("")  # the local log emptied
    assert operator("audit", "verify", "--anchors", kept).returncode == 0
    edited = json.loads(kept.read_text())
    edited["at"] = "2026-01-01T00:00:00.000000Z"
    kept.write_text(json.dumps(edited) + "\n")
    answer = operator("audit", "verify", "--anchors", kept)
    assert answer.returncode == 1 and "anchor log line 1 (checkpoint #1) does not match its signature" in answer.stdout


def test_a_new_audit_key_is_made_next_to_the_others(tmp_path: Path) -> None:
    command = Cli.configured(tmp_path, f"sqlite:///{tmp_path / 'city.db'}")
    del command.env["CITYFLOW_AUDIT_KEY"]
    command.ok("init")
    made = command.ok("audit", "new-key")  # key 1 is made when first needed, here
    assert made.startswith(f"audit key 2 written to {tmp_path / 'var' / 'audit-2.key'}")
    first, second = ((tmp_path / "var" / f"audit-{n}.key").read_text() for n in (1, 2))
    assert len(first) == len(second) == 64 and first != second
    assert command.ok("audit", "new-key").startswith("audit key 3 written to")
    assert (tmp_path / "var" / "audit-1.key").read_text() == first, "older keys are kept"

    configured = Cli.configured(tmp_path, f"sqlite:///{tmp_path / 'city.db'}")
    refused = configured("audit", "new-key")
    assert refused.returncode == 1 and "add key 2 to CITYFLOW_AUDIT_KEYS" in refused.stderr
