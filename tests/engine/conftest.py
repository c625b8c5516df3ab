from __future__ import annotations

import pytest

from engine.clock import MovableClock
from engine.context import EngineContext
from engine.db import Database
from tests.engine.helpers import Driver


@pytest.fixture
def driver(database: Database, ctx: EngineContext) -> Driver:
    return Driver(database, ctx)


@pytest.fixture
def timed(database: Database, clock: MovableClock) -> Driver:
    """A driver on an engine whose clock the test moves (each test file sets where ``clock`` starts)."""
    return Driver(database, EngineContext.create(clock=clock))
