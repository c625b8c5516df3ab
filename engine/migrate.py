"""Bring a database to the newest schema with the Alembic migrations in ``migrations/``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine) -> None:
    """Migrate ``engine``'s database to head (idempotent)."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@lru_cache(maxsize=1)
def head_revisions() -> frozenset[str]:
    """The newest revision(s) the migrations of this code reach (read once: the code does not change)."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def not_ready(engine: Engine) -> str | None:
    """Why ``engine``'s database cannot serve this code, in a few words; None when it can (it answers
    and its schema is at the newest migration)."""
    try:
        with engine.connect() as connection:
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
    except Exception as exc:  # any failure to reach it: refused, unknown host, not a database, bad password
        return f"the database does not answer ({exc.__class__.__name__})"
    if current == head_revisions():
        return None
    if not current:
        return "the database has no schema yet: run `cityflow init`"
    return (f"the database schema is at {', '.join(sorted(current))}, this code needs "
            f"{', '.join(sorted(head_revisions()))}: run `cityflow init`")
