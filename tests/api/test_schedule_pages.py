"""단체장 일정 on the pages: the 수행비서 puts an entry on the mayor's day, everyone reads the public ones
(a private one as 일정 있음), mistakes are named on the form, and a calendar address is shown once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import lxml.html
from fastapi.testclient import TestClient

from tests.api.conftest import Api
from tests.api.test_pages import hidden, log_in

SEOUL = ZoneInfo("Asia/Seoul")


def tomorrow() -> str:
    return (datetime.now(SEOUL).date() + timedelta(days=1)).isoformat()


def text_of(html: str, xpath: str) -> list[str]:
    return [" ".join(e.text_content().split()) for e in lxml.html.fromstring(html).xpath(xpath)]


def posted(token: str, **values: Any) -> dict[str, list[str]]:
    day = tomorrow()
    fields = {"kind": "현장방문", "title": "광교호수공원 산책로 점검", "starts_at": f"{day}T14:00",
              "ends_at": f"{day}T15:30", "place": "광교호수공원 입구", "guests": "주민자치위원장\n공원 관리소장",
              "notes": "야간 조명 확인", **values}
    pairs = [("csrf_token", token), *((k, str(v)) for k, v in fields.items() if k not in ("attendees", "private"))]
    pairs += [("attendees", name) for name in values.get("attendees", ["environment.chief"])]
    if values.get("private"):
        pairs.append(("private", "on"))
    form: dict[str, list[str]] = {}
    for name, value in pairs:
        form.setdefault(name, []).append(value)
    return form


def test_the_secretary_puts_a_field_visit_on_the_mayors_day_and_staff_read_it(client: TestClient, api: Api) -> None:
    log_in(client, "mayor.secretary")
    form = client.get("/schedule/new", params={"day": tomorrow()})
    assert form.status_code == 200
    assert text_of(form.text, "//p[@class='cf-crumbs']") == ["일정 · 시장"]
    saved = client.post("/schedule/new?owner=mayor", data=posted(hidden(form.text)), follow_redirects=True)
    assert saved.status_code == 200 and "일정에 올렸습니다." in saved.text
    (card,) = text_of(saved.text, "//ul[contains(@class, 'cf-agenda')]/li")
    assert card == "14:00–15:30 현장방문 광교호수공원 산책로 점검 광교호수공원 입구 최과장, 주민자치위원장, 공원 관리소장"

    log_in(client, "roads.staff")  # anyone who works here opens the mayor's schedule by default
    day = client.get("/schedule", params={"day": tomorrow()})
    assert "광교호수공원 산책로 점검" in day.text and "일정 추가" not in day.text
    week = client.get("/schedule", params={"day": tomorrow(), "view": "week"})
    assert len(lxml.html.fromstring(week.text).xpath("//section[contains(@class, 'cf-day')]")) == 7
    entry_id = api.call("GET", "/api/schedule", "roads.staff", params={
        "owner": "mayor", "from": f"{tomorrow()}T00:00:00+09:00", "to": f"{tomorrow()}T23:59:00+09:00"}).json()[0]["id"]
    entry = client.get(f"/schedule/{entry_id}")
    assert text_of(entry.text, "//dl[@class='cf-facts']/dd")[:3] == [
        "광교호수공원 입구", "최과장", "주민자치위원장, 공원 관리소장"]
    links = lxml.html.fromstring(entry.text).xpath("//a[text()='이 일정에서 지시하기']/@href")
    assert links and "from_schedule=" in links[0]
    assert "수정" not in text_of(entry.text, "//p[@class='cf-actions']")[0]
    assert client.post(f"/schedule/{entry_id}/cancel", data={"csrf_token": hidden(entry.text)}).status_code == 403


def test_a_private_entry_reads_as_busy_to_others_and_mistakes_are_named_on_the_form(
    client: TestClient, api: Api,
) -> None:
    log_in(client, "mayor")
    form = client.get("/schedule/new")
    wrong = client.post("/schedule/new?owner=mayor",
                        data=posted(hidden(form.text), title="", ends_at=f"{tomorrow()}T13:00"))
    assert wrong.status_code == 422
    assert text_of(wrong.text, "//span[@class='cf-error']") == ["일정 제목을 적어 주세요", "일정은 시작한 뒤에 끝나야 합니다"]
    assert lxml.html.fromstring(wrong.text).xpath("//input[@name='place']/@value") == ["광교호수공원 입구"]
    saved = client.post("/schedule/new?owner=mayor", data=posted(hidden(form.text), title="인사 면담", kind="면담",
                                                                 private=True, attendees=[]))
    assert saved.status_code == 200

    log_in(client, "welfare.staff")
    (card,) = text_of(client.get("/schedule", params={"day": tomorrow()}).text, "//ul[contains(@class, 'cf-agenda')]/li")
    assert card == "14:00–15:30 일정 있음"


def test_a_calendar_address_is_shown_once_on_the_page_and_never_in_an_address(client: TestClient) -> None:
    log_in(client, "roads.chief")
    page = client.get("/schedule")
    made = client.post("/schedule/feed", data={"csrf_token": hidden(page.text)}, follow_redirects=False)
    assert made.status_code == 200 and "location" not in made.headers
    (address,) = lxml.html.fromstring(made.text).xpath("//input[@class='cf-copy']/@value")
    assert "/calendar/" in address and address.endswith(".ics")
    assert client.get(address.split("testserver", 1)[1]).status_code == 200
    assert "cf-copy" not in client.get("/schedule").text


def test_a_directive_given_from_a_meeting_on_the_schedule_keeps_the_meeting_as_its_source(
    client: TestClient, api: Api,
) -> None:
    log_in(client, "mayor.secretary")
    form = client.get("/schedule/new")
    client.post("/schedule/new?owner=mayor", data=posted(hidden(form.text), kind="회의", title="확대간부회의"))
    (entry,) = api.call("GET", "/api/schedule", "mayor", params={
        "owner": "mayor", "from": f"{tomorrow()}T00:00:00+09:00", "to": f"{tomorrow()}T23:59:00+09:00"}).json()

    log_in(client, "mayor")
    page = client.get(f"/schedule/{entry['id']}")
    (link,) = lxml.html.fromstring(page.text).xpath("//a[text()='이 일정에서 지시하기']/@href")
    start = client.get(link)
    assert "일정에서: 확대간부회의" in " ".join(start.text.split())
    assert lxml.html.fromstring(start.text).xpath("//input[@name='title']/@value") == ["확대간부회의"]
    begun = client.post("/processes/directive/start", data={
        "csrf_token": hidden(start.text), "title": "버스정류장 온열의자 확대", "from_schedule": str(entry["id"])})
    assert begun.status_code == 200  # the mayor lands on the registration form, filled from the meeting
    register = lxml.html.fromstring(begun.text)
    assert register.xpath("//input[@name='source' and @checked]/@value") + register.xpath(
        "//select[@name='source']/option[@selected]/@value") == ["간부회의"]
    assert register.xpath("//input[@name='issued_on']/@value") == [tomorrow()]
    listed = api.call("GET", "/api/instances?process_key=directive", "mayor").json()["items"]
    case = api.call("GET", f"/api/instances/{listed[0]['id']}", "mayor").json()
    assert case["data"]["source_event"] == {"id": entry["id"], "title": "확대간부회의", "kind": "회의",
                                            "owner": "mayor", "day": tomorrow()}
    view = client.get(f"/instances/{case['id']}").text
    assert f'href="/schedule/{entry["id"]}"' in view
