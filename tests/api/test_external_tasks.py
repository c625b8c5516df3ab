"""External task workers over HTTP, as Camunda 7's REST API has them: the accounting system fetches
and locks its topic, completes with typed variables the next task sees, reports failures (an
incident when no retries are left) and BPMN errors an error boundary event catches; two workers
never both hold one job, an expired lock lets another fetch it, and only a service account given
the topic may touch it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine import definitions, external_tasks, identity
from engine.clock import MovableClock
from engine.config import Settings
from engine.context import EngineContext
from engine.db import Database
from engine.demo import DEMO_PASSWORD
from engine.external_tasks import TopicRequest
from engine.worker import Worker
from tests.api.conftest import Api, seed, serving
from tests.engine.helpers import bpmn, chain, process, user_task, write_folder

TOPIC = "accounting.post"
ERRORS = '<bpmn:error id="budget" name="budget" errorCode="BUDGET_EXCEEDED"/>'
PAYMENT = bpmn(process("payment", (
    '<bpmn:startEvent id="start"/>'
    f'<bpmn:serviceTask id="post_payment" name="회계 전표 발행" camunda:type="external" camunda:topic="{TOPIC}">'
    '<bpmn:extensionElements><camunda:inputOutput>'
    '<camunda:inputParameter name="payee">${vendor}</camunda:inputParameter>'
    "</camunda:inputOutput></bpmn:extensionElements></bpmn:serviceTask>"
    '<bpmn:boundaryEvent id="over_budget" attachedToRef="post_payment">'
    '<bpmn:errorEventDefinition id="over_budget_def" errorRef="budget"/></bpmn:boundaryEvent>'
    + user_task("confirm", "전표 확인") + user_task("review_budget", "예산 검토")
    + '<bpmn:endEvent id="end"/><bpmn:endEvent id="reviewed"/>'
    + chain("start", "post_payment", "confirm", "end") + chain("over_budget", "review_budget", "reviewed")
), name="지급"), extra=ERRORS)
ZEEBE = bpmn(process("notice", (
    '<bpmn:startEvent id="start"/>'
    '<bpmn:serviceTask id="send_sms" name="문자 발송"><bpmn:extensionElements>'
    '<zeebe:taskDefinition type="sms.send" retries="3"/></bpmn:extensionElements></bpmn:serviceTask>'
    + user_task("after") + '<bpmn:endEvent id="end"/>' + chain("start", "send_sms", "after", "end")
), name="안내")).replace("<bpmn:definitions ", '<bpmn:definitions xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" ')
DEADLINE = bpmn(process("reminder", (
    '<bpmn:startEvent id="start"/>'
    '<bpmn:serviceTask id="send_reminder" camunda:type="external" camunda:topic="sms.send"/>'
    '<bpmn:boundaryEvent id="too_late" attachedToRef="send_reminder"><bpmn:timerEventDefinition id="t">'
    "<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
    + user_task("call_instead", "전화 안내") + '<bpmn:endEvent id="sent"/><bpmn:endEvent id="called"/>'
    + chain("start", "send_reminder", "sent") + chain("too_late", "call_instead", "called")
), name="독촉"))


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def ctx(clock: MovableClock) -> EngineContext:
    return EngineContext.create(script_time_limit=1.0, clock=clock)


@pytest.fixture
def folders(tmp_path: Path) -> list[Path]:
    return [write_folder(tmp_path, "payment", {"payment.bpmn": PAYMENT}),
            write_folder(tmp_path, "notice", {"notice.bpmn": ZEEBE}),
            write_folder(tmp_path, "reminder", {"reminder.bpmn": DEADLINE})]


@pytest.fixture
def api(database: Database, ctx: EngineContext, settings: Settings, folders: list[Path]) -> Iterator[Api]:
    """The demo organisation, the two processes, and the service accounts of accounting and SMS."""
    seed(database, folders)
    with database.unit_of_work() as session:
        for name, topic in (("accounting", TOPIC), ("sms", "sms.send")):
            identity.add_user(session, name, DEMO_PASSWORD, actor="admin", roles=("service",),
                              groups=(f"topic:{topic}",))
    with TestClient(create_app(settings, database, ctx)) as client:
        yield Api(client)


def fetch(api: Api, worker: str = "ledger-1", account: str = "accounting", topic: str = TOPIC,
          lock_ms: int = 60_000, max_tasks: int = 10, **extra: Any) -> list[dict[str, Any]]:
    answer = api.call("POST", "/api/external-tasks/fetch-and-lock", account, json={
        "workerId": worker, "maxTasks": max_tasks,
        "topics": [{"topicName": topic, "lockDuration": lock_ms, **extra}]})
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


def report(api: Api, task_id: str, what: str, body: dict[str, Any], account: str = "accounting") -> Any:
    return api.call("POST", f"/api/external-tasks/{task_id}/{what}", account, json=body)


def start_payment(api: Api, amount: int = 1_200_000) -> dict[str, Any]:
    return api.start("roads.staff", "payment", {"title": "도로 보수 대금", "amount": amount, "vendor": "한빛건설"})


def trail(api: Api, instance_id: str) -> list[dict[str, Any]]:
    answer = api.call("GET", f"/api/instances/{instance_id}/audit", "auditor")
    assert answer.status_code == 200, answer.text
    records: list[dict[str, Any]] = answer.json()
    return records


def test_a_worker_fetches_locks_and_completes_and_the_next_task_sees_its_variables(api: Api) -> None:
    instance = start_payment(api)
    assert instance["tasks"] == []  # the case waits for accounting, not for a person
    (task,) = fetch(api, variables=["amount", "payee"])
    assert task["topicName"] == TOPIC and task["workerId"] == "ledger-1"
    assert task["processInstanceId"] == instance["id"] and task["activityId"] == "post_payment"
    assert task["processDefinitionKey"] == "payment" and task["lockExpirationTime"].endswith("+0000")
    assert task["variables"] == {"amount": {"value": 1_200_000, "type": "Integer", "valueInfo": {}},
                                 "payee": {"value": "한빛건설", "type": "String", "valueInfo": {}}}
    assert fetch(api, worker="ledger-2") == []  # locked

    answer = report(api, task["id"], "complete", {"workerId": "ledger-1", "variables": {
        "voucher": {"value": "2026-회계-0042", "type": "String"},
        "posted": {"value": True, "type": "Boolean"},
        "lines": {"value": '[{"account": "도로유지", "amount": 1200000}]', "type": "Json"},
    }})
    assert answer.status_code == 204, answer.text

    seen = api.call("GET", f"/api/instances/{instance['id']}", "roads.staff").json()
    (confirm,) = seen["tasks"]
    assert confirm["element_id"] == "confirm"
    data = api.call("GET", f"/api/tasks/{confirm['id']}", "roads.staff").json()["data"]
    assert data["voucher"] == "2026-회계-0042" and data["posted"] is True
    assert data["lines"] == [{"account": "도로유지", "amount": 1200000}]
    records = [(r["action"], r["actor"]) for r in trail(api, instance["id"]) if r["action"].startswith("external")]
    assert records == [("external_task.locked", "accounting"), ("external_task.completed", "accounting")]
    assert api.call("GET", "/api/audit/verify", "auditor").json()["ok"]
    assert report(api, task["id"], "complete", {"workerId": "ledger-1"}).status_code == 404  # done once


def test_untyped_or_mistyped_variables_are_refused_by_name(api: Api) -> None:
    start_payment(api)
    (task,) = fetch(api)
    answer = report(api, task["id"], "complete", {"workerId": "ledger-1", "variables": {
        "voucher": "2026-0042", "count": {"value": "three", "type": "Integer"}, "ok": {"value": 1}}})
    assert answer.status_code == 422, answer.text
    assert {e["field"] for e in answer.json()["errors"]} == {"variables.voucher", "variables.count"}
    assert api.call("GET", f"/api/external-tasks/{task['id']}", "accounting").json()["workerId"] == "ledger-1"


def test_a_failure_with_retries_left_comes_back_later_and_with_none_left_is_an_incident(
    api: Api, clock: MovableClock
) -> None:
    instance = start_payment(api)
    (task,) = fetch(api)
    answer = report(api, task["id"], "failure", {"workerId": "ledger-1", "errorMessage": "회계 시스템 점검 중",
                                                 "errorDetails": "503 from ledger", "retries": 1,
                                                 "retryTimeout": 60_000})
    assert answer.status_code == 204, answer.text
    assert fetch(api) == []  # not before its retry timeout
    clock.advance(seconds=61)
    (again,) = fetch(api, worker="ledger-2")
    assert again["id"] == task["id"] and again["retries"] == 1 and again["errorMessage"] == "회계 시스템 점검 중"

    answer = report(api, task["id"], "failure", {"workerId": "ledger-2", "errorMessage": "계좌 오류", "retries": 0})
    assert answer.status_code == 204, answer.text
    clock.advance(hours=1)
    assert fetch(api) == []
    (incident,) = api.call("GET", "/api/incidents", "admin").json()
    assert incident["handler"] == TOPIC and incident["last_error"] == "계좌 오류" and incident["attempts"] == 2
    shown = api.call("GET", f"/api/instances/{instance['id']}", "roads.staff").json()
    assert [i["error"] for i in shown["incidents"]] == ["계좌 오류"]
    actions = [r["action"] for r in trail(api, instance["id"]) if r["action"].startswith("external")]
    assert actions == ["external_task.locked", "external_task.failed", "external_task.locked",
                       "external_task.incident"]

    assert api.call("POST", f"/api/incidents/{incident['id']}/retry", "admin").status_code == 200
    (retried,) = fetch(api)
    assert retried["id"] == task["id"] and retried["retries"] is None


def test_a_bpmn_error_is_caught_by_the_error_boundary_event_of_its_code(api: Api) -> None:
    instance = start_payment(api, amount=90_000_000)
    (task,) = fetch(api)
    uncaught = report(api, task["id"], "bpmnError", {"workerId": "ledger-1", "errorCode": "NO_SUCH_ACCOUNT"})
    assert uncaught.status_code == 409 and uncaught.json()["error"] == "BpmnErrorUncaught", uncaught.text
    assert "NO_SUCH_ACCOUNT" in uncaught.json()["detail"]

    answer = report(api, task["id"], "bpmnError", {
        "workerId": "ledger-1", "errorCode": "BUDGET_EXCEEDED", "errorMessage": "예산 초과",
        "variables": {"remaining_budget": {"value": 35_000_000, "type": "Long"}}})
    assert answer.status_code == 204, answer.text
    shown = api.call("GET", f"/api/instances/{instance['id']}", "roads.staff").json()
    (review,) = shown["tasks"]
    assert review["element_id"] == "review_budget"
    assert shown["data"]["remaining_budget"] == 35_000_000
    actions = [r["action"] for r in trail(api, instance["id"]) if r["action"].startswith("external")]
    assert actions == ["external_task.locked", "external_task.bpmn_error_uncaught", "external_task.bpmn_error"]
    assert api.call("GET", "/api/external-tasks", "auditor").json() == []


def test_only_the_worker_holding_the_lock_completes_until_it_expires_and_another_fetches_it(
    api: Api, clock: MovableClock
) -> None:
    start_payment(api)
    (task,) = fetch(api, worker="ledger-1", lock_ms=30_000)
    refused = report(api, task["id"], "complete", {"workerId": "ledger-2"})
    assert refused.status_code == 409 and refused.json()["error"] == "ExternalTaskLocked", refused.text
    assert "ledger-1" in refused.json()["detail"]
    assert report(api, task["id"], "extendLock", {"workerId": "ledger-1", "newDuration": 60_000}).status_code == 204
    clock.advance(seconds=45)
    assert fetch(api, worker="ledger-2") == []  # extended: still ledger-1's
    clock.advance(seconds=30)
    (taken,) = fetch(api, worker="ledger-2")  # expired: anyone may take it
    assert taken["id"] == task["id"] and taken["workerId"] == "ledger-2"
    late = report(api, task["id"], "complete", {"workerId": "ledger-1"})
    assert late.status_code == 409 and late.json()["error"] == "ExternalTaskLocked"
    assert report(api, task["id"], "unlock", {"workerId": "ledger-2"}).status_code == 204
    assert report(api, task["id"], "complete", {"workerId": "ledger-2"}).status_code == 409  # not locked any more
    (third,) = fetch(api, worker="ledger-3")  # ledger-3 dies holding it; Camunda's unlock has no body
    assert api.call("POST", f"/api/external-tasks/{third['id']}/unlock", "accounting").status_code == 204
    (fourth,) = fetch(api, worker="ledger-4")
    assert report(api, fourth["id"], "complete", {"workerId": "ledger-4"}).status_code == 204


def test_two_workers_racing_for_jobs_each_lock_different_ones(
    database: Database, ctx: EngineContext, api: Api
) -> None:
    for amount in range(12):
        start_payment(api, amount)
    with database.unit_of_work() as session:
        worker = identity.principal(session, identity.get_user(session, "accounting"))
    taken: dict[str, list[str]] = {"ledger-1": [], "ledger-2": []}
    ready = threading.Barrier(2)

    def work(worker_id: str) -> None:
        ready.wait()
        while True:
            with database.unit_of_work() as session:
                locked = external_tasks.fetch_and_lock(session, ctx, worker, worker_id, [TopicRequest(TOPIC, 60_000)], 2)
                taken[worker_id].extend(t.job.task_id for t in locked)
            if not locked:
                return

    threads = [threading.Thread(target=work, args=(name,)) for name in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    everything = taken["ledger-1"] + taken["ledger-2"]
    assert len(everything) == 12 and len(set(everything)) == 12, taken
    listed = api.call("GET", "/api/external-tasks", "accounting", params={"topicName": TOPIC}).json()
    assert {t["id"]: t["workerId"] for t in listed} == {
        task_id: name for name, ids in taken.items() for task_id in ids}


def test_two_servers_on_one_database_never_hand_out_one_job_twice(
    database: Database, ctx: EngineContext, settings: Settings, api: Api
) -> None:
    for amount in range(12):
        start_payment(api, amount)
    token = api.token("accounting")
    servers = [Database(database.url) for _ in range(2)]  # each its own pool, as two processes have
    taken: dict[str, list[str]] = {"ledger-1": [], "ledger-2": []}
    ready = threading.Barrier(2)

    def work(url: str, worker_id: str) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
            ready.wait()
            while True:
                answer = http.post("/api/external-tasks/fetch-and-lock", json={
                    "workerId": worker_id, "maxTasks": 2, "topics": [{"topicName": TOPIC, "lockDuration": 60_000}]})
                assert answer.status_code == 200, answer.text
                if not answer.json():
                    return
                for task in answer.json():
                    taken[worker_id].append(task["id"])
                    done = http.post(f"/api/external-tasks/{task['id']}/complete", json={"workerId": worker_id})
                    assert done.status_code == 204, done.text

    try:
        with serving(create_app(settings, servers[0], ctx)) as one, serving(create_app(settings, servers[1], ctx)) as two:
            threads = [threading.Thread(target=work, args=(url, name)) for url, name in zip((one, two), taken)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(120)
    finally:
        for server in servers:
            server.dispose()
    everything = taken["ledger-1"] + taken["ledger-2"]
    assert len(everything) == 12 and len(set(everything)) == 12, taken
    assert api.call("GET", "/api/external-tasks", "auditor").json() == []
    assert api.call("GET", "/api/audit/verify", "auditor").json()["ok"]


def test_only_a_service_account_given_the_topic_may_fetch_or_complete(api: Api) -> None:
    notice = api.start("roads.staff", "notice", {"phone": "010-0000-0000"})
    start_payment(api)
    as_staff = api.call("POST", "/api/external-tasks/fetch-and-lock", "roads.staff", json={
        "workerId": "w", "topics": [{"topicName": TOPIC, "lockDuration": 1000}]})
    assert as_staff.status_code == 403
    assert api.call("POST", "/api/external-tasks/fetch-and-lock", "admin", json={
        "workerId": "w", "topics": [{"topicName": TOPIC, "lockDuration": 1000}]}).status_code == 403
    other_topic = api.call("POST", "/api/external-tasks/fetch-and-lock", "sms", json={
        "workerId": "w", "topics": [{"topicName": TOPIC, "lockDuration": 1000}]})
    assert other_topic.status_code == 403 and f"topic:{TOPIC}" in other_topic.json()["detail"]

    (payment,) = fetch(api)
    assert report(api, payment["id"], "complete", {"workerId": "ledger-1"}, account="sms").status_code == 403
    assert [t["topicName"] for t in api.call("GET", "/api/external-tasks", "sms").json()] == ["sms.send"]

    (sms,) = fetch(api, worker="sms-gw", account="sms", topic="sms.send")  # Zeebe's task definition: a topic
    assert sms["processInstanceId"] == notice["id"] and sms["variables"]["phone"]["value"] == "010-0000-0000"
    assert report(api, sms["id"], "complete", {"workerId": "sms-gw"}, account="sms").status_code == 204
    assert [t["element_id"] for t in api.call("GET", f"/api/instances/{notice['id']}", "roads.staff")
            .json()["tasks"]] == ["after"]


def test_a_task_its_timer_took_away_cannot_be_completed_and_is_fetched_no_more(
    database: Database, ctx: EngineContext, settings: Settings, clock: MovableClock, api: Api
) -> None:
    reminder = api.start("roads.staff", "reminder", {"phone": "010-1234-5678"})
    (task,) = fetch(api, worker="sms-gw", account="sms", topic="sms.send")
    clock.advance(hours=2)
    Worker(database, ctx, settings).drain()  # the hour is up: someone calls instead
    shown = api.call("GET", f"/api/instances/{reminder['id']}", "roads.staff").json()
    assert [t["element_id"] for t in shown["tasks"]] == ["call_instead"]
    late = report(api, task["id"], "complete", {"workerId": "sms-gw"}, account="sms")
    assert late.status_code == 404 and late.json()["error"] == "ExternalTaskNotFound", late.text
    assert fetch(api, worker="sms-gw", account="sms", topic="sms.send") == []
    assert api.call("GET", "/api/external-tasks", "auditor").json() == []


def test_validate_takes_external_tasks_without_a_python_handler(tmp_path: Path) -> None:
    assert definitions.check(definitions.read_source(write_folder(tmp_path, "payment", {"p.bpmn": PAYMENT}))).problems == []
    assert definitions.check(definitions.read_source(write_folder(tmp_path, "notice", {"n.bpmn": ZEEBE}))).problems == []
    no_topic = PAYMENT.replace(f' camunda:topic="{TOPIC}"', "")
    problems = definitions.check(definitions.read_source(write_folder(tmp_path, "bad", {"b.bpmn": no_topic}))).problems
    assert [p.code for p in problems] == ["MISSING_HANDLER"]
    python_handler = PAYMENT.replace(' camunda:type="external"', "").replace(
        f'camunda:topic="{TOPIC}"', 'camunda:delegateExpression="${noSuchBean}"')
    problems = definitions.check(definitions.read_source(write_folder(tmp_path, "py", {"b.bpmn": python_handler}))).problems
    assert [p.code for p in problems] == ["UNKNOWN_HANDLER"]
