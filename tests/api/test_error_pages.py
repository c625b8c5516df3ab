"""What a person sees when a page cannot be shown: a page in their language with a way back, never JSON;
the API keeps answering in JSON; the API's own documentation works on an intranet without the internet."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import lxml.html
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Api, serving
from tests.api.test_browser import CHROMIUM, CHROMIUM_ARGS
from tests.api.test_pages import SUGGESTION, log_in

REVIEW = {"accepted": True, "category": "도로", "review_comment": "현장 확인 후 채택"}


def shown(answer: Any) -> tuple[str, str, list[str]]:
    """The heading, the words in the main part and where its links go, as a person sees them."""
    assert answer.headers["content-type"].startswith("text/html")
    main = lxml.html.fromstring(answer.text).xpath("//main")[0]
    return main.xpath("string(.//h1)").strip(), " ".join(main.text_content().split()), main.xpath(".//a/@href")


def test_an_unknown_page_is_a_page_in_korean_with_a_way_home(client: TestClient) -> None:
    answer = client.get("/nothing-here")
    assert answer.status_code == 404
    heading, words, links = shown(answer)
    assert heading == "페이지를 찾을 수 없습니다"
    assert "주소" in words
    assert "/" in links
    assert "내 업무로 돌아가기" in words
    assert '"error"' not in answer.text
    assert "NotFound" not in answer.text
    assert "Not Found" not in answer.text


def test_an_unknown_page_speaks_english_when_asked_and_remembers_it(client: TestClient) -> None:
    heading, words, links = shown(client.get("/nothing-here?lang=en"))
    assert heading == "Page not found"
    assert "Back to my work" in words
    assert "/" in links
    again = client.get("/somewhere/else")  # the language cookie now decides
    assert again.status_code == 404
    assert shown(again)[0] == "Page not found"
    assert lxml.html.fromstring(again.text).xpath("/html/@lang") == ["en"]


def test_an_unknown_api_path_still_answers_in_json(client: TestClient) -> None:
    answer = client.get("/api/nothing-here")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"error": "NotFound", "detail": "Not Found"}
    assert client.get("/api").json() == {"error": "NotFound", "detail": "Not Found"}


def test_a_finished_task_page_says_it_is_done_and_leads_to_its_case(api: Api, client: TestClient) -> None:
    instance = api.start("roads.staff", "suggestion", SUGGESTION)
    task_id = api.only_task(instance)["id"]
    done = api.call("POST", f"/api/tasks/{task_id}/complete", "planning.staff", json={"data": REVIEW})
    assert done.status_code == 200, done.text
    log_in(client, "planning.staff")

    answer = client.get(f"/tasks/{task_id}")
    assert answer.status_code == 409
    heading, words, links = shown(answer)
    assert heading == "이미 처리된 업무입니다"
    assert "처리 현황 보기" in words
    assert f"/instances/{instance['id']}" in links
    assert "/" in links
    for never in (task_id, "planning.staff", "None", "TaskNotReady", "&#"):
        assert never not in words
    heading, words, links = shown(client.get(f"/tasks/{task_id}?lang=en"))
    assert heading == "This task is already done"
    assert "See the case" in words
    assert f"/instances/{instance['id']}" in links

    still_json = api.call("GET", f"/api/tasks/{task_id}", "planning.staff")
    assert still_json.status_code == 409
    assert still_json.json()["error"] == "TaskNotReady"


def test_a_task_that_never_was_is_a_page_not_found(api: Api, client: TestClient) -> None:
    log_in(client, "planning.staff")
    answer = client.get("/tasks/no-such-task")
    assert answer.status_code == 404
    heading, words, _ = shown(answer)
    assert heading == "페이지를 찾을 수 없습니다"
    assert "no-such-task" not in words


@pytest.fixture
def chromium() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed here (apt-get install chromium); CI runs this test")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


def test_the_api_documentation_works_without_the_internet(chromium: Any, app: Any, client: TestClient) -> None:
    assert client.get("/api/openapi.json").json()["openapi"].startswith("3.1")  # the document itself is as it was
    with serving(app) as url:
        offline = chromium.new_context(viewport={"width": 1366, "height": 900})
        elsewhere: list[str] = []

        def only_this_server(route: Any) -> None:
            if route.request.url.startswith(url):
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.abort()

        offline.route("**/*", only_this_server)
        page = offline.new_page()
        answer = page.goto(f"{url}/api/docs")
        assert answer.status == 200
        assert answer.headers["x-frame-options"] == "DENY"
        page.get_by_text("/api/tasks", exact=True).first.wait_for(timeout=20000)
        assert page.get_by_text("/api/instances/{instance_id}", exact=True).count() >= 1
        assert elsewhere == []
        offline.close()
