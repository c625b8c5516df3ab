"""현장 지시: the mayor gives a directive on site from a phone, in one short form — what to do, photos,
the place, and if they like a department and a deadline — and it enters the directive process
registered as given, its proposal waiting for the planning office's assignment."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import lxml.html
from fastapi.testclient import TestClient

from tests.api.conftest import Api
from tests.api.test_pages import log_in
from tests.images import jpeg, png

CONTENT = "행궁동 골목 가로등을 이번 달 안에 정비하세요.\n어두운 구간은 주민 의견을 들어 먼저 하세요."
PLACE = {"location.lat": "37.282", "location.lon": "127.013", "location.address": "수원시 팔달구 행궁동 골목"}


def field_form(client: TestClient) -> Any:
    page = client.get("/directives/field")
    assert page.status_code == 200, page.text
    return lxml.html.fromstring(page.text)


def give(client: TestClient, fields: dict[str, str], files: list[Any] | None = None) -> Any:
    form = field_form(client)
    token = form.xpath("//input[@name='csrf_token']/@value")[0]
    return client.post("/directives/field", data={"csrf_token": token, **fields}, files=files or [],
                       follow_redirects=False)


def case_of(answer: Any) -> str:
    """The case a page sent the browser on to (``/instances/<id>``, perhaps with a notice)."""
    return str(urlsplit(answer.headers["location"]).path.rsplit("/", 1)[1])


def directives(api: Api) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.call("GET", "/api/registers/directive", "mayor").json()["items"]
    return items


def test_the_mayor_gives_a_directive_on_site_in_one_form_and_the_planning_office_finds_it_to_assign(
    api: Api, client: TestClient,
) -> None:
    log_in(client, "mayor")
    form = field_form(client)
    assert form.xpath("//textarea[@name='content']")
    assert form.xpath("//input[@type='file'][@name='photos'][@capture='environment']")
    assert [i.get("name") for i in form.xpath("//fieldset[contains(@class, 'cf-location')]//input")] == [
        "location.lat", "location.lon", "location.address"]
    assert form.xpath("//input[@name='source'][@value='현장'][@checked]")  # on site, unless said otherwise

    answer = give(client, {"content": CONTENT, **PLACE, "lead_department": "도로과", "deadline": "2026-12-24",
                           "source": "현장"},
                  [("photos", ("골목1.jpg", jpeg(800, 600), "image/jpeg")),
                   ("photos", ("골목2.png", png(600, 800), "image/png"))])
    assert answer.status_code == 303, answer.text
    case_id = case_of(answer)

    case = api.call("GET", f"/api/instances/{case_id}", "mayor").json()
    data = case["data"]
    assert data["title"] == "행궁동 골목 가로등을 이번 달 안에 정비하세요."  # its first line
    assert (data["content"], data["issuer"], data["source"]) == (CONTENT, "mayor", "현장")
    seoul = datetime.fromisoformat(case["started_at"].replace("Z", "+00:00")).astimezone(ZoneInfo("Asia/Seoul"))
    assert data["issued_on"] == seoul.date().isoformat()  # the city's today, not UTC's
    assert data["location"] == {"lat": 37.282, "lon": 127.013, "address": "수원시 팔달구 행궁동 골목"}
    listed = api.call("GET", f"/api/instances/{case_id}/attachments", "mayor")
    assert listed.status_code == 200, listed.text
    files = {f"attachment:{f['id']}": f for f in listed.json()}
    assert [(files[ref]["filename"], files[ref]["verified_image"]) for ref in data["photos"]] == [
        ("골목1.jpg", True), ("골목2.png", True)]

    # Registered as given: the next step is the planning office's, with the mayor's proposal filled in.
    (task,) = case["tasks"]
    assert task["element_id"] == "classify_directive"
    log_in(client, "planning.staff")
    assign = lxml.html.fromstring(client.get(f"/tasks/{task['id']}").text)
    assert assign.xpath("//select[@name='lead_department']//option[@selected]/@value") == ["도로과"]
    assert assign.xpath("//input[@name='deadline']/@value")[0].startswith("2026-12-24T18:00")

    trail = api.call("GET", f"/api/instances/{case_id}/audit", "auditor").json()
    people = [(r["action"], r["element_id"], r["actor"]) for r in trail if not r["actor"].startswith("system:")]
    assert ("task.completed", "register_directive", "mayor") in people
    assert [r["action"] for r in trail if r["action"] == "attachment.added"] == ["attachment.added"] * 2
    assert api.call("GET", f"/api/audit/verify?instance_id={case_id}", "auditor").json()["ok"] is True


def test_by_phone_with_nothing_but_what_to_do(api: Api, client: TestClient) -> None:
    log_in(client, "vice.mayor")
    answer = give(client, {"content": "  \n광교호수공원 야간 조명 점검", "source": "모바일"})
    assert answer.status_code == 303, answer.text
    case = api.call("GET", f"/api/instances/{case_of(answer)}", "vice.mayor").json()
    assert (case["data"]["title"], case["data"]["source"], case["data"]["issuer"]) == (
        "광교호수공원 야간 조명 점검", "모바일", "vice.mayor")
    assert case["data"]["lead_department"] is None  # left to the planning office


def test_a_form_that_is_not_right_is_shown_again_with_why_and_nothing_is_given(api: Api, client: TestClient) -> None:
    before = len(directives(api))
    log_in(client, "mayor")
    empty = give(client, {"content": "", "source": "현장"})
    assert empty.status_code == 422
    assert lxml.html.fromstring(empty.text).xpath("//*[contains(@class, 'cf-error')]")
    unknown = give(client, {"content": "시청 앞 광장 그늘막", "lead_department": "없는부서", "source": "현장"})
    assert unknown.status_code == 422 and "조직도에 없는 부서입니다" in unknown.text
    half = give(client, {"content": "시청 앞 광장 그늘막", "location.lat": "37.26", "source": "현장"})
    assert half.status_code == 422
    assert len(directives(api)) == before


def test_only_those_who_issue_directives_get_the_form(api: Api, client: TestClient) -> None:
    log_in(client, "roads.staff")
    assert client.get("/directives/field").status_code == 403
    assert "/directives/field" not in client.get("/directives").text
    log_in(client, "mayor")
    assert 'href="/directives/field"' in client.get("/directives").text
