"""Nobody acts beyond their role (R5): every route declares an access rule, and the rules hold."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from api.app import create_app
from engine.context import EngineContext
from engine.db import Database
from tests.api.conftest import Api, seed, serving

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Changing only one's own session or notifications is no change to anyone's work.
SELF_SERVICE = {
    ("POST", "/api/auth/revoke"),
    ("POST", "/api/auth/token"),
    ("POST", "/api/notifications/{notification_id}/read"),
}
NUMERIC_IDS = ("attachment_id", "notification_id", "job_id")


def access_rules(route: APIRoute) -> list[tuple[str, ...]]:
    rules = []
    stack = list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        marker = getattr(dependency.call, "cityflow_access", None)
        if marker is not None:
            rules.append(tuple(marker))
        stack.extend(dependency.dependencies)
    return rules


@dataclass(frozen=True)
class Endpoint:
    path: str
    methods: frozenset[str]
    route: APIRoute


def api_routes(app: Any) -> list[Endpoint]:
    """Every endpoint of the app with its full path, through included routers."""
    found = [
        Endpoint(context.path, frozenset(context.methods or ()), context.original_route)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
    ]
    assert len(found) > 30, f"the route walk found only {len(found)} endpoints"
    return found


def test_every_route_declares_exactly_one_access_rule(app: Any) -> None:
    missing = [f"{sorted(r.methods)} {r.path}" for r in api_routes(app) if len(access_rules(r.route)) != 1]
    assert missing == [], "routes without exactly one access rule: " + ", ".join(missing)


def test_a_route_without_a_rule_is_caught(app: Any) -> None:
    @app.get("/api/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    bare = [r.path for r in api_routes(app) if not access_rules(r.route)]
    assert bare == ["/api/forgotten"]


def concrete(path: str) -> str:
    for name in NUMERIC_IDS:
        path = path.replace("{" + name + "}", "1")
    return re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)


def test_without_credentials_every_non_public_route_is_refused(app: Any, api: Api) -> None:
    checked = 0
    for route in api_routes(app):
        if access_rules(route.route) == [("public",)]:
            continue
        for method in route.methods - {"HEAD"}:
            answer = api.client.request(method, concrete(route.path), follow_redirects=False)
            if route.path.startswith("/api"):
                assert answer.status_code == 401, f"{method} {route.path}: {answer.status_code}"
                assert answer.json()["error"] == "NotAuthenticated"
            else:  # pages send the browser to the login page
                assert answer.status_code == 303, f"{method} {route.path}: {answer.status_code}"
                assert answer.headers["location"].startswith("/login?next=")
            checked += 1
    assert checked > 30


def test_auditors_change_nothing(app: Any, api: Api) -> None:
    checked = 0
    for route in api_routes(app):
        if not route.path.startswith("/api"):
            continue
        for method in route.methods & UNSAFE:
            if (method, route.path) in SELF_SERVICE:
                continue
            answer = api.call(method, concrete(route.path), "auditor", json={})
            assert answer.status_code == 403, f"{method} {route.path}: {answer.status_code}"
            checked += 1
    assert checked >= 10


@pytest.mark.parametrize(
    ("username", "method", "path", "allowed"),
    [
        ("roads.staff", "POST", "/api/processes", False),
        ("designer", "POST", "/api/processes", True),
        ("admin", "POST", "/api/processes", True),
        ("roads.staff", "GET", "/api/audit", False),
        ("designer", "GET", "/api/audit/verify", False),
        ("auditor", "GET", "/api/audit/verify", True),
        ("admin", "GET", "/api/audit", True),
    ],
)
def test_role_gated_routes_admit_only_their_roles(api: Api, username: str, method: str, path: str, allowed: bool) -> None:
    answer = api.call(method, path, username, files=[("files", ("x.bpmn", b"<x/>", "text/xml"))] if method == "POST" else None)
    if allowed:
        assert answer.status_code != 403, answer.text
    else:
        assert answer.status_code == 403


@pytest.fixture
def server(postgres: Database, ctx: EngineContext, settings: Any) -> Iterator[str]:
    """The app served over HTTP on PostgreSQL."""
    seed(postgres)
    with serving(create_app(settings, postgres, ctx)) as url:
        yield url


def test_ten_clients_completing_one_task_over_http_one_wins(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30) as client:
        token = client.post("/api/auth/token", json={"username": "planning.staff", "password": "cityflow-demo"}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        instance = client.post("/api/instances", headers=headers,
                               json={"process_key": "suggestion", "data": {"title": "t", "supporters": 1}}).json()
    task_id = instance["tasks"][0]["id"]
    barrier = threading.Barrier(10)
    statuses: list[int] = []

    def complete() -> None:
        with httpx.Client(base_url=server, timeout=30) as own:
            barrier.wait()
            answer = own.post(f"/api/tasks/{task_id}/complete", headers=headers,
                              json={"data": {"accepted": False, "category": "기타"}})
            statuses.append(answer.status_code)

    threads = [threading.Thread(target=complete) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [409] * 9
    with httpx.Client(base_url=server, timeout=30) as client:
        auditor = client.post("/api/auth/token", json={"username": "auditor", "password": "cityflow-demo"}).json()
        trail = client.get(f"/api/instances/{instance['id']}/audit",
                           headers={"Authorization": f"Bearer {auditor['access_token']}"}).json()
    assert sum(1 for r in trail if r["task_id"] == task_id and r["action"] == "task.completed") == 1
