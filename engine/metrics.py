"""What an operator's Prometheus reads: counters kept as things happen, gauges read from the database.

Counters (kept in the process that counts them):

- ``cityflow_http_requests_total{method, route, status}`` and ``cityflow_http_request_duration_seconds``
  — the route is the template (``/api/tasks/{task_id}``), never a path with ids; status is a class (``2xx``);
- ``cityflow_transitions_total{kind}`` — audit records committed, by action (``instance.created``,
  ``task.completed`` …). Counted by engine.audit as it writes them, and kept only when their
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
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, SessionTransaction

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


# -- transitions: counted as engine.audit writes them, kept when their transaction commits -----------

_PENDING = "cityflow_pending_transitions"  # Session.info: transaction → the kinds it wrote


def transitions_written(session: Session, kinds: Iterable[str]) -> None:
    """Audit records of ``kinds`` written in ``session``'s current (sub)transaction; they count once it
    commits, and a savepoint rolled back takes its own with it."""
    current = session.get_nested_transaction() or session.get_transaction()
    pending: dict[SessionTransaction, Tally[str]] = session.info.setdefault(_PENDING, {})
    pending.setdefault(current, Tally()).update(kinds)  # type: ignore[arg-type]


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if pending:
        pending.pop(previous, None)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    tally = pending.pop(transaction, None) if pending else None
    if tally and transaction.nested and transaction.parent is not None:
        pending.setdefault(transaction.parent, Tally()).update(tally)  # type: ignore[union-attr]
    # the outermost transaction's own were counted by _committed, or are dropped here with it


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    for tally in (session.info.get(_PENDING) or {}).values():  # savepoints have ended: the outermost's
        for kind, count in tally.items():
            TRANSITIONS.labels(kind).inc(count)
    session.info.pop(_PENDING, None)


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
