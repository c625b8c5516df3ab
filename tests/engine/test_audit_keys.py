"""Audit keys have ids and rotate: what a key wrote verifies with that key, a missing key is named,
and no key is ever a default."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from engine import audit
from engine.config import Settings, get_settings
from engine.db import Database
from tests.engine.helpers import Driver, bpmn, process, write_folder
from tests.engine.test_audit import BODY, checkpoint, found, sql


def keys(monkeypatch: pytest.MonkeyPatch, key: str | None, keys: str | None) -> None:
    """The server restarted with these audit keys in its environment."""
    for name, value in (("CITYFLOW_AUDIT_KEY", key), ("CITYFLOW_AUDIT_KEYS", keys)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def verify(database: Database) -> audit.Verification:
    with database.unit_of_work() as session:
        return audit.verify(session)


@pytest.fixture
def rotated(driver: Driver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A case begun under key 1 and finished after key 2 was added, checkpointed under each."""
    driver.deploy(write_folder(tmp_path, "memo", {"memo.bpmn": bpmn(process("memo", BODY))}))
    instance = driver.start("memo", {"title": "예산 요청"})
    checkpoint(driver.database)
    keys(monkeypatch, "test-audit-key", "2:the-second-audit-key")
    driver.complete(instance, "draft", {"body": "v1"}, actor="kim")
    driver.complete(instance, "approve", {"approved": True}, actor="lee")
    checkpoint(driver.database)
    return instance


def test_records_and_checkpoints_under_key_1_and_key_2_both_verify(driver: Driver, rotated: str) -> None:
    trail = driver.trail(rotated)
    by_key = [record["key_id"] for record in trail]
    assert by_key == sorted(by_key) and set(by_key) == {1, 2}, "the chain goes on from key 1 to key 2"
    with driver.database.engine.connect() as connection:
        signed = connection.execute(text("SELECT key_id FROM audit_checkpoints ORDER BY id")).scalars().all()
    assert signed == [1, 2]
    result = verify(driver.database)
    assert result.ok, result.findings
    assert result.keys[1] + result.keys[2] == result.records and result.keys[2] == by_key.count(2)


def test_a_record_changed_under_the_older_key_is_still_named(driver: Driver, rotated: str) -> None:
    sql(driver.database, "UPDATE audit_records SET actor = 'mallory' WHERE chain = :c AND seq = 1", c=rotated)
    (message,) = found(verify(driver.database), "record-altered")
    assert f"instance {rotated} record #1" in message and "audit key 1" in message


def test_removing_key_1_is_a_named_finding(driver: Driver, rotated: str, monkeypatch: pytest.MonkeyPatch) -> None:
    keys(monkeypatch, None, "2:the-second-audit-key")
    result = verify(driver.database)
    (message,) = found(result, "key-missing")
    key_1 = result.keys[1]
    assert message.startswith(f"audit key 1 is missing: what it keyed ({key_1:,} records, 1 checkpoint, 1 anchor line) "
                              "cannot be verified")
    assert found(result, "record-altered") == [] and found(result, "checkpoint-signature") == []


def test_a_wrong_key_1_is_not_taken_for_a_missing_one(driver: Driver, rotated: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    keys(monkeypatch, "not-the-key-that-wrote", "2:the-second-audit-key")
    result = verify(driver.database)
    assert found(result, "record-altered") and found(result, "checkpoint-signature")


def test_keys_rotate_through_files_in_var_and_the_key_written_before_ids_is_key_1(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir()
    (var / "audit.key").write_text("the-key-of-old\n")
    settings = Settings(var_dir=var, audit_key=None)
    assert settings.audit_key_set() == {1: b"the-key-of-old"}
    (var / "audit-2.key").write_text("the-next-key")
    assert Settings(var_dir=var, audit_key=None).audit_key_set() == {1: b"the-key-of-old", 2: b"the-next-key"}
    assert Settings(var_dir=var, audit_key=None).key("audit") == b"the-next-key"
    (var / "audit-1.key").write_text("another-key-1")
    with pytest.raises(ValueError, match="both audit key 1 but differ"):
        Settings(var_dir=var, audit_key=None).audit_key_set()


def test_no_audit_key_is_ever_a_default_one_is_generated_once_for_each_city(tmp_path: Path) -> None:
    first, second = Settings(var_dir=tmp_path / "a", audit_key=None), Settings(var_dir=tmp_path / "b", audit_key=None)
    key = first.audit_key_set()
    assert key == first.audit_key_set(), "generated once, then kept"
    assert key != second.audit_key_set()
    path = tmp_path / "a" / "audit-1.key"
    assert len(key[1]) == 64 and stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("value", ["one:secret", "1:", "1:a,1:b", "0:secret"])
def test_audit_keys_written_wrongly_are_named(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYFLOW_AUDIT_KEYS", value)
    with pytest.raises(ValidationError, match="CITYFLOW_AUDIT_KEYS"):
        Settings()


def test_key_1_given_twice_differently_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    keys(monkeypatch, "test-audit-key", "1:another,2:the-second")
    with pytest.raises(audit.InvalidInput, match="CITYFLOW_AUDIT_KEY is key 1"):
        audit.keyring()
