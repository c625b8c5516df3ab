"""An app on the test database with the demo city hall and the workflows folder deployed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from api.app import create_app
from engine import definitions, identity
from engine.config import Settings
from engine.context import EngineContext
from engine.db import Database
from engine.demo import DEMO_PASSWORD, seed_organisation

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _quick_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2, with the cheapest parameters, so seeding 25 people takes no time."""
    monkeypatch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path / "var", audit_key="test-audit-key", secret_key="test-secret")


def seed(database: Database, folders: list[Path] | None = None) -> None:
    with database.unit_of_work() as session:
        seed_organisation(session)
        for folder in folders or definitions.process_folders(ROOT / "workflows"):
            definitions.deploy(session, definitions.check(definitions.read_source(folder)), "designer")


@pytest.fixture
def app(database: Database, ctx: EngineContext, settings: Settings) -> Any:
    seed(database)
    return create_app(settings, database, ctx)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


class Api:
    """The API as one demo user at a time: ``api.as_("roads.staff").get(...)``."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self._tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self._tokens:
            answer = self.client.post("/api/auth/token", json={"username": username, "password": DEMO_PASSWORD})
            assert answer.status_code == 200, answer.text
            self._tokens[username] = answer.json()["access_token"]
        return self._tokens[username]

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def call(self, method: str, path: str, username: str | None = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if username is not None:
            headers.update(self.headers(username))
        return self.client.request(method, path, headers=headers, **kwargs)

    def start(self, username: str, process_key: str, data: dict[str, Any]) -> dict[str, Any]:
        answer = self.call("POST", "/api/instances", username, json={"process_key": process_key, "data": data})
        assert answer.status_code == 201, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def only_task(self, instance: dict[str, Any]) -> dict[str, Any]:
        (task,) = instance["tasks"]
        result: dict[str, Any] = task
        return result


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn on a free local port for the duration of the block."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the test server did not start")
        thread.join(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
