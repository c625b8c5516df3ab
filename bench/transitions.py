"""P1 and P2: one persisted transition against a raw insert, and loops (P5 is ``bench/audit.py``)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Column, Integer, MetaData, String, Table, select

from bench.common import deploy_loop, median_seconds, scratch_database
from engine import instances
from engine.context import EngineContext
from engine.db import Database
from engine.models import Instance, OpenTask

_raw = MetaData()
RAW_ROWS = Table("bench_raw_rows", _raw, Column("id", Integer, primary_key=True), Column("payload", String(100)))


@dataclass
class Figure:
    target: str
    what: str
    measured: float
    baseline: float
    unit: str
    limit: str

    @property
    def ratio(self) -> float:
        return self.measured / self.baseline if self.baseline else float("nan")


def raw_insert_seconds(database: Database, repeat: int) -> float:
    _raw.create_all(database.engine)

    def insert_one() -> None:
        with database.engine.connect() as connection:
            connection.execute(RAW_ROWS.insert().values(payload="x" * 40))
            connection.commit()

    return median_seconds(insert_one, repeat)


class LoopDriver:
    """Drives one directive loop instance through the engine, a unit of work per step."""

    def __init__(self, database: Database, ctx: EngineContext) -> None:
        self.database = database
        self.ctx = ctx
        with database.unit_of_work() as session:
            self.instance_id = instances.start_instance(session, ctx, "directive_loop", {"title": "bench"}).id

    def _ready(self) -> str:
        with self.database.unit_of_work() as session:
            return session.execute(
                select(OpenTask.id).where(OpenTask.instance_id == self.instance_id)
            ).scalar_one()

    def step(self, data: dict[str, object]) -> None:
        task_id = self._ready()
        with self.database.unit_of_work() as session:
            instances.complete_task(session, self.ctx, task_id, data, "bench")

    def iteration(self, n: int) -> None:
        self.step({"report": f"report {n}"})
        self.step({"reopen": True})

    def state_bytes(self) -> int:
        with self.database.unit_of_work() as session:
            return len(session.get(Instance, self.instance_id).state.encode())  # type: ignore[union-attr]


def transition_seconds(driver: LoopDriver, repeat: int) -> float:
    """Median time of one complete_task unit of work (the task id looked up beforehand)."""
    times = []
    for n in range(repeat):
        for data in ({"report": f"r{n}"}, {"reopen": True}):
            task_id = driver._ready()
            started = time.perf_counter()
            with driver.database.unit_of_work() as session:
                instances.complete_task(session, driver.ctx, task_id, data, "bench")
            times.append(time.perf_counter() - started)
    times.sort()
    return times[len(times) // 2]


def measure(label: str, url: str | None, p1_limit: float, quick: bool) -> list[Figure]:
    database = scratch_database(url)
    ctx = EngineContext.create()
    deploy_loop(database)
    repeat = 100 if quick else 400
    raw = raw_insert_seconds(database, repeat)
    driver = LoopDriver(database, ctx)
    first = transition_seconds(driver, repeat // 2)
    first_bytes = driver.state_bytes()
    figures = [Figure("P1", f"persisted transition / raw insert, {label}", first, raw, "ms", f"≤ {p1_limit:g}×")]

    iterations = 1000
    for n in range(iterations - driver_iterations(repeat)):
        driver.iteration(n)
    later = transition_seconds(driver, repeat // 2)
    later_bytes = driver.state_bytes()
    figures.append(
        Figure("P2", f"transition at iteration {iterations} / at iteration 1, {label}", later, first, "ms", "≤ 1.2×")
    )
    figures.append(Figure("P2", f"stored state at iteration {iterations} / at iteration 1, {label}",
                          later_bytes, first_bytes, "bytes", "≤ 1.2×"))
    database.dispose()
    return figures


def driver_iterations(repeat: int) -> int:
    """Iterations already run by the first transition measurement."""
    return repeat // 2


#: A script of the kind the city's processes run: helpers called, so it runs in a script process.
CALLING_SCRIPT = "due = add_working_days(today(), 3)\nsigned = len(approvers)\nstatus = '검토' if signed else '기안'"


def script_process_figures(quick: bool) -> list[Figure]:
    """What crossing to a script process costs one script, against running the same script in the server,
    and what a script process costs one transition (the P1 transition is the baseline)."""
    from datetime import UTC, datetime

    from engine.citytime import CityTime, script_helpers_at, warm_holidays
    from engine.sandbox import SandboxEnvironment

    city = CityTime.from_settings()
    moment = datetime.now(UTC)
    warm_holidays(moment.year)  # as the engine does when it starts: the holidays are not the script's work
    helpers = script_helpers_at(city, moment)
    crossing = SandboxEnvironment(environment_globals=helpers,
                                  helper_recipe=lambda: (script_helpers_at, (city, moment)))
    here = SandboxEnvironment(environment_globals=helpers, isolate=False)
    data = {"approvers": ["planning.head", "mayor"], "title": "2027년 도로 정비 계획", "amount": 120_000_000}
    repeat = 200 if quick else 1000
    away = median_seconds(lambda: crossing.execute(CALLING_SCRIPT, dict(data)), repeat)
    near = median_seconds(lambda: here.execute(CALLING_SCRIPT, dict(data)), repeat)
    return [Figure("P1", "a helper-calling script in a script process / in the server", away, near, "ms",
                   "cost of the OS-enforced limits")]

