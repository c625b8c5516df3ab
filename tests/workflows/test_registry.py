"""The registers people read every day, derived from the instances themselves: the directive register
with its 이행률 and the pledge board with 평균진행률 and 달성률 — over the API and on the pages."""

from __future__ import annotations

from copy import deepcopy

import lxml.html
from fastapi.testclient import TestClient

from tests.api.test_pages import log_in
from tests.workflows.conftest import City
from tests.workflows.test_directive import classify, finish, register, review, under_way
from tests.workflows.test_pledge import PLEDGE, QUARTER_STARTS, accept_report, submit_report, until
from tests.workflows.test_pledge import register as register_pledge


def test_the_directive_register_counts_closed_open_and_overdue_per_department(city: City) -> None:
    closed = register(city, title="골목 가로등 정비")
    under_way(city, closed)
    finish(city, closed)
    review(city, closed, "종결")
    late = register(city, title="보도블록 교체")
    under_way(city, late, deadline="2026-12-10T18:00:00+09:00")
    elsewhere = register(city, title="버스 노선 개편 검토")
    classify(city, elsewhere, department="교통정책과", deadline="2027-03-31T18:00:00+09:00")
    city.later(days=4)  # 12-11: the second directive's deadline has passed

    answer = city.api.call("GET", "/api/directives", "mayor").json()
    assert answer["overall"] == {"total": 3, "closed": 1, "rate": 33.3}
    assert answer["by_department"] == {"교통정책과": {"total": 1, "closed": 0, "rate": 0.0},
                                       "도로과": {"total": 2, "closed": 1, "rate": 50.0}}
    assert answer["overdue"] == 1
    by_id = {item["id"]: item for item in answer["items"]}
    assert (by_id[closed]["status"], by_id[closed]["overdue"]) == ("완료", False)
    assert (by_id[late]["status"], by_id[late]["overdue"]) == ("추진중", True)
    assert by_id[elsewhere]["lead_department"] == "교통정책과"

    overdue = city.api.call("GET", "/api/directives?overdue=true", "mayor").json()["items"]
    assert [item["id"] for item in overdue] == [late]
    roads = city.api.call("GET", "/api/directives?department=도로과&status=완료", "mayor").json()["items"]
    assert [item["id"] for item in roads] == [closed]

    page = TestClient(city.api.client.app)
    log_in(page, "mayor")
    html = lxml.html.fromstring(page.get("/directives").text)
    assert "이행률 33.3%" in html.text_content()
    assert html.xpath("count(//ul[@class='cf-cards']/li)") == 3
    assert "기한 초과" in lxml.html.fromstring(page.get("/dashboard").text).text_content()


def test_the_pledge_board_averages_progress_and_counts_what_is_achieved(city: City) -> None:
    walking = register_pledge(city)
    other = deepcopy(PLEDGE)
    other["title"] = "공원 그늘막 확충"
    second = register_pledge(city, other)
    assert until(city, QUARTER_STARTS[0]).timers == 2  # both are asked for their first quarter
    submit_report(city, walking, done=2)  # 2 of 4 milestones: 50%
    accept_report(city, walking)

    board = city.api.call("GET", "/api/pledges", "mayor").json()
    assert board["total"] == 2
    progress = {item["id"]: item["progress"] for item in board["items"]}
    assert progress == {walking: 50, second: 0}
    assert board["average_progress"] == 25.0
    assert board["achievement_rate"] == 0.0
    assert board["by_status"]["정상추진"] == 2
    assert city.api.call("GET", "/api/pledges?status=완료", "mayor").json()["items"] == []
