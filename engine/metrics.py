"""What an operator's Prometheus reads: counters kept as things happen, gauges read from the database.

Counters (kept in the process that counts them):

- ``cityflow_http_requests_total{method, route, status}`` and ``cityflow_http_request_duration_seconds``
  — the route is the template (``/api/tasks/{task_id}``), never a path with ids; status is a class (``2xx``);
- ``cityflow_transitions_total{kind}`` — audit records committed, by action (``instance.created``,
  ``task.completed`` …). Counted where the rows are inserted, whatever writes them, and only when their
  transaction commits: a rolled-back step (a 409, a refused form) counts nothing;
- ``cityflow_worker_jobs_total{kind, outcome}`` — what the worker did: timers fired, scheduled starts,
  service tasks (done, retry, incident), mail sent, checkpoints written.

Gauges, read from the database at each scrape so that every server process reports the same truth:
``cityflow_open_incidents``, ``cityflow_timer_lag_seconds`` (how late the oldest due timer is),
``cityflow_audit_checkpoint_age_seconds`` (since the newest checkpoint), ``cityflow_audit_unsealed_seconds``
(how long the oldest record no checkpoint covers yet has waited) and ``cityflow_database_up``.

Several processes (``cityflow serve --workers N``, and the worker beside them) share their counters
through prometheus_client's multiprocess mode: :func:`share_between_processes` names the folder
(``PROMETHEUS_MULTIPROC_DIR``, else ``var/metrics``) before anything is counted.
"""

from __future__ import annotations

import logging
import os
import re
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine, Table, event, func, select
from sqlalchemy.sql.dml import Insert

from engine.db import Database
from engine.models import AuditCheckpoint, AuditRecord, Job, Timer

log = logging.getLogger("cityflow.metrics")

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Single- and multi-process scrapes look alike: no ``*_created`` series (multiprocess mode has none).
disable_created_metrics()  # type: ignore[no-untyped-call]

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "cityflow_http_requests", "HTTP requests answered, by method, route template and status class",
    ["method", "route", "status"], registry=REGISTRY)
HTTP_LATENCY = Histogram(
    "cityflow_http_request_duration_seconds", "Time to answer an HTTP request, by method and route template",
    ["method", "route"], registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
TRANSITIONS = Counter(
    "cityflow_transitions", "Audit records committed, by kind (instance.created, task.completed, …)",
    ["kind"], registry=REGISTRY)
WORKER_JOBS = Counter(
    "cityflow_worker_jobs", "What the worker did, by kind (timer, scheduled_start, service_task, mail, "
    "checkpoint) and outcome (done, retry, incident)", ["kind", "outcome"], registry=REGISTRY)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def count_request(method: str, route: str, status: int, seconds: float) -> None:
    """One answered request; ``route`` is the matched route's template (``unmatched`` when none)."""
    method = method if method in METHODS else "other"
    HTTP_REQUESTS.labels(method, route, f"{status // 100}xx").inc()
    HTTP_LATENCY.labels(method, route).observe(seconds)


def count_worker_pass(done: Any) -> None:
    """What one pass of the worker did (an ``engine.worker.Pass``)."""
    for kind, outcome, count in (
        ("timer", "done", done.timers), ("scheduled_start", "done", done.starts),
        ("service_task", "done", done.jobs), ("service_task", "retry", done.retries),
        ("service_task", "incident", done.incidents), ("mail", "done", done.mails),
        ("checkpoint", "done", done.checkpoints),
    ):
        if count:
            WORKER_JOBS.labels(kind, outcome).inc(count)


# -- transitions: audit rows counted as they are inserted, kept when their transaction commits -----

_AUDIT_TABLE = AuditRecord.__table__
_AUDIT_INSERT_SQL = re.compile(r'\s*INSERT\s+INTO\s+"?audit_records"?[\s(]', re.IGNORECASE)  # SQL text
_PENDING = "cityflow_pending_transitions"  # in Connection.info: one tally per open (sub)transaction


def _kinds(row: Any) -> list[str]:
    # The ORM binds the column by its name (``action``); engine.audit binds ``p_action``, one per row, or
    # on PostgreSQL one array of them for a multi-row insert. No other audit column ends so.
    if not isinstance(row, dict):
        return ["unknown"]
    kinds: list[str] = []
    for key, value in row.items():
        if key == "action" or key.endswith("_action"):
            for kind in value if isinstance(value, list | tuple) else [value]:
                kinds.append(kind if isinstance(kind, str) else "unknown")
    return kinds or ["unknown"]


def _count_pending(conn: Connection, rows: Iterable[Any]) -> None:
    tally = _stack(conn)[-1]
    for row in rows:
        tally.update(_kinds(row))


def _stack(conn: Connection) -> list[Tally[str]]:
    stack: list[Tally[str]] = conn.info.setdefault(_PENDING, [Tally()])
    return stack


@event.listens_for(Engine, "after_execute")
def _rows_inserted(conn: Connection, clause: Any, multiparams: Any, params: Any, _options: Any,
                   _result: Any) -> None:
    """An insert statement (the ORM's, or Core's, one row or many) into the audit table."""
    if isinstance(clause, Insert) and isinstance(clause.table, Table) and clause.table is _AUDIT_TABLE:
        _count_pending(conn, multiparams if multiparams else [params])


@event.listens_for(Engine, "after_cursor_execute")
def _sql_inserted(conn: Connection, _cursor: Any, statement: str, parameters: Any, context: Any,
                  _many: bool) -> None:
    """SQL text sent to the driver as it is (``exec_driver_sql``, which raises no ``after_execute``)."""
    if getattr(context, "compiled", None) is None and _AUDIT_INSERT_SQL.match(statement):
        _count_pending(conn, parameters if isinstance(parameters, list) else [parameters])


@event.listens_for(Engine, "begin")
def _transaction_begun(conn: Connection) -> None:
    conn.info[_PENDING] = [Tally()]  # whatever a connection returned to the pool without a word left is gone


@event.listens_for(Engine, "commit")
def _committed(conn: Connection) -> None:
    for tally in conn.info.pop(_PENDING, ()):
        for kind, count in tally.items():
            TRANSITIONS.labels(kind).inc(count)


@event.listens_for(Engine, "rollback")
def _rolled_back(conn: Connection) -> None:
    conn.info.pop(_PENDING, None)


@event.listens_for(Engine, "savepoint")
def _savepoint(conn: Connection, _name: str) -> None:
    _stack(conn).append(Tally())


@event.listens_for(Engine, "rollback_savepoint")
def _savepoint_rolled_back(conn: Connection, _name: str, _context: Any) -> None:
    stack = _stack(conn)
    if len(stack) > 1:
        stack.pop()
    else:
        stack[0].clear()


@event.listens_for(Engine, "release_savepoint")
def _savepoint_released(conn: Connection, _name: str, _context: Any) -> None:
    stack = _stack(conn)
    if len(stack) > 1:
        released = stack.pop()
        stack[-1].update(released)


# -- gauges read at scrape time -------------------------------------------------------------------


@dataclass(frozen=True)
class OperationalState:
    """What the database says about the work waiting: read at each scrape."""

    open_incidents: int
    timer_lag_seconds: float  # how late the oldest due timer is; 0 when none is due
    checkpoint_age_seconds: float | None  # None: no checkpoint yet
    unsealed_seconds: float  # how long the oldest record no checkpoint covers has waited; 0 when none


def operational_state(database: Database, now: datetime) -> OperationalState:
    """Four cheap indexed reads (no count over the audit trail)."""
    with database.unit_of_work() as session:
        incidents = session.scalar(select(func.count()).select_from(Job).where(Job.status == "incident")) or 0
        oldest_due = session.scalar(select(func.min(Timer.due_at)).where(Timer.due_at <= now))
        checkpoint = session.scalar(select(AuditCheckpoint.at).order_by(AuditCheckpoint.id.desc()).limit(1))
        unsealed = select(func.min(AuditRecord.at))
        if checkpoint is not None:
            unsealed = unsealed.where(AuditRecord.at > checkpoint)
        oldest_unsealed = session.scalar(unsealed)
    return OperationalState(
        open_incidents=int(incidents),
        timer_lag_seconds=_seconds_since(oldest_due, now) or 0.0,
        checkpoint_age_seconds=_seconds_since(checkpoint, now),
        unsealed_seconds=_seconds_since(oldest_unsealed, now) or 0.0,
    )


def _seconds_since(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else max(0.0, (now - moment).total_seconds())


class StateCollector(Collector):
    """The database gauges, read when Prometheus scrapes (a database that does not answer: up 0)."""

    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self.database, self.clock = database, clock

    def collect(self) -> Iterable[Metric]:
        try:
            state = operational_state(self.database, self.clock())
        except Exception:  # the scrape still reports the counters, and that the database is down
            log.warning("metrics: the database did not answer", exc_info=True)
            yield _gauge("cityflow_database_up", "Whether the database answered this scrape", 0)
            return
        yield _gauge("cityflow_database_up", "Whether the database answered this scrape", 1)
        yield _gauge("cityflow_open_incidents", "Service tasks that failed their last try, waiting for an admin",
                     state.open_incidents)
        yield _gauge("cityflow_timer_lag_seconds", "How late the oldest due timer is (0: none waits)",
                     state.timer_lag_seconds)
        if state.checkpoint_age_seconds is not None:
            yield _gauge("cityflow_audit_checkpoint_age_seconds", "Seconds since the newest audit checkpoint",
                         state.checkpoint_age_seconds)
        yield _gauge("cityflow_audit_unsealed_seconds",
                     "How long the oldest audit record not yet under a checkpoint has waited (0: all covered)",
                     state.unsealed_seconds)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class _Together(Collector):
    def __init__(self, *collectors: Collector) -> None:
        self.collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


def scrape(database: Database, clock: Callable[[], datetime], accept: str | None = None) -> tuple[bytes, str]:
    """The exposition (body, content type) in the format the scraper accepts: the counters of every
    process sharing the folder (or of this one), then the database gauges."""
    folder = os.environ.get(MULTIPROCESS_ENV)
    counters: Collector = MultiProcessCollector(None, folder) if folder else REGISTRY  # type: ignore[no-untyped-call]
    encoder, content_type = choose_encoder(accept or "")
    return encoder(_Together(counters, StateCollector(database, clock))), content_type


# -- several processes ----------------------------------------------------------------------------

_FILE_PID = re.compile(r"_(\d+)\.db$")


def share_between_processes(default: Path) -> Path:
    """Count into files that every process of this machine shares (``PROMETHEUS_MULTIPROC_DIR`` when
    set, else ``default``), so that whichever server process answers a scrape reports them all.

    Called by ``cityflow serve`` and ``cityflow worker`` before anything is counted; server processes
    they start inherit the setting. Files of processes no longer running are removed first (a
    counter starting again from zero is what Prometheus expects of a restart); those of running ones
    — the worker's while the server restarts — stay.
    """
    folder = Path(os.environ.get(MULTIPROCESS_ENV) or default).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    for file in folder.glob("*.db"):
        found = _FILE_PID.search(file.name)
        if found and not _running(int(found.group(1))):
            file.unlink(missing_ok=True)
    os.environ[MULTIPROCESS_ENV] = str(folder)
    # prometheus_client chose in-memory values when it was imported, before this process knew the folder;
    # every metric here has labels, so its values are made from now on, in the folder.
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
    return folder


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
