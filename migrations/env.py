"""Alembic environment: the database comes from the caller's connection or from settings."""

from typing import Any

from alembic import context
from sqlalchemy import Connection

from engine.config import get_settings
from engine.db import make_engine
from engine.models import Base, UtcDateTime

target_metadata = Base.metadata


def _render_item(kind: str, item: Any, autogen_context: Any) -> str | bool:
    """A new UTC column is written as the plain type it is stored as; migrations never import engine."""
    if kind == "type" and isinstance(item, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      render_item=_render_item)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()
