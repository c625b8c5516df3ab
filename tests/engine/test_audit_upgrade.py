"""A city that upgrades keeps its trail verifiable: records written before audit keys verify under
the rule they were written with (plain sha256, counted as legacy records), checkpoints signed before
keys had ids verify with key 1, and the chains go on keyed."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, text

from engine import audit, identity
from engine.db import Database
from engine.migrate import alembic_config
from tests.engine.test_audit_backup import own_postgres

OLD_KEY = b"test-audit-key"  # conftest's CITYFLOW_AUDIT_KEY: the key of the time becomes key 1


@pytest.fixture(params=["sqlite", "postgresql"])
def blank(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database with no schema at all, of this test's own."""
    urls = iter([f"sqlite:///{tmp_path / 'old.db'}"]) if request.param == "sqlite" else own_postgres("keys")
    engine = create_engine(next(urls))
    yield engine
    engine.dispose()
    next(urls, None)


def old_record(seq: int, prev_hash: str, actor: str, action: str, detail: dict[str, object]) -> dict[str, object]:
    """A system-chain record as cityflow wrote it before keys: its hash the sha256 of its canonical JSON."""
    at = datetime(2026, 11, 1, 9, seq, tzinfo=UTC)
    fields = {"chain": "system", "seq": seq, "instance_id": None, "at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
              "actor": actor, "action": action, "task_id": None, "element_id": None, "element_name": None,
              "lane": None, "from_state": None, "to_state": None, "changes": None, "detail": detail,
              "process_key": None, "process_version": None, "prev_hash": prev_hash}
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return {**fields, "at": at.strftime("%Y-%m-%d %H:%M:%S.%f"), "detail": json.dumps(detail, ensure_ascii=False),
            "hash": hashlib.sha256(canonical.encode()).hexdigest()}


def test_records_and_checkpoints_written_before_keys_verify_and_the_chain_goes_on_keyed(blank: Engine) -> None:
    config = alembic_config(blank)
    with blank.begin() as connection:
        if blank.dialect.name == "postgresql":
            connection.execute(text("SET TIME ZONE 'UTC'"))  # the times below are written as SQLAlchemy wrote them
        config.attributes["connection"] = connection
        command.upgrade(config, "0008")
        prev = audit.GENESIS
        for seq, (actor, action) in enumerate([("designer", "process.deployed"), ("admin", "user.added")], 1):
            record = old_record(seq, prev, actor, action, {"what": "예전 기록"})
            connection.execute(text(
                "INSERT INTO audit_records (chain, seq, instance_id, at, actor, action, detail, prev_hash, hash)"
                " VALUES ('system', :seq, NULL, :at, :actor, :action, :detail, :prev_hash, :hash)"), record)
            prev = str(record["hash"])
        connection.execute(text("INSERT INTO audit_chain_heads (chain, seq, hash, lock_version)"
                                " VALUES ('system', 2, :h, 1)"), {"h": prev})
        # The checkpoint of the time: every head, chained, signed with the one audit key there was.
        at, heads = "2026-11-01T09:05:00.000000Z", {"system": [2, prev]}
        payload = json.dumps({"at": at, "heads": heads, "prev_hash": audit.GENESIS}, sort_keys=True,
                             separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(payload.encode()).hexdigest()
        connection.execute(text(
            "INSERT INTO audit_checkpoints (at, heads, prev_hash, hash, signature)"
            " VALUES (:at, :heads, :prev, :hash, :signature)"),
            {"at": "2026-11-01 09:05:00.000000", "heads": json.dumps(heads), "prev": audit.GENESIS,
             "hash": digest, "signature": hmac.new(OLD_KEY, digest.encode(), hashlib.sha256).hexdigest()})
        command.upgrade(config, "head")

    database = Database(blank.url.render_as_string(hide_password=False))
    try:
        with database.unit_of_work() as session:
            before = audit.verify(session)
        assert before.ok, before.findings
        assert before.keys == {0: 2} and before.legacy_records == 2
        assert any("2 records were written before audit keys" in note for note in before.notes)

        with database.unit_of_work() as session:
            identity.add_user(session, "new.clerk", "a long enough password", actor="admin", roles=["staff"])
        with database.unit_of_work() as session:
            checkpoint = audit.write_checkpoint(session)
            assert checkpoint is not None and checkpoint.summary is not None
            assert checkpoint.summary["legacy"]["records"] == 2
            assert checkpoint.heads == {"system": [3, session.execute(text(
                "SELECT hash FROM audit_records WHERE seq = 3")).scalar_one()]}, "only the chain that moved"
        with database.unit_of_work() as session:
            after = audit.verify(session)
            keyed = session.execute(text("SELECT key_id, prev_hash FROM audit_records WHERE seq = 3")).one()
        assert after.ok, after.findings
        assert after.keys == {0: 2, 1: 1}
        assert tuple(keyed) == (1, prev), "the first keyed record links to the last one written before keys"

        # A record written without the key now, dressed as one of before, is named.
        forged = old_record(4, prev, "mallory", "user.added", {"what": "forged"})
        with database.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO audit_records (chain, seq, instance_id, at, actor, action, detail, prev_hash, hash)"
                " VALUES ('intruder', 1, NULL, :at, :actor, :action, :detail, :prev, :hash)"),
                {**forged, "prev": audit.GENESIS})
        with database.unit_of_work() as session:
            result = audit.verify(session)
        messages = [f.message for f in result.findings if f.code == "record-unkeyed"]
        assert messages and "newer than the unkeyed records the checkpoints counted" in messages[0]
    finally:
        database.dispose()
