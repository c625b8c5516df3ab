from __future__ import annotations

import pytest

from engine.context import EngineContext
from engine.db import Database
from tests.engine.helpers import Driver


@pytest.fixture
def driver(database: Database, ctx: EngineContext) -> Driver:
    return Driver(database, ctx)
