"""`cityflow init --demo` leaves a living city hall: cases of every process, in varied states."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from engine import definitions, registry
from engine.attachments import BlobStore
from engine.config import Settings
from engine.context import EngineContext
from engine.db import Database
from engine.demo import seed_instances, seed_organisation
from engine.models import Instance
from engine.worker import Worker
from tests.api.conftest import ROOT, _quick_password_hashing  # noqa: F401 - cheap argon2, autouse


def test_the_demo_city_hall_has_cases_of_every_process_in_varied_states(
    database: Database, tmp_path: Path
) -> None:
    ctx = EngineContext.create()
    settings = Settings(var_dir=tmp_path / "var", audit_key="k")
    with database.unit_of_work() as session:
        seed_organisation(session)
        for folder in definitions.process_folders(ROOT / "workflows"):
            definitions.deploy(session, definitions.check(definitions.read_source(folder)), "designer")
    with database.unit_of_work() as session:
        started = seed_instances(session, ctx, BlobStore(settings.attachments_dir), lambda: None)
    Worker(database, ctx, settings).drain()
    with database.unit_of_work() as session:
        assert seed_instances(session, ctx, BlobStore(settings.attachments_dir), lambda: None) == 0  # only once
        rows = session.execute(select(Instance.process_key, Instance.status)).all()
        register = registry.directives(session, ctx.clock())
        board = registry.pledges(session)
    assert len(rows) == started
    assert {key for key, _ in rows} == {"suggestion", "approval", "directive", "pledge", "field_report"}
    assert {status for _, status in rows} == {"running", "completed"}
    assert "error" not in {status for _, status in rows}
    assert register.overall.total == 4
    assert register.overall.closed == 1
    assert register.overdue == 1
    assert board.total == 2

