"""Checkpoints leave the database: the worker checkpoints every minute when anything was written and
appends each checkpoint to the anchor log (and to syslog when one is named), after it is committed."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from engine import audit, worker
from engine.config import Settings, get_settings
from engine.context import EngineContext
from engine.db import Database
from tests.engine.helpers import Driver, bpmn, process, write_folder
from tests.engine.test_audit import BODY


@pytest.fixture
def memo(driver: Driver, tmp_path: Path) -> str:
    driver.deploy(write_folder(tmp_path, "memo", {"memo.bpmn": bpmn(process("memo", BODY))}))
    return driver.start("memo", {"title": "예산 요청"})


class Minutes:
    """The worker's sense of elapsed time, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_worker_checkpoints_every_minute_when_anything_moved_and_anchors_each(
        database: Database, ctx: EngineContext, driver: Driver, memo: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = get_settings()
    assert settings.audit_checkpoint_seconds == 60
    elapsed = Minutes()
    monkeypatch.setattr(worker.time, "monotonic", elapsed)
    runner = worker.Worker(database, ctx, settings)

    assert runner.run_pass().checkpoints == 1
    (first,) = lines(settings.audit_anchor_log)
    assert first["checkpoint"] == 1 and memo in first["heads"]  # type: ignore[operator]

    driver.complete(memo, "draft", {"body": "v1"}, actor="kim")
    elapsed.now += 30
    assert runner.run_pass().checkpoints == 0, "not before the minute is over"
    elapsed.now += 31
    assert runner.run_pass().checkpoints == 1
    second = lines(settings.audit_anchor_log)[1]
    assert second["checkpoint"] == 2 and list(second["heads"]) == [memo]  # type: ignore[call-overload]
    assert second["heads"][memo][0] == driver.instance(memo).audit_seq  # type: ignore[index]
    assert second["prev_hash"] == first["hash"]

    elapsed.now += 61
    assert runner.run_pass().checkpoints == 0, "nothing moved: nothing to sign"
    with database.unit_of_work() as session:
        result = audit.verify(session)
    assert result.ok and result.anchors == 2 and result.unanchored_records == 0


def test_the_checkpoint_interval_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYFLOW_AUDIT_CHECKPOINT_SECONDS", "15")
    assert Settings().audit_checkpoint_seconds == 15
    monkeypatch.setenv("CITYFLOW_AUDIT_CHECKPOINT_SECONDS", "0")
    with pytest.raises(ValueError, match="CITYFLOW_AUDIT_CHECKPOINT_SECONDS=0"):
        Settings()


def test_the_anchor_log_goes_where_the_setting_says(database: Database, memo: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYFLOW_AUDIT_ANCHORS", str(tmp_path / "worm" / "anchors.jsonl"))
    get_settings.cache_clear()
    with database.unit_of_work() as session:
        audit.write_checkpoint(session)
    with database.unit_of_work() as session:
        assert audit.anchor(session) == 1
    assert lines(tmp_path / "worm" / "anchors.jsonl")[0]["checkpoint"] == 1


def test_each_anchor_also_goes_to_syslog_when_one_is_named(database: Database, memo: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as syslog:
        syslog.bind(("127.0.0.1", 0))
        syslog.settimeout(10)
        monkeypatch.setenv("CITYFLOW_AUDIT_ANCHOR_SYSLOG", f"127.0.0.1:{syslog.getsockname()[1]}")
        get_settings.cache_clear()
        with database.unit_of_work() as session:
            checkpoint = audit.write_checkpoint(session)
            assert checkpoint is not None
            signed = checkpoint.hash
        with database.unit_of_work() as session:
            audit.anchor(session)
        message = syslog.recv(65536).decode()
    assert "cityflow-audit-anchor: " in message
    short = json.loads(message.split("cityflow-audit-anchor: ", 1)[1].rstrip("\x00"))
    assert (short["checkpoint"], short["hash"], short["chains"]) == (1, signed, 2)
    assert "heads" not in short, "a syslog line stays short; the hash binds the heads"


def test_a_checkpoint_whose_anchor_could_not_be_written_is_anchored_by_the_next_pass(
        database: Database, ctx: EngineContext, driver: Driver, memo: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the anchor log's folder should be")
    settings = Settings(var_dir=tmp_path / "var", audit_key="test-audit-key", audit_anchors=blocked / "a.jsonl")
    elapsed = Minutes()
    monkeypatch.setattr(worker.time, "monotonic", elapsed)
    runner = worker.Worker(database, ctx, settings)
    assert runner.run_pass().checkpoints == 1  # committed; the anchor could not be written, the worker goes on
    blocked.unlink()
    driver.complete(memo, "draft", {"body": "v1"}, actor="kim")
    elapsed.now += 61
    assert runner.run_pass().checkpoints == 1
    assert [line["checkpoint"] for line in lines(blocked / "a.jsonl")] == [1, 2]
