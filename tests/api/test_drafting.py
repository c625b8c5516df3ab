"""전자결재 drafted on the web as the demo city hall's people do it: the 기안 page (the process's start
form), people and departments chosen from the organisation, and a returned document revised on its
prefilled form. Pages are posted as a browser without script posts them."""

from __future__ import annotations

from typing import Any

import lxml.html
from fastapi.testclient import TestClient
from sqlalchemy import update

from engine.db import Database
from engine.models import User
from tests.api.conftest import Api
from tests.api.test_pages import hidden, log_in

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
       b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82")
BODY = "시청 앞 보도를 정비합니다.\n\n1. 보도블록 교체\n2. 점자블록 보수"


def step(kind: str, *users: str) -> dict[str, Any]:
    return {"kind": kind, "people": [{"user": user} for user in users]}


def people_of(line: list[dict[str, Any]]) -> list[tuple[str, list[tuple[str, str, int]]]]:
    """A kept line as (kind, [(username, name, rank)]): what the organisation filled in."""
    return [(s["kind"], [(p["user"], p["name"], p["rank"]) for p in s["people"]]) for s in line]


def form_of(html: str, action: str, holding: str = "title") -> lxml.html.FormElement:
    """The form of the page that posts to ``action`` with the field ``holding``."""
    forms = [f for f in lxml.html.fromstring(html).forms if f.action == action and f.xpath(f".//*[@name='{holding}']")]
    assert len(forms) == 1, f"no single form posting {holding} to {action}"
    return forms[0]


def chosen(form: lxml.html.FormElement, name: str) -> list[str]:
    """The values a select of the form has chosen, in the order it posts them."""
    return [str(v) for v in form.xpath(f".//select[@name='{name}']//option[@selected]/@value")]


def as_posted(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Name-value pairs as a browser posts them (a name may repeat), in their order."""
    posted: dict[str, list[str]] = {}
    for name, value in pairs:
        posted.setdefault(name, []).append(value)
    return posted


def draft_posted(token: str) -> list[tuple[str, str]]:
    """The 기안 page as roads.staff fills it in: a 3-step line, the middle one 병렬협조."""
    return [
        ("csrf_token", token), ("doc_type", "예산"), ("title", "보도 정비 계획"), ("body", BODY.replace("\n", "\r\n")),
        ("amount", "10,000,000"),
        ("line[0].__row__", ""), ("line[0].kind", "검토"), ("line[0].people", "roads.lead"),
        ("line[1].__row__", ""), ("line[1].kind", "협조"), ("line[1].people", "traffic.chief"),
        ("line[1].people", "welfare.chief"),
        ("line[2].__row__", ""), ("line[2].kind", "결재"), ("line[2].people", "roads.chief"),
        ("action", "submit"),
    ]


def test_a_drafter_drafts_on_the_draft_page_with_a_parallel_concurrence_and_lands_on_the_case(
    api: Api, client: TestClient,
) -> None:
    log_in(client, "roads.staff")
    listing = lxml.html.fromstring(client.get("/processes").text)
    assert listing.xpath("//a[@href='/processes/approval/start']/text()") == ["기안하기"]
    page = client.get("/processes/approval/start")
    assert page.status_code == 200
    form = form_of(page.text, "/processes/approval/start")
    # without script the line's people are a select of the organisation, department by department
    departments = form.xpath(".//select[@name='line[0].people']/optgroup/@label")
    assert {"도로과", "교통정책과", "안전교통국"} <= set(departments)
    assert "김팀장" in form.xpath(".//select[@name='line[0].people']//option/text()")
    assert "roads.lead" not in form.xpath(".//select[@name='line[0].people']//option/text()")
    assert form.xpath(".//button[@value='submit']/text()") == ["상신"]

    started = client.post("/processes/approval/start", data=as_posted(draft_posted(hidden(page.text))),
                          files=[("attachments", ("현장사진.png", PNG, "image/png"))], follow_redirects=False)
    assert started.status_code == 303, started.text
    case_url = started.headers["location"].split("?")[0]
    assert case_url.startswith("/instances/")
    assert "보도 정비 계획" in client.get(started.headers["location"]).text
    instance_id = case_url.removeprefix("/instances/")

    case = api.call("GET", f"/api/instances/{instance_id}", "roads.staff").json()
    assert case["status"] == "running"
    data = case["data"]
    assert (data["drafter"], data["doc_type"], data["amount"], data["body"]) == ("roads.staff", "예산", 10_000_000, BODY)
    assert people_of(data["line"]) == [
        ("검토", [("roads.lead", "김팀장", 2)]),
        ("협조", [("traffic.chief", "이과장", 3), ("welfare.chief", "박과장", 3)]),
        ("결재", [("roads.chief", "김과장", 3)]),
    ]
    files = api.call("GET", f"/api/instances/{instance_id}/attachments", "roads.staff").json()
    assert [(f["filename"], f["uploaded_by"]) for f in files] == [("현장사진.png", "roads.staff")]
    assert sorted(t["element_id"] for t in case["tasks"]) == ["review", "withdraw"]
    assert [t["assignee"] for t in case["tasks"] if t["element_id"] == "review"] == ["roads.lead"]


def test_a_draft_page_with_mistakes_names_them_keeps_what_was_entered_and_starts_nothing(
    api: Api, client: TestClient,
) -> None:
    log_in(client, "roads.staff")
    page = client.get("/processes/approval/start")
    posted = [(name, value) for name, value in draft_posted(hidden(page.text)) if name != "title"]
    posted.append(("line[0].people", "roads.chief"))  # two people on a 검토 step
    answer = client.post("/processes/approval/start", data=as_posted(posted))
    assert answer.status_code == 422
    shown = lxml.html.fromstring(answer.text)
    summary = [" ".join(li.text_content().split()) for li in shown.xpath("//div[@class='cf-errors']//li")]
    assert summary == ["제목: 필수 항목입니다.", "결재선 1 › 결재자: 1개까지만 입력할 수 있습니다."]
    form = form_of(answer.text, "/processes/approval/start")
    assert form.xpath(".//textarea[@name='body']/text()")[0].strip() == BODY.strip()
    assert chosen(form, "line[1].people") == ["traffic.chief", "welfare.chief"]
    assert chosen(form, "line[0].people") == ["roads.lead", "roads.chief"]
    assert api.call("GET", "/api/instances?process_key=approval", "roads.staff").json()["items"] == []


def test_after_a_return_the_revise_form_holds_the_last_line_and_resubmitting_keeps_every_concurrer(
    api: Api, client: TestClient,
) -> None:
    line = [step("검토", "roads.lead"), step("협조", "traffic.chief", "welfare.chief"), step("결재", "roads.chief")]
    document = api.start("roads.staff", "approval", {"title": "보도 정비 계획", "body": BODY, "doc_type": "일반",
                                                     "line": line})
    (review,) = [t for t in document["tasks"] if t["element_id"] == "review"]
    returned = api.call("POST", f"/api/tasks/{review['id']}/complete", "roads.lead",
                        json={"data": {"decision": "반려", "comment": "예산 근거를 보완하세요"}})
    assert returned.status_code == 200, returned.text
    (revise,) = [t for t in returned.json()["tasks"] if t["element_id"] == "revise_document"]

    log_in(client, "roads.staff")
    page = client.get(f"/tasks/{revise['id']}")
    assert page.status_code == 200
    form = form_of(page.text, f"/tasks/{revise['id']}")
    assert form.xpath(".//input[@name='title']/@value") == ["보도 정비 계획"]
    assert form.xpath(".//input[@name='line[1].kind' and @checked]/@value") == ["협조"]
    assert chosen(form, "line[0].people") == ["roads.lead"]
    assert chosen(form, "line[1].people") == ["traffic.chief", "welfare.chief"]
    assert chosen(form, "line[2].people") == ["roads.chief"]
    shown = form.xpath(".//select[@name='line[1].people']//option[@selected]/text()")
    assert shown == ["이과장", "박과장"]  # names, never usernames

    posted = [(name, value) for name, value in form.form_values() if name not in ("revise_action", "body")]
    posted += [("revise_action", "재상신"), ("body", BODY + "\n3. 예산 근거 첨부"), ("action", "submit")]
    resubmitted = client.post(f"/tasks/{revise['id']}", data=as_posted(posted), follow_redirects=False)
    assert resubmitted.status_code == 303, resubmitted.text

    data = api.call("GET", f"/api/instances/{document['id']}", "roads.staff").json()["data"]
    assert people_of(data["line"]) == [
        ("검토", [("roads.lead", "김팀장", 2)]),
        ("협조", [("traffic.chief", "이과장", 3), ("welfare.chief", "박과장", 3)]),
        ("결재", [("roads.chief", "김과장", 3)]),
    ]
    assert data["body"].endswith("3. 예산 근거 첨부")
    (review,) = [t for t in api.call("GET", "/api/tasks?scope=all", "roads.lead").json()["items"]
                 if t["instance_id"] == document["id"]]
    assert api.call("POST", f"/api/tasks/{review['id']}/complete", "roads.lead",
                    json={"data": {"decision": "승인"}}).status_code == 200
    concurrers = [t["assignee"] for t in api.call("GET", f"/api/instances/{document['id']}", "auditor").json()["tasks"]
                  if t["element_id"] == "concur"]
    assert sorted(concurrers) == ["traffic.chief", "welfare.chief"]


def test_people_and_departments_are_found_by_a_few_words_for_staff_only(api: Api, client: TestClient) -> None:
    found = api.call("GET", "/api/people?q=도로 팀장", "roads.staff").json()
    assert found == [{"value": "roads.lead", "name": "김팀장", "position": "팀장", "department": "도로과"}]
    by_position = api.call("GET", "/api/people?q=국장", "roads.staff").json()
    assert {p["name"] for p in by_position} >= {"안전교통국장", "복지환경국장"}
    departments = api.call("GET", "/api/departments?q=안전교통", "roads.staff").json()
    assert [(d["name"], d["parent"]) for d in departments] == [
        ("안전교통국", None), ("교통정책과", "안전교통국"), ("도로과", "안전교통국")]
    assert api.call("GET", "/api/people?q=%_", "roads.staff").json() == []  # wildcards are searched as text
    assert client.get("/api/people").status_code == 401
    assert api.call("GET", "/api/people", "auditor").status_code == 403


def test_a_department_the_organisation_does_not_have_is_refused(api: Api) -> None:
    pledge = api.start("planning.staff", "pledge", {"title": "공공자전거 확대"})
    (task,) = pledge["tasks"]
    details = {"title": "공공자전거 확대", "category": "교통", "bureau": "안전교통국", "department": "교통과",
               "target_year": 2028, "budget": 100_000_000, "milestones": [{"title": "1단계", "year": 2027}]}
    refused = api.call("POST", f"/api/tasks/{task['id']}/complete", "planning.staff", json={"data": details})
    assert refused.status_code == 422
    assert refused.json()["errors"] == [{"field": "department", "message": "조직도에 없는 부서입니다."}]
    done = api.call("POST", f"/api/tasks/{task['id']}/complete", "planning.staff",
                    json={"data": {**details, "department": "교통정책과"}})
    assert done.status_code == 200, done.text
    assert done.json()["data"]["department"] == "교통정책과"


def test_someone_who_no_longer_works_here_cannot_be_put_on_a_line(api: Api, database: Database) -> None:
    with database.unit_of_work() as session:
        session.execute(update(User).where(User.username == "traffic.chief").values(active=False))
    line = [step("협조", "traffic.chief", "welfare.chief"), step("결재", "roads.chief")]
    answer = api.call("POST", "/api/instances", "roads.staff", json={"process_key": "approval", "data": {
        "title": "보도 정비 계획", "body": BODY, "doc_type": "일반", "line": line}})
    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"field": "line[0].people", "message": "조직도에 없는 사람입니다."}]
    assert [p["value"] for p in api.call("GET", "/api/people?q=교통정책과", "roads.staff").json()] == [
        "traffic.lead", "traffic.staff"]


def test_a_task_page_without_script_lists_the_organisations_departments_to_choose_from(
    api: Api, client: TestClient
) -> None:
    pledge = api.start("planning.staff", "pledge", {"title": "공공자전거 확대"})
    (task,) = pledge["tasks"]
    log_in(client, "planning.staff")
    page = client.get(f"/tasks/{task['id']}")
    assert page.status_code == 200
    offered = lxml.html.fromstring(page.text).xpath("//select[@name='department']//option/text()")
    assert "교통정책과" in offered and "도로과" in offered
    assert "교통과" not in offered


def test_withdrawing_is_a_button_on_the_drafters_document_not_a_to_do_in_their_inbox(
    api: Api, client: TestClient,
) -> None:
    log_in(client, "roads.staff")
    page = client.get("/processes/approval/start")
    started = client.post("/processes/approval/start", data=as_posted(draft_posted(hidden(page.text))),
                          follow_redirects=False)
    assert started.status_code == 303, started.text
    case_url = started.headers["location"].split("?")[0]
    withdraw = [t for t in api.call("GET", f"/api/instances/{case_url.rsplit('/', 1)[1]}", "roads.staff").json()["tasks"]
                if t["element_id"] == "withdraw"]
    assert [t["standing"] for t in withdraw] == [True]

    inbox = client.get("/")
    assert "회수" not in inbox.text and "보도 정비 계획" not in " ".join(
        e.text_content() for e in lxml.html.fromstring(inbox.text).xpath('//li[contains(@class, "cf-task")]'))
    assert api.call("GET", "/api/tasks", "roads.staff").json()["items"] == []
    case = lxml.html.fromstring(client.get(case_url).text)
    assert case.xpath("//p[contains(@class, 'cf-options')]/a/text()") == ["회수"]
    assert case.xpath("//p[contains(@class, 'cf-options')]/a/@href") == [f"/tasks/{withdraw[0]['id']}"]
    waiting = " ".join(" ".join(li.text_content().split()) for li in case.xpath("//section[@aria-labelledby='open']//li"))
    assert "검토" in waiting and "회수" not in waiting
    assert "이 문서를 회수합니다" in client.get(f"/tasks/{withdraw[0]['id']}").text

    log_in(client, "roads.lead")  # the reviewer sees the document waiting for them, and no 회수
    assert client.get(case_url).text.count("cf-options") == 0
    assert [t["element_id"] for t in api.call("GET", "/api/tasks", "roads.lead").json()["items"]] == ["review"]
