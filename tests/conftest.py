"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

The schema is built once per database by running the Alembic migrations; after
each test every table is emptied, so tests may commit as production code does.
PostgreSQL comes from ``CITYFLOW_TEST_POSTGRES_URL`` (``make test`` and
``.ci/run`` start it); under CI its absence is a failure, elsewhere a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from engine.context import EngineContext
from engine.db import Database
from engine.migrate import upgrade
from engine.models import Base
from engine.workflow_cache import WorkflowCache

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("CITYFLOW_TEST_POSTGRES_URL")
TABLES = [table.name for table in reversed(Base.metadata.sorted_tables)]


def _postgres_url() -> str:
    if POSTGRES_URL:
        return POSTGRES_URL
    if os.environ.get("CI"):
        pytest.fail("CITYFLOW_TEST_POSTGRES_URL is not set: CI must test on PostgreSQL")
    pytest.skip("PostgreSQL not available here (set CITYFLOW_TEST_POSTGRES_URL, or run `make test`)")


@pytest.fixture(scope="session")
def _sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    path = tmp_path_factory.mktemp("db") / "cityflow.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database.engine)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def _postgresql_database() -> Iterator[Database]:
    """A database of this test run's own on the given server, so runs side by side never meet."""
    server = make_url(_postgres_url())
    name = f"{server.database}_{os.getpid()}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    database = Database(server.set(database=name).render_as_string(hide_password=False), pool_size=20,
                        max_overflow=10)
    upgrade(database.engine)
    yield database
    database.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty(database: Database) -> None:
    with database.engine.begin() as connection:
        if database.dialect == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        else:
            for table in TABLES:
                connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Iterator[Database]:
    """A migrated, empty database; the same test runs once on each backend."""
    db: Database = request.getfixturevalue(f"_{request.param}_database")
    _empty(db)
    yield db
    _empty(db)


@pytest.fixture
def postgres(request: pytest.FixtureRequest) -> Iterator[Database]:
    """PostgreSQL only, for what SQLite cannot show (row locks between threads)."""
    db: Database = request.getfixturevalue("_postgresql_database")
    _empty(db)
    yield db
    _empty(db)


@pytest.fixture
def ctx() -> EngineContext:
    """Every step restores its instance from the stored state: no workflow is kept in memory between
    steps (tests/engine/test_workflow_cache.py shows that keeping them changes nothing)."""
    context = EngineContext.create(script_time_limit=1.0)
    context.workflows = WorkflowCache(size=0)
    return context


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys and files of each test live in its own folder, never in the repo's var/."""
    from engine.config import get_settings

    monkeypatch.setenv("CITYFLOW_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CITYFLOW_AUDIT_KEY", "test-audit-key")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
