"""A city that upgrades keeps who may read its running cases: the participants of instances that
existed before participation was recorded are read back from their open tasks and their trail."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, make_url, text

from engine.migrate import alembic_config
from tests.conftest import _postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def blank(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database with no schema at all, of this test's own."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    server = make_url(_postgres_url())
    name = f"{server.database}_{os.getpid()}_upgrade"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(server.set(database=name))
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_an_upgrade_finds_the_participants_of_existing_cases(blank: Engine) -> None:
    engine = blank
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
        connection.execute(text(
            "INSERT INTO process_versions (id, key, version, hash, name, entry_point, files, spec, deployed_at,"
            " deployed_by) VALUES (1, 'suggestion', 1, 'h', '시민제안', 'suggestion', '{}', '{}',"
            " '2026-11-01 00:00:00', 'designer')"))
        connection.execute(text(
            "INSERT INTO instances (id, process_version_id, process_key, status, initiator, data, state, audit_seq,"
            " audit_head, started_at, lock_version) VALUES ('i1', 1, 'suggestion', 'running', 'roads.staff', '{}', '',"
            " 0, '', '2026-11-01 00:00:00', 1)"))
        connection.execute(text(
            "INSERT INTO open_tasks (id, instance_id, process_key, element_id, name, candidate_users,"
            " candidate_groups, created_at) VALUES ('t1', 'i1', 'suggestion', 'review', '검토', '[]', '[]',"
            " '2026-11-01 00:00:00')"))
        connection.execute(text("INSERT INTO open_task_candidates (task_id, kind, name) VALUES ('t1', 'group', '기획조정실')"))
        for seq, (actor, action) in enumerate([("roads.staff", "instance.created"), ("planning.lead", "task.completed"),
                                               ("welfare.staff", "task.refused"), ("system:engine", "task.ready")], 1):
            connection.execute(text(
                "INSERT INTO audit_records (chain, seq, instance_id, at, actor, action, prev_hash, hash)"
                " VALUES ('i1', :seq, 'i1', '2026-11-01 00:00:00', :actor, :action, '', :hash)"),
                {"seq": seq, "actor": actor, "action": action, "hash": f"h{seq}"})
        command.upgrade(config, "head")
        found = connection.execute(text("SELECT kind, name, relation FROM participants ORDER BY kind, name")).all()
    assert [tuple(row) for row in found] == [
        ("group", "기획조정실", "candidate"), ("user", "planning.lead", "actor"), ("user", "roads.staff", "initiator")]
