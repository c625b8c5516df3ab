"""How many SQL statements a request costs: the approval P3 drives (a start and three completions,
bearer tokens, forms checked, audit) stays within a budget, so a change that makes every request read
the caller twice, write each audit record alone or load a version's files again shows up here.
A count is behaviour, not timing; the budget is what the request needs today, with a little room."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from engine.db import Database
from engine.demo import SAMPLE_APPROVAL as DOCUMENT
from engine.demo import SAMPLE_APPROVERS as APPROVERS
from engine.demo import SAMPLE_DECISIONS as DECISIONS
from tests.api.conftest import Api

# (before they were made lean, on SQLite: GET /api/me 7, a start 26, the approval 92)
BUDGET = {"me": 3, "start": 18, "completion": 16, "approval": 60}


class Statements:
    def __init__(self) -> None:
        self.seen: list[str] = []

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        self.seen = []
        yield self.seen


@contextmanager
def statements(database: Database) -> Iterator[Statements]:
    counter = Statements()

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        counter.seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(database.engine, "before_cursor_execute", count)


def test_an_approval_costs_few_statements(client: TestClient, database: Database) -> None:
    api = Api(client)
    for person in ("roads.staff", *APPROVERS):
        api.token(person)  # logged in beforehand, as P3's clients are
    with statements(database) as counter:
        api.call("GET", "/api/me", "roads.staff")  # a pool connection opened and the process's caches
        api.start("roads.staff", "approval", DOCUMENT)  # filled (the version's spec, read once per process)
        with counter.counting() as me:
            assert api.call("GET", "/api/me", "roads.staff").status_code == 200
        spent: dict[str, int] = {"me": len(me)}
        with counter.counting() as start:
            answer = api.call("POST", "/api/instances", "roads.staff",
                              json={"process_key": "approval", "data": DOCUMENT})
            assert answer.status_code == 201, answer.text
        spent["start"] = len(start)
        case, completions = answer.json(), []
        for person in APPROVERS:
            task = next(t for t in case["tasks"] if t["assignee"] == person and not t["standing"])
            with counter.counting() as completion:
                answer = api.call("POST", f"/api/tasks/{task['id']}/complete", person,
                                  json={"data": DECISIONS[task["element_id"]]})
                assert answer.status_code == 200, answer.text
            completions.append(len(completion))
            case = answer.json()
    audit_inserts = [s for s in counter.seen if s.lstrip().upper().startswith("INSERT INTO AUDIT_RECORDS")]

    assert case["status"] == "running" or case["status"] == "completed"
    assert not any(t["element_id"] in DECISIONS for t in case["tasks"])  # the line has been worked through
    assert spent["me"] <= BUDGET["me"], me
    assert spent["start"] <= BUDGET["start"], start
    assert max(completions) <= BUDGET["completion"], completions
    assert spent["start"] + sum(completions) <= BUDGET["approval"]
    assert len(audit_inserts) == 1  # the last completion's records, dozens of them, in one statement
