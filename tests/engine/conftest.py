from __future__ import annotations

import pytest

from engine.db import Database
from engine.instances import EngineContext
from tests.engine.helpers import Driver


@pytest.fixture
def driver(database: Database, ctx: EngineContext) -> Driver:
    return Driver(database, ctx)
