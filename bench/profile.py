"""Where one persisted transition spends its time: ``python -m bench --profile``."""

from __future__ import annotations

import cProfile
import io
import pstats

from bench.common import deploy_loop, scratch_database
from bench.transitions import LoopDriver
from engine import instances
from engine.context import EngineContext


def profile_transitions(url: str | None, transitions: int = 400) -> str:
    """cProfile of ``transitions`` complete_task units of work, cumulative, cityflow's own frames first."""
    database = scratch_database(url)
    ctx = EngineContext.create()
    deploy_loop(database)
    driver = LoopDriver(database, ctx)
    profiler = cProfile.Profile()
    for n in range(transitions // 2):
        for data in ({"report": f"r{n}"}, {"reopen": True}):
            task_id = driver._ready()
            profiler.enable()
            with database.unit_of_work() as session:
                instances.complete_task(session, ctx, task_id, data, "bench")
            profiler.disable()
    database.dispose()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(r"engine/|db\.py|commit|session\.py.*flush", 30)
    return out.getvalue()
