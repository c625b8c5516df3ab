"""The city's workflows end to end: the demo city hall, every process of workflows/ deployed,
the HTTP API as its people, a movable clock, and the worker."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.clock import MovableClock
from engine.config import Settings
from engine.context import EngineContext
from engine.db import Database
from engine.worker import Worker
from tests.api.conftest import Api, _quick_password_hashing, seed, settings  # noqa: F401 - fixtures

# A Monday morning in Seoul.
T0 = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)


class City:
    """The demo city hall at work: ``city.api`` as its people, ``city.clock`` to move time,
    ``city.work()`` to let the worker do what is due."""

    def __init__(self, api: Api, clock: MovableClock, worker: Worker, database: Database) -> None:
        self.api, self.clock, self.worker, self.database = api, clock, worker, database

    def work(self) -> Any:
        return self.worker.drain()

    def later(self, **delta: float) -> Any:
        """Move the clock and let the worker do what became due."""
        self.clock.advance(**delta)
        return self.work()

    def tasks(self, username: str, scope: str = "all") -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.api.call("GET", f"/api/tasks?scope={scope}&limit=200", username).json()["items"]
        return items

    def task(self, username: str, instance_id: str, element_id: str) -> dict[str, Any]:
        """The one open task of ``element_id`` in the instance that ``username`` may act on: from
        their inbox, or, for a standing option such as 회수, from the case's tasks."""
        found = [t for t in self.tasks(username) if t["instance_id"] == instance_id and t["element_id"] == element_id]
        if not found:
            found = [t for t in self.instance(instance_id, username).get("tasks", [])
                     if t["element_id"] == element_id and t["standing"]
                     and username in (t["claimed_by"] or t["assignee"], *t["candidates"]["users"])]
        assert len(found) == 1, f"{username} sees {len(found)} '{element_id}' tasks of {instance_id}: {found}"
        return found[0]

    def complete(self, username: str, instance_id: str, element_id: str, data: dict[str, Any]) -> dict[str, Any]:
        task = self.task(username, instance_id, element_id)
        answer = self.api.call("POST", f"/api/tasks/{task['id']}/complete", username, json={"data": data})
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def instance(self, instance_id: str, username: str = "auditor") -> dict[str, Any]:
        result: dict[str, Any] = self.api.call("GET", f"/api/instances/{instance_id}", username).json()
        return result

    def trail(self, instance_id: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.api.call("GET", f"/api/instances/{instance_id}/audit", "auditor").json()
        return result

    def open_elements(self, instance_id: str) -> list[str]:
        return sorted(t["element_id"] for t in self.instance(instance_id)["tasks"])

    def verified(self) -> bool:
        answer: dict[str, Any] = self.api.call("GET", "/api/audit/verify", "auditor").json()
        return bool(answer["ok"])


@pytest.fixture
def city(database: Database, settings: Settings) -> Iterator[City]:  # noqa: F811 - the fixture imported above
    clock = MovableClock(T0)
    ctx = EngineContext.create(clock=clock)
    seed(database)
    app = create_app(settings, database, ctx)
    with TestClient(app) as client:
        yield City(Api(client), clock, Worker(database, ctx, settings), database)
