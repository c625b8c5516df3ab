"""Backups that prove themselves: a database restored from an older backup is a rollback, and verify
names the records written after the backup, from the anchor log the backup does not hold."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from engine import audit
from engine.context import EngineContext
from engine.db import Database
from engine.migrate import upgrade
from tests.conftest import _postgres_url
from tests.engine.helpers import Driver, bpmn, process, write_folder
from tests.engine.test_audit import BODY, checkpoint


def own_postgres(suffix: str) -> Iterator[str]:
    """A PostgreSQL database of this test's own on the test server: its URL, then (next()) it is dropped."""
    server = make_url(_postgres_url())
    name = f"{server.database}_{os.getpid()}_{suffix}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def city(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A city hall's database of this test's own (a restore replaces all of it)."""
    urls = iter([f"sqlite:///{tmp_path / 'city.db'}"]) if request.param == "sqlite" else own_postgres("city")
    database = Database(next(urls))
    upgrade(database.engine)
    yield database
    database.dispose()
    next(urls, None)


@pytest.fixture
def empty(city: Database, tmp_path: Path) -> Iterator[Database]:
    """A second, empty database on the same server, to restore into."""
    urls = iter([f"sqlite:///{tmp_path / 'empty.db'}"]) if city.dialect == "sqlite" else own_postgres("empty")
    database = Database(next(urls))
    yield database
    database.dispose()
    next(urls, None)


def test_a_restored_older_backup_is_a_rollback_and_verify_names_the_missing_records(
        city: Database, ctx: EngineContext, tmp_path: Path) -> None:
    driver = Driver(city, ctx)
    driver.deploy(write_folder(tmp_path, "memo", {"memo.bpmn": bpmn(process("memo", BODY))}))
    memo = driver.start("memo", {"title": "예산 요청"})
    driver.complete(memo, "draft", {"body": "v1"}, actor="kim")
    checkpoint(city)
    backed_up = driver.instance(memo).audit_seq

    made = audit.backup(city.engine, tmp_path / "before-approval.backup")
    assert made.records == driver.count(audit.AuditRecord) and made.newest_checkpoint == 1
    with pytest.raises(audit.BackupFailed, match="exists already"):
        audit.backup(city.engine, made.path)

    driver.complete(memo, "approve", {"approved": True}, actor="lee")
    later = driver.start("memo", {"title": "백업 뒤에 시작한 문서"})
    checkpoint(city)
    finished = driver.instance(memo).audit_seq
    with city.unit_of_work() as session:
        assert audit.verify(session).ok

    with pytest.raises(audit.BackupFailed, match="is not empty; give --force"):
        audit.restore(city.engine, made.path)
    audit.restore(city.engine, made.path, force=True)

    with city.unit_of_work() as session:
        result = audit.verify(session)
    codes = [finding.code for finding in result.findings]
    assert codes[0] == "rolled-back"
    assert "the database is older than its anchor log: its newest checkpoint is #1" in result.first_broken
    assert "checkpoint #2 of the anchor log is not in the database" in \
        next(f.message for f in result.findings if f.code == "checkpoint-missing")
    shorter = [f.message for f in result.findings if f.code == "chain-shorter"]
    assert shorter == [f"instance {memo}: records #{backed_up + 1}–#{finished} are missing (checkpoint #2 at "
                       f"{shorter[0].split(' at ', 1)[1].split(' signed')[0]} signed up to #{finished})"]
    gone = [f.message for f in result.findings if f.code == "chain-gone"]
    assert len(gone) == 1 and gone[0].startswith(f"instance {later} is gone: records #1–")
    assert driver.instance(memo).audit_seq == backed_up, "the database is as the backup holds it"


def test_a_backup_restores_into_an_empty_database_and_verifies(city: Database, empty: Database, ctx: EngineContext,
                                                                tmp_path: Path) -> None:
    driver = Driver(city, ctx)
    driver.deploy(write_folder(tmp_path, "memo", {"memo.bpmn": bpmn(process("memo", BODY))}))
    memo = driver.start("memo", {"title": "예산 요청"})
    checkpoint(city)
    made = audit.backup(city.engine, tmp_path / "city.backup")
    assert audit.is_empty(empty.engine)
    audit.restore(empty.engine, made.path)
    upgrade(empty.engine)
    with empty.unit_of_work() as session:
        result = audit.verify(session)
    assert result.ok, result.findings
    assert result.records == made.records
    assert Driver(empty, ctx).instance(memo).audit_seq == driver.instance(memo).audit_seq


def test_a_file_that_is_not_a_backup_of_this_kind_of_database_is_refused(city: Database, tmp_path: Path) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("not a backup")
    with pytest.raises(audit.BackupFailed, match="is not a"):
        audit.restore(city.engine, other, force=True)


def test_without_pg_dump_a_postgresql_backup_says_what_to_install(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    urls = own_postgres("nodump")
    database = Database(next(urls))
    try:
        assert shutil.which("pg_dump"), "the machine has pg_dump; this test hides it"
        monkeypatch.setenv("PATH", str(tmp_path))
        with pytest.raises(audit.BackupFailed, match=r"pg_dump is not installed .*postgresql-client"):
            audit.backup(database.engine, tmp_path / "city.backup")
        assert not (tmp_path / "city.backup").exists()
    finally:
        database.dispose()
        next(urls, None)
