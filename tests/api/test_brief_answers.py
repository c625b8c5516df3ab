"""An action on a case answers the whole case, or — when the client prefers (``Prefer: return=minimal``,
RFC 7240) — its brief: id, status and the tasks open now, what a client needs to act next."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from engine.db import Database
from engine.demo import SAMPLE_APPROVAL as DOCUMENT
from engine.demo import SAMPLE_APPROVERS as APPROVERS
from engine.demo import SAMPLE_DECISIONS as DECISIONS
from tests.api.conftest import Api

BRIEF = {"Prefer": "return=minimal"}


def _next_task(case: dict[str, Any], person: str) -> dict[str, Any]:
    return next(t for t in case["tasks"] if t["assignee"] == person and not t["standing"])


def test_an_approval_worked_through_with_brief_answers(api: Api) -> None:
    answer = api.call("POST", "/api/instances", "roads.staff", headers=BRIEF,
                      json={"process_key": "approval", "data": DOCUMENT})
    assert answer.status_code == 201, answer.text
    assert answer.headers["Preference-Applied"] == "return=minimal"
    case = answer.json()
    assert set(case) == {"id", "process_key", "status", "business_key", "error", "tasks", "ended_at"}
    assert case["process_key"] == "approval" and case["status"] == "running"
    for person in APPROVERS:
        task = _next_task(case, person)
        answer = api.call("POST", f"/api/tasks/{task['id']}/complete", person, headers=BRIEF,
                          json={"data": DECISIONS[task["element_id"]]})
        assert answer.status_code == 200, answer.text
        assert answer.headers["Preference-Applied"] == "return=minimal"
        case = answer.json()
        assert "data" not in case and case["id"]
    assert not any(t["element_id"] in DECISIONS for t in case["tasks"])
    whole = api.call("GET", f"/api/instances/{case['id']}", "roads.staff").json()
    assert whole["status"] == case["status"]
    # the brief left the data out; the case kept each approver's decision
    assert [entry["user"] for entry in whole["data"]["history"]] == list(APPROVERS)
    assert {t["id"] for t in whole["tasks"]} == {t["id"] for t in case["tasks"]}


@pytest.mark.parametrize("prefer", ['respond-async, return="minimal"', "return=minimal; handling=lenient",
                                    "RETURN = minimal"])
def test_the_preference_read_as_rfc_7240_writes_it(api: Api, prefer: str) -> None:
    answer = api.call("POST", "/api/instances", "roads.staff", headers={"Prefer": prefer},
                      json={"process_key": "approval", "data": DOCUMENT})
    assert answer.status_code == 201, answer.text
    assert "data" not in answer.json()


@pytest.mark.parametrize("prefer", [None, "return=representation", "handling=strict", "return=minimalist"])
def test_without_the_preference_the_whole_case_comes_back(api: Api, prefer: str | None) -> None:
    headers = {"Prefer": prefer} if prefer else {}
    answer = api.call("POST", "/api/instances", "roads.staff", headers=headers,
                      json={"process_key": "approval", "data": DOCUMENT})
    assert answer.status_code == 201, answer.text
    assert "Preference-Applied" not in answer.headers
    case = answer.json()
    assert case["data"]["title"] == DOCUMENT["title"] and case["version"] >= 1


def test_a_brief_answer_reads_less(client: TestClient, database: Database, api: Api) -> None:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    api.start("roads.staff", "approval", DOCUMENT)  # caches filled
    spent = {}
    event.listen(database.engine, "before_cursor_execute", count)
    try:
        for label, headers in (("whole", {}), ("brief", BRIEF)):
            seen.clear()
            answer = api.call("POST", "/api/instances", "roads.staff", headers=headers,
                              json={"process_key": "approval", "data": DOCUMENT})
            assert answer.status_code == 201, answer.text
            spent[label] = len(seen)
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
    assert spent["brief"] < spent["whole"]  # no incidents looked up for an answer that leaves them out
