"""The inbox says which case a task belongs to: its title, the process and step, who started it by
name, how long it waited, D-day and urgency; searched by title, filtered, sorted by age or deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import lxml.html
from fastapi.testclient import TestClient
from sqlalchemy import event, update

from engine.db import Database
from engine.models import OpenTask
from tests.api.conftest import Api
from tests.api.test_pages import log_in

TITLES = ("어두운 골목 가로등 정비", "버스 정류장 그늘막 설치")


def directive_at_classification(api: Api, title: str) -> str:
    """The mayor issues and registers a directive; it waits for the planning office (지시 분류·배정)."""
    instance = api.start("mayor", "directive", {"title": title})
    task = api.only_task(instance)
    data = {"title": title, "content": "연말까지 정비할 것", "issuer": "mayor", "source": "간부회의",
            "issued_on": "2026-12-07"}
    answer = api.call("POST", f"/api/tasks/{task['id']}/complete", "mayor", json={"data": data})
    assert answer.status_code == 200, answer.text
    return str(instance["id"])


def cards(html: str) -> list[str]:
    return [" ".join(e.text_content().split()) for e in lxml.html.fromstring(html).xpath('//li[contains(@class, "cf-task")]')]


def test_two_directives_at_classification_are_two_cards_with_their_titles(api: Api, client: TestClient) -> None:
    for title in TITLES:
        directive_at_classification(api, title)
    log_in(client, "planning.staff")
    page = client.get("/")
    assert page.status_code == 200
    shown = cards(page.text)
    assert len(shown) == 2
    for title, card in zip(sorted(TITLES), sorted(shown), strict=True):
        assert card.startswith(title) and "지시 분류·배정" in card and "지시: 시장 ·" in card and "오늘 도착" in card
        assert "mayor" not in card and "None" not in card
    assert "시장" in shown[0]
    assert "나에게 온 업무 0건 · 부서 업무 2건" in page.text


def test_the_inbox_finds_by_title_and_process(api: Api, client: TestClient) -> None:
    for title in TITLES:
        directive_at_classification(api, title)
    log_in(client, "planning.staff")
    found = cards(client.get("/", params={"q": "그늘막"}).text)
    assert len(found) == 1 and found[0].startswith("버스 정류장 그늘막 설치")
    assert cards(client.get("/", params={"q": "%"}).text) == []
    assert len(cards(client.get("/", params={"process": "directive"}).text)) == 2
    assert cards(client.get("/", params={"process": "suggestion"}).text) == []
    items = api.call("GET", "/api/tasks", "planning.staff", params={"q": "가로등"}).json()["items"]
    assert [i["title"] for i in items] == ["어두운 골목 가로등 정비"]


def _due(database: Database, instance_id: str, due: datetime | None) -> None:
    with database.unit_of_work() as session:
        session.execute(update(OpenTask).where(OpenTask.instance_id == instance_id).values(due_at=due))


def test_sorted_by_deadline_soonest_first_and_those_without_last(api: Api, client: TestClient, database: Database) -> None:
    first, second, third = (directive_at_classification(api, t) for t in ("가", "나", "다"))
    now = datetime.now(UTC)
    _due(database, first, None)
    _due(database, second, now + timedelta(days=3, hours=1))
    _due(database, third, now - timedelta(days=2, hours=1))
    titles = [i["title"] for i in api.call("GET", "/api/tasks", "planning.staff", params={"sort": "due"}).json()["items"]]
    assert titles == ["다", "나", "가"]
    log_in(client, "planning.staff")
    shown = cards(client.get("/", params={"sort": "due"}).text)
    assert [c[0] for c in shown] == ["다", "나", "가"]
    assert any(f"{n}일 지남" in shown[0] for n in (2, 3)) and any(f"D-{n}" in shown[1] for n in (3, 4))
    assert [c[0] for c in cards(client.get("/").text)] == ["가", "나", "다"]


def test_the_task_list_names_the_case(api: Api) -> None:
    directive_at_classification(api, TITLES[0])
    (item,) = api.call("GET", "/api/tasks", "planning.staff").json()["items"]
    assert item["title"] == TITLES[0] and item["name"] == "지시 분류·배정"
    assert item["process_name"] and item["started_by"]["name"] and item["started_by"]["position"]
    assert "mayor" not in str(item["started_by"])
    assert item["waiting_days"] == 0 and item["urgency"] is None
    refused = api.call("GET", "/api/tasks", "planning.staff", params={"sort": "name"})
    assert refused.status_code == 422


def test_pages_of_either_order_bring_each_task_once(api: Api, database: Database) -> None:
    ids = [directive_at_classification(api, f"지시 {n}") for n in range(5)]
    now = datetime.now(UTC)
    for n, instance_id in enumerate(ids):
        _due(database, instance_id, None if n % 2 else now + timedelta(days=5 - n))
    for sort in ("age", "due"):
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"sort": sort, "limit": 2, **({"cursor": cursor} if cursor else {})}
            answer = api.call("GET", "/api/tasks", "planning.staff", params=params).json()
            seen += [i["id"] for i in answer["items"]]
            cursor = answer["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == 5 == len(set(seen)), sort
    age_cursor = api.call("GET", "/api/tasks", "planning.staff", params={"limit": 2}).json()["next_cursor"]
    mixed = api.call("GET", "/api/tasks", "planning.staff", params={"sort": "due", "cursor": age_cursor})
    assert mixed.status_code == 422


def _statements(database: Database, client: TestClient) -> int:
    count = 0

    def counted(*_: Any) -> None:
        nonlocal count
        count += 1

    event.listen(database.engine, "before_cursor_execute", counted)
    try:
        assert client.get("/").status_code == 200
    finally:
        event.remove(database.engine, "before_cursor_execute", counted)
    return count


def test_the_inbox_asks_the_database_as_often_for_30_tasks_as_for_3(
    api: Api, client: TestClient, database: Database
) -> None:
    for n in range(3):
        directive_at_classification(api, f"지시 {n}")
    log_in(client, "planning.staff")
    few = _statements(database, client)
    for n in range(3, 30):
        directive_at_classification(api, f"지시 {n}")
    many = _statements(database, client)
    assert len(cards(client.get("/").text)) == 30
    print(f"statements per inbox request: {few} with 3 tasks, {many} with 30")
    assert many == few
