"""A person working a task throws a BPMN error or an escalation over HTTP, as Camunda's
``/task/{id}/bpmnError`` lets a form do: the diagram's boundary event takes the case on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lxml.html
import pytest
from fastapi.testclient import TestClient

from engine import definitions
from engine.db import Database
from tests.api.conftest import Api, serving
from tests.api.test_browser import DESKTOP, PHONE, browser  # noqa: F401  (the browser fixture)
from tests.api.test_browser import log_in as browser_log_in
from tests.api.test_pages import log_in
from tests.engine.helpers import bpmn, chain, process, user_task, write_folder

BODY = (
    '<bpmn:startEvent id="start"/>'
    '<bpmn:userTask id="inspect" name="현장 점검" camunda:assignee="roads.staff"/>'
    + user_task("repair", "보수") + user_task("call_police", "경찰 협조 요청") + user_task("tell_lead", "팀장 보고")
    + '<bpmn:endEvent id="end"/><bpmn:endEvent id="end_police"/><bpmn:endEvent id="end_lead"/>'
    '<bpmn:boundaryEvent id="dangerous" name="위험 현장이라 통제가 필요함" attachedToRef="inspect"><bpmn:errorEventDefinition errorRef="e1"/>'
    "</bpmn:boundaryEvent>"
    '<bpmn:boundaryEvent id="slow" name="점검이 늦어짐" cancelActivity="false" attachedToRef="inspect">'
    '<bpmn:escalationEventDefinition escalationRef="x1"/></bpmn:boundaryEvent>'
    + chain("start", "inspect", "repair", "end") + chain("dangerous", "call_police", "end_police")
    + chain("slow", "tell_lead", "end_lead")
)
EXTRA = ('<bpmn:error id="e1" name="위험 현장" errorCode="DANGER"/>'
         '<bpmn:escalation id="x1" name="지연" escalationCode="LATE"/>')


def _started(api: Api, database: Database, tmp_path: Path) -> tuple[dict[str, object], str]:
    folder = write_folder(tmp_path, "inspection", {"inspection.bpmn": bpmn(process("inspection", BODY, name="도로 현장 점검"), extra=EXTRA)})
    with database.unit_of_work() as session:
        definitions.deploy(session, definitions.check(definitions.read_source(folder)), "designer")
    instance = api.start("roads.staff", "inspection", {})
    return instance, str(api.only_task(instance)["id"])


def test_a_bpmn_error_from_the_task_takes_the_case_down_its_error_path(
    api: Api, database: Database, tmp_path: Path
) -> None:
    _, task = _started(api, database, tmp_path)
    answer = api.call("POST", f"/api/tasks/{task}/bpmn-error", "roads.staff",
                      json={"code": "DANGER", "message": "도로 함몰, 통제 필요"})
    assert answer.status_code == 200, answer.text
    assert [t["element_id"] for t in answer.json()["tasks"]] == ["call_police"]


def test_an_escalation_leaves_the_task_and_adds_the_escalation_path(api: Api, database: Database, tmp_path: Path) -> None:
    _, task = _started(api, database, tmp_path)
    answer = api.call("POST", f"/api/tasks/{task}/escalation", "roads.staff", json={"code": "LATE"})
    assert answer.status_code == 200, answer.text
    assert sorted(t["element_id"] for t in answer.json()["tasks"]) == ["inspect", "tell_lead"]


def test_a_code_nothing_catches_and_a_stranger_are_refused_by_name(
    api: Api, database: Database, tmp_path: Path
) -> None:
    instance, task = _started(api, database, tmp_path)
    uncaught = api.call("POST", f"/api/tasks/{task}/bpmn-error", "roads.staff", json={"code": "FLOOD"})
    assert (uncaught.status_code, uncaught.json()["error"]) == (409, "NotCaught")
    assert "FLOOD" in uncaught.json()["detail"]
    stranger = api.call("POST", f"/api/tasks/{task}/bpmn-error", "planning.staff", json={"code": "DANGER"})
    assert stranger.status_code == 403
    empty = api.call("POST", f"/api/tasks/{task}/bpmn-error", "roads.staff", json={"code": ""})
    assert empty.status_code == 422
    case = api.call("GET", f"/api/instances/{instance['id']}", "roads.staff").json()
    assert [t["element_id"] for t in case["tasks"]] == ["inspect"]


def test_the_case_history_says_in_words_who_reported_the_error(
    api: Api, client: TestClient, database: Database, tmp_path: Path
) -> None:
    instance, task = _started(api, database, tmp_path)
    api.call("POST", f"/api/tasks/{task}/bpmn-error", "roads.staff", json={"code": "DANGER"})
    log_in(client, "roads.staff")
    page = client.get(f"/instances/{instance['id']}")
    assert page.status_code == 200
    text = " ".join(lxml.html.fromstring(page.text).text_content().split())
    assert "업무 오류 보고" in text
    assert "task.error_thrown" not in page.text and "roads.staff" not in text


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_in_the_browser_the_inspector_reports_a_dangerous_site_from_the_task_page(
    browser: Any, app: Any, database: Database, tmp_path: Path, size: str,  # noqa: F811 - the browser fixture
) -> None:
    api = Api(TestClient(app))
    instance, task = _started(api, database, tmp_path)
    with serving(app) as url:
        page = browser.new_context(**(PHONE if size == "phone" else DESKTOP)).new_page()
        browser_log_in(page, url, "roads.staff")
        page.goto(f"{url}/tasks/{task}")
        page.get_by_text("처리할 수 없나요?").click()
        danger = page.get_by_role("button", name="위험 현장이라 통제가 필요함")
        assert danger.is_visible() and page.get_by_role("button", name="점검이 늦어짐").is_visible()
        page.screenshot(path=str(tmp_path / f"throws-{size}.png"), full_page=True)
        danger.click()
        page.wait_for_url(f"{url}/instances/{instance['id']}?**")
        page.screenshot(path=str(tmp_path / f"thrown-{size}.png"), full_page=True)
        shown = page.locator("main").inner_text()
        assert "보고했습니다" in shown and "경찰 협조 요청" in shown
