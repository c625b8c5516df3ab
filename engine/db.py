"""Database connections and the unit of work.

Only the outermost unit of work commits (a request, a worker loop, a CLI
command); services add and flush. On SQLite every transaction starts with
``BEGIN IMMEDIATE`` so two writers queue instead of failing half-way; on
PostgreSQL instance rows are locked with ``SELECT … FOR UPDATE``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from engine.errors import CityflowError, ConcurrentUpdate


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite files get WAL, a busy timeout and immediate transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        # A request holds a connection from its start to its commit. Ten kept open per process serve
        # ten requests at once without a new connection each (PostgreSQL starts a process for every
        # one); twenty more, opened and closed, take a burst. The most recently used goes out first, so
        # the connections a quiet hour needs stay warm (statements prepared) and the rest stay idle.
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        kwargs.setdefault("pool_use_lifo", True)
        return _many_rows_at_once(create_engine(url, **kwargs))

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = _many_rows_at_once(create_engine(url, **kwargs))

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: SQLAlchemy's "begin" event below issues BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _many_rows_at_once(engine: Engine) -> Engine:
    """Rows inserted together (a step's audit records, open tasks, candidates) go as one multi-row
    INSERT per page instead of one statement each: SQLAlchemy's "insertmanyvalues", which it uses by
    default only when rows are read back."""
    engine.dialect.use_insertmanyvalues_wo_returning = True
    return engine


class Database:
    """One database: its engine and its units of work."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """A session whose work is committed when the block ends without an error."""
        session = self._sessions()
        try:
            session.begin()
            yield session
            session.commit()
        except StaleDataError as exc:
            session.rollback()
            raise ConcurrentUpdate("someone else changed this instance at the same moment; try again") from exc
        except CityflowError as exc:
            # A refusal of note was recorded before anything else changed: keep the record.
            session.commit() if exc.recorded else session.rollback()
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
