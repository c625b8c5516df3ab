"""Pages in people's words: process, step, lane and status names in the page's language (the process's
labels.json), who started a case in the process's own word with their name, submit buttons that say what
they do, and a refused file explained in the page's language."""

from __future__ import annotations

from typing import Any

import lxml.html
from fastapi.testclient import TestClient

from tests.api.conftest import Api
from tests.api.test_pages import hidden, log_in

REGISTRATION = {"title": "어두운 골목 가로등 정비", "content": "주택가 골목의 꺼진 가로등을 모두 고칠 것", "issuer": "mayor",
                "source": "간부회의", "issued_on": "2026-12-07"}


def directive_to_classify(api: Api) -> dict[str, Any]:
    """The mayor gives a directive; it waits for the planning office to classify it."""
    instance = api.start("mayor", "directive", {"title": REGISTRATION["title"]})
    register = api.only_task(instance)
    assert api.call("POST", f"/api/tasks/{register['id']}/complete", "mayor",
                    json={"data": REGISTRATION}).status_code == 200
    return instance


def card_of(page: str, title: str) -> str:
    """The text of the inbox card of the case titled ``title``."""
    cards = [c.text_content() for c in lxml.html.fromstring(page).xpath("//li[contains(@class, 'cf-task')]")
             if title in c.text_content()]
    assert len(cards) == 1, cards
    return " ".join(cards[0].split())


def test_the_inbox_names_step_lane_process_and_starter_in_the_page_language(api: Api, client: TestClient) -> None:
    directive_to_classify(api)
    log_in(client, "planning.staff")

    korean = card_of(client.get("/").text, REGISTRATION["title"])
    assert "지시사항 처리" in korean and "지시 분류·배정" in korean and "기획조정실" in korean
    assert "지시: 시장" in korean  # the process's word for starting it, and the mayor named once
    assert "시장 · 시장" not in korean and "mayor" not in korean and "기안" not in korean

    english = card_of(client.get("/?lang=en").text, REGISTRATION["title"])
    assert "Directives" in english and "Classify and assign directive" in english
    assert "Planning and Coordination Office" in english
    assert "Directed by: 시장" in english
    for korean_name in ("지시사항 처리", "지시 분류·배정", "기획조정실", "지시:"):
        assert korean_name not in english, korean_name
    process_filter = lxml.html.fromstring(client.get("/?lang=en").text).xpath("//select[@name='process']/option/text()")
    assert "Directives" in process_filter and "Electronic approval" in process_filter


def test_the_dashboard_and_registers_show_statuses_in_the_page_language(api: Api, client: TestClient) -> None:
    directive_to_classify(api)
    log_in(client, "planning.staff")

    korean = lxml.html.fromstring(client.get("/dashboard").text)
    statuses = [" ".join(li.text_content().split()) for li in korean.xpath("//section[@id='directive-statuses']/ul/li")]
    assert statuses[0].startswith("추진중")

    english_page = client.get("/dashboard?lang=en").text
    english = lxml.html.fromstring(english_page)
    statuses = [" ".join(li.text_content().split()) for li in english.xpath("//section[@id='directive-statuses']/ul/li")]
    assert [s.rsplit(" ", 1)[0] for s in statuses] == [
        "In progress", "Completed", "Ongoing management", "Long-term review", "Not feasible"]
    assert not any(word in english_page for word in ("추진중", "계속관리", "장기검토", "추진불가"))

    register = lxml.html.fromstring(client.get("/directives?lang=en").text).text_content()  # what a reader sees
    assert "In progress" in register and "Long-term review" in register and "추진중" not in register
    assert "정상추진" in lxml.html.fromstring(client.get("/pledges?lang=ko").text).text_content()
    pledges = lxml.html.fromstring(client.get("/pledges?lang=en").text).text_content()
    assert "On track" in pledges and "정상추진" not in pledges


def test_the_dashboard_names_the_step_an_approval_waits_at_and_whom_it_waits_for(api: Api, client: TestClient) -> None:
    line = [{"kind": "검토", "people": [{"user": "roads.lead"}]}, {"kind": "결재", "people": [{"user": "roads.chief"}]}]
    api.start("roads.staff", "approval", {"title": "보도 정비 계획", "body": "시청 앞 보도를 정비합니다.",
                                          "doc_type": "일반", "amount": 0, "line": line})
    log_in(client, "roads.staff")

    def waiting(page: str) -> str:
        section = lxml.html.fromstring(page).xpath("//section[@id='approvals']//li[contains(@class, 'cf-card')]")
        assert len(section) == 1
        return " ".join(section[0].text_content().split())

    korean = waiting(client.get("/dashboard").text)
    assert "보도 정비 계획" in korean and "검토" in korean and "김팀장" in korean
    english = waiting(client.get("/dashboard?lang=en").text)
    assert "Review · 김팀장 ·" in english  # the name says the position already: not repeated
    assert "검토" not in english and "roads.lead" not in english


def test_a_task_page_submit_button_says_what_it_does(api: Api, client: TestClient) -> None:
    instance = directive_to_classify(api)
    (task,) = [t for t in api.call("GET", "/api/tasks?scope=all", "planning.staff").json()["items"]
               if t["instance_id"] == instance["id"]]
    log_in(client, "planning.staff")

    def submit_label(page: str) -> list[str]:
        buttons = lxml.html.fromstring(page).xpath("//form[contains(@action, '/tasks/')]//button[@type='submit']")
        return [" ".join(b.text_content().split()) for b in buttons if b.get("value") not in ("draft", "claim",
                                                                                              "unclaim", "add_row")]

    assert "배정" in submit_label(client.get(f"/tasks/{task['id']}").text)
    assert "완료" not in submit_label(client.get(f"/tasks/{task['id']}").text)
    assert "Assign" in submit_label(client.get(f"/tasks/{task['id']}?lang=en").text)


def test_a_refused_file_is_explained_in_the_page_language(api: Api, client: TestClient) -> None:
    instance = api.start("welfare.staff", "field_report", {})
    task = api.only_task(instance)
    log_in(client, "welfare.staff")
    page = client.get(f"/tasks/{task['id']}")
    token = hidden(page.text)

    # A PDF sent as a photo: the form says why, in Korean.
    answer = client.post(f"/tasks/{task['id']}", data={
        "csrf_token": token, "category": "도로파손", "description": "보도블록이 깨졌습니다", "urgency": "보통",
        "location.address": "수원시 팔달구 효원로 241",
    }, files={"photos_before": ("IMG_0001.png", b"%PDF-1.4 not a photo", "image/png")})
    assert answer.status_code == 422
    assert "파일 형식은 image/png(으)로 되어 있지만 내용은 application/pdf입니다." in answer.text
    assert "the file says it is" not in answer.text

    # An empty file attached on the case page: an error page in Korean, and in English when asked.
    empty = client.post(f"/instances/{instance['id']}/attachments", data={"csrf_token": token},
                        files={"file": ("memo.txt", b"", "text/plain")})
    assert empty.status_code == 422
    assert "빈 파일입니다." in empty.text and "the file is empty" not in empty.text
    english = client.post(f"/instances/{instance['id']}/attachments?lang=en", data={"csrf_token": token},
                          files={"file": ("memo.txt", b"", "text/plain")})
    assert "The file is empty." in english.text

    # The API keeps its English detail.
    refused = api.call("POST", f"/api/instances/{instance['id']}/attachments", "welfare.staff",
                       files={"file": ("memo.txt", b"", "text/plain")})
    assert refused.status_code == 422 and refused.json()["detail"] == "the file is empty"


def test_the_notifications_page_says_a_new_task_in_the_page_language_and_leads_to_it(
    api: Api, client: TestClient
) -> None:
    instance = directive_to_classify(api)
    (task,) = [t for t in api.call("GET", "/api/tasks?scope=all", "planning.staff").json()["items"]
               if t["instance_id"] == instance["id"]]
    log_in(client, "planning.staff")

    def notice(lang: str) -> tuple[str, str | None]:
        page = lxml.html.fromstring(client.get(f"/notifications?lang={lang}").text)
        (card,) = [c for c in page.xpath("//li[contains(@class, 'cf-card')]") if REGISTRATION["title"] in c.text_content()]
        links = card.xpath(".//a/@href")
        return " ".join(card.text_content().split()), links[0] if links else None

    korean, link = notice("ko")
    assert korean.startswith("새 할 일: 지시 분류·배정 지시사항 처리 ·") and link == f"/tasks/{task['id']}"
    english, _ = notice("en")
    assert english.startswith("New task: Classify and assign directive Directives ·")
    assert "지시 분류·배정" not in english and "지시사항 처리" not in english

    classified = api.call("POST", f"/api/tasks/{task['id']}/complete", "planning.lead", json={"data": {
        "term": "단기", "lead_department": "도로과", "deadline": "2026-12-31T18:00:00+09:00"}})
    assert classified.status_code == 200, classified.text
    _, link = notice("ko")
    assert link == f"/instances/{instance['id']}"  # the task is done: the notice leads to its case
