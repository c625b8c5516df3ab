"""Who may read a case: those who take part in it, the heads above them, the offices a process
names as its overseers, auditors and admins — and nobody else, whatever they tried.

The rules are ``engine.access``; here they are read as a person meets them, through the API,
on SQLite and PostgreSQL, with the demo city hall (도로과 and 교통정책과 under 안전교통국,
복지정책과 under 복지환경국).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine import identity
from engine.db import Database
from tests.api.conftest import Api

SUGGESTION = {"title": "횡단보도 신호 연장", "supporters": 30}


def reads(api: Api, person: str, instance_id: str) -> bool:
    """Whether ``person`` can open the case, and finds it in their list: the two always agree."""
    shown = api.call("GET", f"/api/instances/{instance_id}", person).status_code
    listed = instance_id in [i["id"] for i in api.call("GET", "/api/instances?limit=200", person).json()["items"]]
    assert shown in (200, 403)
    assert (shown == 200) == listed, f"{person}: the page says {shown}, the list says {listed}"
    return shown == 200


# A suggestion by a roads clerk, its review offered to the planning office (기획조정실).
SUGGESTION_READERS = [
    ("roads.staff", True, "started it"),
    ("planning.lead", True, "a candidate: the review is offered to the planning office"),
    ("roads.chief", True, "heads the department of whoever started it"),
    ("safety.director", True, "heads the bureau above that department"),
    ("auditor", True, "an auditor reads every case"),
    ("admin", True, "an admin reads every case"),
    ("roads.lead", False, "a colleague of the same department takes no part (yet)"),
    ("traffic.chief", False, "heads another department of the same bureau"),
    ("welfare.director", False, "heads another bureau"),
    ("mayor", False, "the mayor oversees directives and pledges, not every suggestion"),
    ("welfare.staff", False, "works elsewhere and takes no part"),
]


@pytest.mark.parametrize(("person", "expected", "why"), SUGGESTION_READERS, ids=[p for p, _, _ in SUGGESTION_READERS])
def test_who_reads_a_citizen_suggestion(api: Api, person: str, expected: bool, why: str) -> None:
    instance = api.start("roads.staff", "suggestion", SUGGESTION)
    assert reads(api, person, instance["id"]) is expected, why


DIRECTIVE_READERS = [
    ("mayor", True, "gave it"),
    ("vice.mayor", True, "the mayor's office oversees every directive"),
    ("planning.staff", True, "the planning office oversees every directive"),
    ("roads.chief", False, "no department has it yet"),
    ("welfare.staff", False, "takes no part"),
]


@pytest.mark.parametrize(("person", "expected", "why"), DIRECTIVE_READERS, ids=[p for p, _, _ in DIRECTIVE_READERS])
def test_who_reads_a_directive_before_it_is_dispatched(api: Api, person: str, expected: bool, why: str) -> None:
    instance = api.start("mayor", "directive", {"title": "어두운 골목 가로등 정비"})
    assert reads(api, person, instance["id"]) is expected, why


def test_a_refused_attempt_never_lets_anyone_in(api: Api) -> None:
    instance = api.start("roads.staff", "suggestion", SUGGESTION)
    task = api.only_task(instance)
    for attempt in ("claim", "complete", "delegate"):
        body = {"data": {"accepted": True, "category": "도로"}} if attempt == "complete" else {"user": "welfare.staff"}
        refused = api.call("POST", f"/api/tasks/{task['id']}/{attempt}", "welfare.staff", json=body)
        assert refused.status_code == 403, attempt
    assert not reads(api, "welfare.staff", instance["id"])
    assert api.call("GET", f"/api/instances/{instance['id']}/audit", "welfare.staff").status_code == 403
    trail = api.call("GET", f"/api/instances/{instance['id']}/audit", "auditor").json()
    assert [r["actor"] for r in trail if r["action"] == "task.refused"] == ["welfare.staff"] * 3


def test_whoever_reads_a_case_reads_its_waiting_task_but_cannot_open_or_act_on_it(api: Api) -> None:
    instance = api.start("roads.staff", "suggestion", SUGGESTION)
    task = api.only_task(instance)  # the review, offered to the planning office
    read = api.call("GET", f"/api/tasks/{task['id']}", "roads.chief")  # heads the starter's department
    assert read.status_code == 200
    assert read.json()["data"]["title"] == SUGGESTION["title"]
    assert api.call("POST", f"/api/tasks/{task['id']}/claim", "roads.chief").status_code == 403
    assert api.call("GET", f"/api/tasks/{task['id']}", "welfare.staff").status_code == 403  # takes no part
    trail = api.call("GET", f"/api/instances/{instance['id']}/audit", "auditor").json()
    assert not [r for r in trail if r["action"] == "task.opened"]  # reading is not 개봉: only its addressee opens it


def test_taking_part_once_is_reading_for_good(api: Api) -> None:
    instance = api.start("roads.staff", "suggestion", SUGGESTION)
    task = api.only_task(instance)
    assert not reads(api, "roads.lead", instance["id"])
    done = api.call("POST", f"/api/tasks/{task['id']}/complete", "planning.staff",
                    json={"data": {"accepted": True, "category": "도로"}})
    assert done.status_code == 200
    assert reads(api, "roads.lead", instance["id"])  # the answer is now offered to 도로과
    answer = api.only_task(done.json())
    assert api.call("POST", f"/api/tasks/{answer['id']}/complete", "roads.lead",
                    json={"data": {"answer": "신호 연장 완료"}}).status_code == 200
    assert reads(api, "planning.staff", instance["id"])  # a past candidate, after the case has ended


def test_a_case_shared_with_a_colleague_is_theirs_to_read(api: Api) -> None:
    instance = api.start("roads.staff", "suggestion", SUGGESTION)
    assert not reads(api, "welfare.staff", instance["id"])
    stranger = api.call("POST", f"/api/instances/{instance['id']}/share", "welfare.lead", json={"user": "welfare.staff"})
    assert stranger.status_code == 403  # only someone who takes part may share it
    shared = api.call("POST", f"/api/instances/{instance['id']}/share", "roads.staff", json={"user": "welfare.staff"})
    assert shared.status_code == 200
    assert reads(api, "welfare.staff", instance["id"])
    trail = api.call("GET", f"/api/instances/{instance['id']}/audit", "auditor").json()
    assert {"action": "instance.shared", "actor": "roads.staff", "with": "welfare.staff"} in [
        {"action": r["action"], "actor": r["actor"], "with": (r["detail"] or {}).get("with")} for r in trail]


def test_a_deputy_reads_what_the_absent_colleague_reads_while_the_absence_lasts(api: Api, database: Database) -> None:
    instance = api.start("roads.staff", "suggestion", SUGGESTION)
    assert not reads(api, "traffic.staff", instance["id"])
    now = datetime.now(UTC)
    with database.unit_of_work() as session:
        identity.add_absence(session, "roads.staff", "traffic.staff", "출장", now - timedelta(hours=1),
                             now + timedelta(days=1), actor="admin")
    assert reads(api, "traffic.staff", instance["id"])


def test_an_auditor_reads_everything_and_changes_nothing(api: Api) -> None:
    instance = api.start("roads.staff", "suggestion", SUGGESTION)
    task = api.only_task(instance)
    assert reads(api, "auditor", instance["id"])
    for method, path, body in (
        ("POST", f"/api/tasks/{task['id']}/claim", None),
        ("POST", f"/api/instances/{instance['id']}/comments", {"body": "확인"}),
        ("POST", f"/api/instances/{instance['id']}/cancel", {"reason": "감사"}),
        ("POST", "/api/instances", {"process_key": "suggestion", "data": SUGGESTION}),
    ):
        assert api.call(method, path, "auditor", json=body).status_code == 403, path


def test_a_register_lists_the_cases_one_may_read_and_counts_the_whole_city(api: Api) -> None:
    for title in ("어두운 골목 가로등 정비", "버스 정류장 온열의자"):
        api.start("mayor", "directive", {"title": title})
    planning = api.call("GET", "/api/registers/directive", "planning.staff").json()
    welfare = api.call("GET", "/api/registers/directive", "welfare.staff").json()
    assert planning["total"] == welfare["total"] == 2
    assert sorted(i["title"] for i in planning["items"]) == ["버스 정류장 온열의자", "어두운 골목 가로등 정비"]
    assert welfare["items"] == []
