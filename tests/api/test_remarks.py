"""말씀: the 비서실 writes down what the mayor said, everyone who works here finds it by words, topic and
day, and the directives it produced link back to it."""

from __future__ import annotations

from typing import Any

import lxml.html
from fastapi.testclient import TestClient

from tests.api.conftest import Api
from tests.api.test_pages import hidden, log_in


def remark(**changes: Any) -> dict[str, Any]:
    return {"speaker": "mayor", "said_at": "2026-11-23T09:40:00+09:00", "kind": "회의", "occasion": "확대간부회의",
            "text": "겨울철 버스정류장에 온열의자를 늘려 주세요.\n어르신 이용이 많은 곳부터 하십시오.",
            "tags": ["교통", "복지"], **changes}


def test_the_secretary_keeps_a_remark_and_everyone_finds_it_by_words_topic_and_day(api: Api) -> None:
    kept = api.call("POST", "/api/remarks", "mayor.secretary", json=remark())
    assert kept.status_code == 201, kept.text
    api.call("POST", "/api/remarks", "mayor", json=remark(occasion="신년 기자회견", kind="연설", tags=["경제"],
                                                          text="골목상권을 살리겠습니다.",
                                                          said_at="2026-01-02T10:00:00+09:00"))
    assert api.call("POST", "/api/remarks", "roads.staff", json=remark()).status_code == 403

    def found(**params: str) -> list[str]:
        return [r["occasion"] for r in api.call("GET", "/api/remarks", "welfare.staff", params=params).json()]

    assert found() == ["확대간부회의", "신년 기자회견"]  # newest first
    assert found(q="온열의자") == ["확대간부회의"]
    assert found(tag="경제") == ["신년 기자회견"]
    assert found(since="2026-11-01T00:00:00+09:00") == ["확대간부회의"]
    wrong = api.call("POST", "/api/remarks", "mayor.secretary", json=remark(occasion=" ", text="", kind="잡담"))
    assert wrong.status_code == 422
    assert sorted(e["field"] for e in wrong.json()["errors"]) == ["kind", "occasion", "text"]
    trail = api.call("GET", "/api/audit", "auditor", params={"chain": "system", "limit": 200}).json()["items"]
    assert sorted((r["action"], r["actor"]) for r in trail if r["action"].startswith("remark.")) == [
        ("remark.added", "mayor"), ("remark.added", "mayor.secretary")]


def test_a_directive_given_from_a_remark_is_listed_with_it(client: TestClient, api: Api) -> None:
    kept = api.call("POST", "/api/remarks", "mayor.secretary", json=remark()).json()
    log_in(client, "mayor")
    page = client.get(f"/remarks/{kept['id']}")
    shown = lxml.html.fromstring(page.text)
    assert " ".join(shown.xpath("string(//blockquote)").split()).startswith("겨울철 버스정류장에 온열의자를")
    (link,) = shown.xpath("//a[text()='이 말씀으로 지시하기']/@href")
    start = client.get(link)
    assert "말씀에서: 확대간부회의 (2026-11-23)" in " ".join(start.text.split())
    begun = client.post("/processes/directive/start", data={
        "csrf_token": hidden(start.text), "title": "버스정류장 온열의자 확대", "from_remark": str(kept["id"])})
    register = lxml.html.fromstring(begun.text)
    assert register.xpath("//input[@name='issued_on']/@value") == ["2026-11-23"]
    answer = api.call("GET", f"/api/remarks/{kept['id']}", "roads.staff").json()
    (directive,) = answer["directives"]
    assert api.call("GET", f"/api/instances/{directive}", "mayor").json()["data"]["source"] == "말씀"
    listed = lxml.html.fromstring(client.get(f"/remarks/{kept['id']}").text)
    assert listed.xpath("//section[@aria-labelledby='produced']//strong/text()") == ["버스정류장 온열의자 확대"]


def test_the_remarks_page_searches_and_the_secretary_writes_one_down_from_the_schedule(
    client: TestClient, api: Api,
) -> None:
    entry = api.call("POST", "/api/schedule", "mayor.secretary", json={
        "owner": "mayor", "kind": "현장방문", "title": "수원천 정비 현장", "starts_at": "2026-12-02T14:00:00+09:00",
        "ends_at": "2026-12-02T15:00:00+09:00"}).json()
    log_in(client, "mayor.secretary")
    form = client.get(f"/remarks/new?from_schedule={entry['id']}")
    assert lxml.html.fromstring(form.text).xpath("//input[@name='occasion']/@value") == ["수원천 정비 현장"]
    action = lxml.html.fromstring(form.text).xpath("//form[@class='cf-form']/@action")[0]
    kept = client.post(action, data={"csrf_token": hidden(form.text), "said_at": "2026-12-02T14:20", "kind": "현장",
                                     "occasion": "수원천 정비 현장", "text": "산책로 조명을 더 밝게 해 주세요.",
                                     "tags": "#환경 #안전"})
    assert kept.status_code == 200 and "말씀을 기록했습니다." in kept.text
    assert "수원천 정비 현장" in " ".join(lxml.html.fromstring(kept.text).xpath("string(//p[contains(., '말씀한 자리')])").split())
    listing = client.get("/remarks", params={"tag": "환경"})
    cards = [" ".join(li.text_content().split()) for li in lxml.html.fromstring(listing.text).xpath("//ul[@class='cf-cards']/li")]
    assert len(cards) == 1 and cards[0].startswith("수원천 정비 현장 2026-12-02 14:20 · 현장 · 시장")
    assert "#환경 #안전" in cards[0]
    at_entry = client.get(f"/schedule/{entry['id']}").text
    assert "산책로 조명을 더 밝게 해 주세요." in at_entry
