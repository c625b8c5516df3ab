"""Messages, notifications and incidents over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine import handlers
from engine.clock import MovableClock
from engine.context import EngineContext
from engine.db import Database
from engine.worker import Worker
from tests.api.conftest import Api, seed
from tests.engine.helpers import bpmn, chain, process, user_task, write_folder

SENDERS = ('<bpmn:extensionElements><camunda:properties>'
           '<camunda:property name="senders:citizen_confirmed" value="group:도로과"/>'
           '</camunda:properties></bpmn:extensionElements>')
WAITING = (
    '<bpmn:startEvent id="start"/>' + user_task("report") + '<bpmn:intermediateCatchEvent id="confirmed">'
    '<bpmn:messageEventDefinition id="md" messageRef="citizen_confirmed"/></bpmn:intermediateCatchEvent>'
    + '<bpmn:serviceTask id="archive" camunda:delegateExpression="${shaky_archive}"/>'
    + '<bpmn:endEvent id="end"/>' + chain("start", "report", "confirmed", "archive", "end")
)


@pytest.fixture
def events_app(database: Database, settings: Any, tmp_path: Path) -> Any:
    handlers.register("shaky_archive", lambda call: 1 / 0)
    folder = write_folder(tmp_path, "field", {"f.bpmn": bpmn(
        process("field", SENDERS + WAITING), extra='<bpmn:message id="citizen_confirmed" name="citizen_confirmed"/>')})
    clock = MovableClock()
    ctx = EngineContext.create(clock=clock)
    seed(database, [folder])
    yield create_app(settings, database, ctx), Worker(database, ctx, settings), clock
    handlers.unregister("shaky_archive")


def test_messages_notifications_and_incidents(events_app: Any) -> None:
    app, worker, clock = events_app
    api = Api(TestClient(app))
    instance = api.start("roads.staff", "field", {"report_id": 42, "title": "가로등 고장"})
    task_id = api.only_task(instance)["id"]
    assert api.call("POST", f"/api/tasks/{task_id}/complete", "roads.staff", json={"data": {}}).status_code == 200

    assert api.call("POST", "/api/messages", "auditor", json={"name": "citizen_confirmed"}).status_code == 403
    assert api.call("POST", "/api/messages", "roads.staff", json={"correlation": {}}).status_code == 422
    # An empty correlation would match every waiting case: refused, and nothing moves.
    empty = api.call("POST", "/api/messages", "roads.staff", json={"name": "citizen_confirmed", "correlation": {}})
    assert (empty.status_code, empty.json()["error"]) == (422, "InvalidInput")
    # The process accepts this message from the roads department only.
    stranger = api.call("POST", "/api/messages", "welfare.staff",
                        json={"name": "citizen_confirmed", "correlation": {"report_id": 42}})
    assert (stranger.status_code, stranger.json()["error"]) == (403, "NotAllowed")
    assert api.call("GET", f"/api/instances/{instance['id']}", "roads.staff").json()["tasks"] == []
    unmatched = api.call("POST", "/api/messages", "roads.staff",
                         json={"name": "citizen_confirmed", "correlation": {"report_id": 7}})
    assert unmatched.status_code == 404
    assert unmatched.json()["error"] == "MessageUnmatched"
    delivered = api.call("POST", "/api/messages", "roads.staff",
                         json={"name": "citizen_confirmed", "correlation": {"report_id": 42}, "payload": {"ok": True}})
    assert delivered.status_code == 202
    assert delivered.json()["delivered"] == [instance["id"]]

    for _ in range(3):
        worker.drain()
        clock.advance(minutes=10)
    incidents = api.call("GET", "/api/incidents", "auditor").json()
    assert [i["handler"] for i in incidents] == ["shaky_archive"]
    assert api.call("GET", "/api/incidents", "roads.staff").status_code == 403
    shown = api.call("GET", f"/api/instances/{instance['id']}", "roads.staff").json()
    assert shown["incidents"][0]["attempts"] == 3
    job_id = incidents[0]["id"]
    assert api.call("POST", f"/api/incidents/{job_id}/retry", "roads.staff").status_code == 403
    assert api.call("POST", "/api/incidents/99999/retry", "admin").status_code == 404
    handlers.register("shaky_archive", lambda call: {"archived": True})
    assert api.call("POST", f"/api/incidents/{job_id}/retry", "admin").status_code == 200
    assert api.call("POST", f"/api/incidents/{job_id}/retry", "admin").status_code == 409
    worker.drain()
    assert api.call("GET", f"/api/instances/{instance['id']}", "roads.staff").json()["status"] == "completed"


def test_notifications_are_per_person(api: Api, database: Database) -> None:
    from engine.notifications import notify_people

    with database.unit_of_work() as session:
        notify_people(session, groups=["도로과"], title="도로 민원 배정", link="/")
    mine = api.call("GET", "/api/notifications", "roads.staff").json()
    assert mine["unread"] == 1
    (note,) = mine["items"]
    assert note["title"] == "도로 민원 배정"
    assert api.call("POST", f"/api/notifications/{note['id']}/read", "roads.lead").status_code == 404
    read = api.call("POST", f"/api/notifications/{note['id']}/read", "roads.staff")
    assert read.json()["read_at"] is not None
    assert api.call("GET", "/api/notifications", "roads.staff").json()["unread"] == 0
    assert api.call("GET", "/api/notifications", "welfare.staff").json()["items"] == []


def test_an_overdue_task_is_flagged(database: Database, settings: Any, tmp_path: Path) -> None:
    body = '<bpmn:startEvent id="s"/>' + user_task("answer", attrs='camunda:dueDate="P3D"') + '<bpmn:endEvent id="e"/>'
    folder = write_folder(tmp_path, "due", {"d.bpmn": bpmn(process("due", body + chain("s", "answer", "e")))})
    clock = MovableClock()
    seed(database, [folder])
    api = Api(TestClient(create_app(settings, database, EngineContext.create(clock=clock))))
    instance = api.start("roads.staff", "due", {})
    assert api.only_task(instance)["overdue"] is False
    clock.advance(days=3, minutes=1)
    (task,) = api.call("GET", "/api/tasks?scope=mine", "roads.staff").json()["items"]
    assert task["overdue"] is True
