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


def test_every_register_is_served_as_its_process_declares_it_a_page_at_a_time(city: City) -> None:
    started = {register(city, title=f"지시 {n}") for n in range(3)}

    generic = city.api.call("GET", "/api/registers/directive", "mayor").json()
    assert generic == city.api.call("GET", "/api/directives", "mayor").json()  # the old name is an alias
    assert generic["register"]["statuses"] == ["추진중", "완료", "계속관리", "장기검토", "추진불가"]
    assert generic["register"]["rate"] == {"ko": "이행률", "en": "Implementation rate"}
    assert generic["by_status"]["추진중"] == generic["matching"] == 3

    first = city.api.call("GET", "/api/registers/directive?limit=2", "mayor").json()
    rest = city.api.call("GET", f"/api/registers/directive?limit=2&offset={first['next_offset']}", "mayor").json()
    assert (len(first["items"]), first["next_offset"], len(rest["items"]), rest["next_offset"]) == (2, 2, 1, None)
    assert {item["id"] for item in first["items"] + rest["items"]} == started
    assert first["overall"] == rest["overall"] == {"total": 3, "closed": 0, "rate": 0.0}

    assert city.api.call("GET", "/api/registers/directive?colour=red", "mayor").status_code == 422
    assert city.api.call("GET", "/api/registers/directive?overdue=maybe", "mayor").status_code == 422
    assert city.api.call("GET", "/api/registers/suggestion", "mayor").status_code == 404  # declares none
    assert city.api.call("GET", "/api/registers/field_report", "mayor").json()["total"] == 0

    page = TestClient(city.api.client.app)
    log_in(page, "mayor")
    html = lxml.html.fromstring(page.get("/directives?offset=2").text)
    assert html.xpath("count(//ul[@class='cf-cards']/li)") == 1
    assert html.xpath("//nav[@class='cf-pager']/a[@rel='prev']/@href")[0].endswith("offset=0")


def test_a_register_without_statuses_or_departments_counts_every_case(city: City) -> None:
    line = [{"kind": "결재", "people": [{"user": "roads.chief"}]}]
    for n in range(3):
        city.api.start("roads.staff", "approval", {"title": f"문서 {n}", "body": "본문", "doc_type": "일반",
                                                   "amount": 0, "line": line})
    documents = city.api.call("GET", "/api/registers/approval", "auditor").json()
    assert (documents["total"], documents["overall"]["total"], documents["matching"]) == (3, 3, 3)
