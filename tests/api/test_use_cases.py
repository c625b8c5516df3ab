"""One way in: each use case tried through the API, a page and the CLI, by someone allowed and by
someone refused — and every way in gives the same answer, and leaves the same trace.

Each attempt starts from a fresh case of the citizen-suggestion process in the demo city hall
(its review is offered to the planning office, 기획조정실). The CLI runs in this process against
the same database, acting as the named person.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app as cli_app
from engine import definitions
from engine.config import get_settings
from engine.db import Database
from tests.api.conftest import Api
from tests.api.test_pages import hidden, log_in
from tests.engine.helpers import bpmn, chain, process, script_task, user_task, write_folder

SUGGESTION = {"title": "어린이 보호구역 과속카메라", "supporters": 75}
START, END = '<bpmn:startEvent id="start"/>', '<bpmn:endEvent id="end"/>'
BROKEN = START + script_task("divide", "share = 1 / 0") + END + chain("start", "divide", "end")
CONFIRMED = (
    '<bpmn:extensionElements><camunda:properties><camunda:property name="senders:confirmed" value="group:도로과"/>'
    "</camunda:properties></bpmn:extensionElements>" + START
    + '<bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition id="md" messageRef="m_confirmed"/>'
    "</bpmn:intermediateCatchEvent>" + user_task("close", "종결", 'camunda:candidateGroups="도로과"') + END
    + chain("start", "wait", "close", "end")
)
REVIEW = {"accepted": True, "category": "도로"}
DONE, REFUSED = "done", "NotAllowed"


@dataclass
class Case:
    """A fresh suggestion, its open review task, and who started it."""

    instance: str
    task: str
    initiator: str = "roads.staff"


class World:
    """The three ways in, each acting as a named person of the demo city hall."""

    def __init__(self, app: Any, api: Api, database: Database, monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
        self.app, self.api, self.database, self.tmp = app, api, database, tmp
        self.reports = 1
        self.deploy("broken", BROKEN)
        self.deploy("confirmed", CONFIRMED, extra='<bpmn:message id="m_confirmed" name="confirmed"/>')
        self._browsers: dict[str, tuple[TestClient, str]] = {}
        monkeypatch.setenv("CITYFLOW_DATABASE_URL", database.url)
        get_settings.cache_clear()
        self.runner = CliRunner()

    def deploy(self, key: str, body: str, extra: str = "") -> None:
        folder = write_folder(self.tmp, key, {f"{key}.bpmn": bpmn(process(key, body), extra=extra)})
        with self.database.unit_of_work() as session:
            definitions.deploy(session, definitions.check(definitions.read_source(folder)), "designer")

    def failing(self) -> Case:
        """A case stopped by a script that divides by zero."""
        instance = self.api.start("roads.staff", "broken", {})
        assert instance["status"] == "error"
        return Case(instance["id"], "")

    def waiting(self) -> Case:
        """A case waiting for a citizen's confirmation, which the roads department may send."""
        instance = self.api.start("roads.staff", "confirmed", {"report_id": self.reports})
        self.reports += 1
        return Case(instance["id"], "")

    def fresh(self, claimed_by: str | None = None) -> Case:
        instance = self.api.start("roads.staff", "suggestion", SUGGESTION)
        case = Case(instance["id"], self.api.only_task(instance)["id"])
        if claimed_by:
            assert self.api.call("POST", f"/api/tasks/{case.task}/claim", claimed_by).status_code == 200
        return case

    # -- the ways in --

    def by_api(self, user: str, method: str, path: str, **kwargs: Any) -> str:
        answer = self.api.call(method, path, user, **kwargs)
        return DONE if answer.status_code < 300 else answer.json()["error"]

    def browser(self, user: str) -> tuple[TestClient, str]:
        if user not in self._browsers:
            client = TestClient(self.app)
            assert log_in(client, user).status_code == 303
            self._browsers[user] = (client, hidden(client.get("/notifications").text))
        return self._browsers[user]

    def by_page(self, user: str, path: str, form: dict[str, str]) -> str:
        client, token = self.browser(user)
        answer = client.post(path, data={"csrf_token": token, **form}, follow_redirects=False)
        if answer.status_code in (200, 303):
            return DONE
        return {403: REFUSED, 404: "NotFound", 409: "Conflict", 422: "InvalidInput"}[answer.status_code]

    def by_page_get(self, user: str, path: str) -> str:
        client, _ = self.browser(user)
        answer = client.get(path, follow_redirects=False)
        return DONE if answer.status_code == 200 else {403: REFUSED, 404: "NotFound"}[answer.status_code]

    def by_cli(self, user: str, *args: str) -> str:
        result = self.runner.invoke(cli_app, [*args, "--as", user])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        if result.exit_code == 0:
            return DONE
        return result.stderr.split(":", 1)[0].strip()

    # -- what a person notices afterwards --

    def task(self, case: Case) -> dict[str, Any]:
        return dict(self.api.call("GET", f"/api/tasks/{case.task}", "admin").json())

    def instance(self, case: Case) -> dict[str, Any]:
        return dict(self.api.call("GET", f"/api/instances/{case.instance}", "admin").json())

    def trail(self, case: Case) -> list[str]:
        return [r["action"] for r in self.api.call("GET", f"/api/instances/{case.instance}/audit", "admin").json()]


Way = Callable[[World, str, Case], str]


def _retried(world: World, user: str, case: Case) -> str:
    """An admin's retry from the shell: nothing was fixed, so it runs, fails again and says so (exit 1)."""
    result = world.runner.invoke(cli_app, ["retry", case.instance, "--as", user])
    assert (result.exit_code, result.stdout) == (1, f"{case.instance} error\n")
    return DONE


@dataclass
class UseCase:
    name: str
    allowed: str
    refused: str
    effect: Callable[[World, Case], Any]  # what a person sees changed once it is done
    api: Way | None = None
    page: Way | None = None
    cli: Way | None = None
    claimed_by: str | None = None  # the task is claimed by this person first
    prepare: Callable[[World], Case] | None = None  # a case of another kind than a fresh suggestion


USE_CASES = [
    UseCase(
        "start", allowed="roads.staff", refused="auditor",
        effect=lambda w, c: len(w.api.call("GET", "/api/instances?process_key=suggestion", "admin").json()["items"]),
        api=lambda w, u, c: w.by_api(u, "POST", "/api/instances", json={"process_key": "suggestion",
                                                                        "data": SUGGESTION}),
        page=lambda w, u, c: w.by_page(u, "/processes/suggestion/start", {"title": SUGGESTION["title"]}),
        cli=lambda w, u, c: w.by_cli(u, "start", "suggestion", "--data", '{"title": "과속카메라", "supporters": 1}'),
    ),
    UseCase(
        "open", allowed="planning.staff", refused="welfare.staff",
        effect=lambda w, c: w.trail(c).count("task.opened"),
        api=lambda w, u, c: w.by_api(u, "GET", f"/api/tasks/{c.task}"),
        page=lambda w, u, c: w.by_page_get(u, f"/tasks/{c.task}"),
    ),
    UseCase(
        "claim", allowed="planning.staff", refused="welfare.staff",
        effect=lambda w, c: w.task(c)["claimed_by"],
        api=lambda w, u, c: w.by_api(u, "POST", f"/api/tasks/{c.task}/claim"),
        page=lambda w, u, c: w.by_page(u, f"/tasks/{c.task}", {"action": "claim"}),
        cli=lambda w, u, c: w.by_cli(u, "claim", c.task),
    ),
    UseCase(
        "unclaim", allowed="planning.staff", refused="planning.lead", claimed_by="planning.staff",
        effect=lambda w, c: w.task(c)["claimed_by"],
        api=lambda w, u, c: w.by_api(u, "POST", f"/api/tasks/{c.task}/unclaim"),
        page=lambda w, u, c: w.by_page(u, f"/tasks/{c.task}", {"action": "unclaim"}),
        cli=lambda w, u, c: w.by_cli(u, "unclaim", c.task),
    ),
    UseCase(
        "delegate", allowed="planning.staff", refused="welfare.staff",
        effect=lambda w, c: w.task(c)["assignee"],
        api=lambda w, u, c: w.by_api(u, "POST", f"/api/tasks/{c.task}/delegate", json={"user": "planning.lead"}),
        cli=lambda w, u, c: w.by_cli(u, "delegate", c.task, "--to", "planning.lead"),
    ),
    UseCase(
        "save draft", allowed="planning.staff", refused="welfare.staff",
        effect=lambda w, c: w.api.call("GET", f"/api/tasks/{c.task}", "planning.staff").json()["draft"],
        api=lambda w, u, c: w.by_api(u, "PUT", f"/api/tasks/{c.task}/draft", json={"data": {"category": "도로"}}),
        page=lambda w, u, c: w.by_page(u, f"/tasks/{c.task}", {"action": "draft", "category": "도로"}),
    ),
    UseCase(
        "complete", allowed="planning.staff", refused="welfare.staff",
        effect=lambda w, c: [t["element_id"] for t in w.instance(c)["tasks"]],
        api=lambda w, u, c: w.by_api(u, "POST", f"/api/tasks/{c.task}/complete", json={"data": REVIEW}),
        page=lambda w, u, c: w.by_page(u, f"/tasks/{c.task}", {"accepted": "true", "category": "도로"}),
        cli=lambda w, u, c: w.by_cli(u, "complete", c.task, "--data", '{"accepted": true, "category": "도로"}'),
    ),
    UseCase(
        "cancel", allowed="roads.staff", refused="roads.lead",
        effect=lambda w, c: w.instance(c)["status"],
        api=lambda w, u, c: w.by_api(u, "POST", f"/api/instances/{c.instance}/cancel", json={"reason": "중복"}),
        page=lambda w, u, c: w.by_page(u, f"/instances/{c.instance}/cancel", {"reason": "중복"}),
        cli=lambda w, u, c: w.by_cli(u, "cancel", c.instance, "--reason", "중복"),
    ),
    UseCase(
        "edit data", allowed="admin", refused="roads.staff",
        effect=lambda w, c: w.instance(c)["data"]["supporters"],
        api=lambda w, u, c: w.by_api(u, "PATCH", f"/api/instances/{c.instance}/data", json={"supporters": 90}),
        cli=lambda w, u, c: w.by_cli(u, "edit-data", c.instance, "--data", '{"supporters": 90}'),
    ),
    UseCase(
        "retry", allowed="admin", refused="roads.staff", prepare=World.failing,
        effect=lambda w, c: w.trail(c).count("instance.retried"),
        api=lambda w, u, c: w.by_api(u, "POST", f"/api/instances/{c.instance}/retry"),
        cli=lambda w, u, c: w.by_cli(u, "retry", c.instance) if u == "roads.staff" else _retried(w, u, c),
    ),
    UseCase(
        "message", allowed="roads.staff", refused="welfare.staff", prepare=World.waiting,
        effect=lambda w, c: [t["element_id"] for t in w.instance(c)["tasks"]],
        api=lambda w, u, c: w.by_api(u, "POST", "/api/messages", json={
            "name": "confirmed", "correlation": {"report_id": w.instance(c)["data"]["report_id"]}}),
        cli=lambda w, u, c: w.by_cli(u, "message", "confirmed", "--correlation",
                                     json.dumps({"report_id": w.instance(c)["data"]["report_id"]})),
    ),
    UseCase(
        "comment", allowed="roads.staff", refused="welfare.staff",
        effect=lambda w, c: len(w.api.call("GET", f"/api/instances/{c.instance}/comments", "admin").json()),
        api=lambda w, u, c: w.by_api(u, "POST", f"/api/instances/{c.instance}/comments", json={"body": "현장 확인"}),
        page=lambda w, u, c: w.by_page(u, f"/instances/{c.instance}/comments", {"body": "현장 확인"}),
    ),
]


@pytest.fixture
def world(app: Any, api: Api, database: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> World:
    return World(app, api, database, monkeypatch, tmp_path)


@pytest.mark.parametrize("use_case", USE_CASES, ids=[u.name for u in USE_CASES])
def test_every_way_in_gives_the_same_answer_to_the_allowed_and_the_refused(world: World, use_case: UseCase) -> None:
    ways = {name: way for name, way in (("api", use_case.api), ("page", use_case.page), ("cli", use_case.cli))
            if way is not None}
    assert len(ways) >= 2, "a use case offered in one way only is not compared"
    answers: dict[tuple[str, str], tuple[str, Any]] = {}
    for name, way in ways.items():
        for who in (use_case.allowed, use_case.refused):
            case = use_case.prepare(world) if use_case.prepare else world.fresh(claimed_by=use_case.claimed_by)
            before = use_case.effect(world, case)
            outcome = way(world, who, case)
            after = use_case.effect(world, case)
            answers[(name, who)] = (outcome, after != before)
    for name in ways:
        assert answers[(name, use_case.allowed)] == (DONE, True), f"{use_case.name} by {name}: {answers}"
        assert answers[(name, use_case.refused)] == (REFUSED, False), f"{use_case.name} by {name}: {answers}"


def test_a_refused_attempt_leaves_a_record_but_no_way_into_the_case(world: World) -> None:
    case = world.fresh()
    assert world.by_api("welfare.staff", "POST", f"/api/tasks/{case.task}/complete", json={"data": REVIEW}) == REFUSED
    assert world.trail(case)[-1] == "task.refused"
    for path in (f"/api/instances/{case.instance}", f"/api/instances/{case.instance}/audit",
                 f"/api/instances/{case.instance}/comments", f"/api/instances/{case.instance}/attachments"):
        assert world.by_api("welfare.staff", "GET", path) == REFUSED, path
    assert world.by_api("welfare.staff", "POST", f"/api/instances/{case.instance}/comments",
                        json={"body": "들어왔다"}) == REFUSED
    listed = world.api.call("GET", "/api/instances", "welfare.staff").json()["items"]
    assert case.instance not in [i["id"] for i in listed]


def test_a_completion_with_a_field_its_form_does_not_have_is_refused_and_changes_nothing(world: World) -> None:
    case = world.fresh()
    trail_before = world.trail(case)
    answer = world.api.call("POST", f"/api/tasks/{case.task}/complete", "planning.staff",
                            json={"data": {**REVIEW, "drafter": "mayor", "status": "완료"}})
    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"field": "drafter", "message": "이 서식에 없는 항목입니다."},
                                       {"field": "status", "message": "이 서식에 없는 항목입니다."}]
    assert world.trail(case) == trail_before
    assert [t["element_id"] for t in world.instance(case)["tasks"]] == ["review_suggestion"]
    assert "drafter" not in world.instance(case)["data"]
    assert world.by_page("planning.staff", f"/tasks/{case.task}",
                         {**{k: str(v).lower() for k, v in REVIEW.items()}, "drafter": "mayor"}) == DONE
    assert "drafter" not in world.instance(case)["data"]  # a page posts its form's fields only


def test_an_admin_overrides_only_by_saying_so_and_the_trail_says_it(world: World) -> None:
    case = world.fresh(claimed_by="planning.staff")  # so it is offered to nobody else
    data = '{"accepted": true, "category": "도로"}'
    assert world.by_cli("admin", "complete", case.task, "--data", data) == REFUSED
    assert world.by_cli("admin", "complete", case.task, "--data", data, "--override") == DONE
    trail = world.trail(case)
    assert trail[trail.index("task.claimed"):][:4] == ["task.claimed", "task.refused", "task.overridden",
                                                       "task.completed"]


def test_the_cli_acts_only_as_a_named_person(world: World) -> None:
    case = world.fresh()
    result = world.runner.invoke(cli_app, ["complete", case.task, "--data", '{"accepted": true, "category": "도로"}'])
    assert result.exit_code == 1
    assert result.stderr.startswith("InvalidInput: name who you act as")
    assert world.by_cli("nobody.here", "claim", case.task) == "UserNotFound"
