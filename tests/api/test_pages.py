"""The web pages as a person uses them: log in, open a task, make a mistake, fix it, see the history."""

from __future__ import annotations

import lxml.html
from fastapi.testclient import TestClient

from api.web.i18n import LANGUAGE_COOKIE
from tests.api.conftest import Api

SUGGESTION = {"title": "버스정류장 그늘막", "supporters": 40}


def hidden(html: str, name: str = "csrf_token") -> str:
    values = lxml.html.fromstring(html).xpath(f"//input[@name='{name}']/@value")
    assert values, f"no hidden {name} on the page"
    return str(values[0])


def log_in(client: TestClient, username: str, password: str = "cityflow-demo", next_page: str = "/") -> object:
    page = client.get(f"/login?next={next_page}")
    assert page.status_code == 200
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": hidden(page.text), "next": next_page},
        follow_redirects=False,
    )


def test_a_reviewer_completes_a_task_on_the_web_after_fixing_a_mistake(api: Api, client: TestClient) -> None:
    instance = api.start("roads.staff", "suggestion", SUGGESTION)
    task_id = api.only_task(instance)["id"]

    assert client.get(f"/tasks/{task_id}", follow_redirects=False).headers["location"] == f"/login?next=/tasks/{task_id}"
    logged_in = log_in(client, "planning.staff", next_page=f"/tasks/{task_id}")
    assert logged_in.status_code == 303
    assert logged_in.headers["location"] == f"/tasks/{task_id}"
    cookie = logged_in.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie

    inbox = client.get("/")
    assert "제안 검토" in inbox.text
    page = client.get(f"/tasks/{task_id}")
    assert page.status_code == 200
    assert "버스정류장 그늘막" in page.text
    token = hidden(page.text)

    mistake = client.post(f"/tasks/{task_id}", data={
        "csrf_token": token, "accepted": "true", "category": "", "review_comment": "현장 확인 후 채택",
    })
    assert mistake.status_code == 422
    document = lxml.html.fromstring(mistake.text)
    assert document.xpath("//*[@id='f-category']/@aria-invalid") == ["true"]
    assert document.xpath("//textarea[@name='review_comment']/text()")[0].strip() == "현장 확인 후 채택"
    assert document.xpath("//input[@name='accepted']/@checked")

    done = client.post(f"/tasks/{task_id}", data={
        "csrf_token": token, "accepted": "true", "category": "도로", "review_comment": "현장 확인 후 채택",
    }, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"].startswith(f"/instances/{instance['id']}")
    story = client.get(done.headers["location"])
    history = lxml.html.fromstring(story.text).xpath("//ol[@class='cf-history']//li")
    assert any("정책기획 주무관" in item.text_content() and "제안 검토" in item.text_content() for item in history)
    assert not any("planning.staff" in item.text_content() for item in history)  # a name, never a login name
    assert "제안: 김주무관" in story.text  # the process's own word for who started it (labels.json)
    assert "처리 결과 등록" in story.text  # the next step, now waiting
    assert "<svg" in story.text


def test_a_post_without_the_csrf_token_is_refused(api: Api, client: TestClient) -> None:
    task_id = api.only_task(api.start("roads.staff", "suggestion", SUGGESTION))["id"]
    log_in(client, "planning.staff")
    refused = client.post(f"/tasks/{task_id}", data={"accepted": "true", "category": "도로"})
    assert refused.status_code == 403
    forged = client.post(f"/tasks/{task_id}", data={"csrf_token": "forged", "accepted": "true", "category": "도로"})
    assert forged.status_code == 403
    assert client.get(f"/api/tasks/{task_id}").json()["id"] == task_id  # still open
    api_post = client.post(f"/api/tasks/{task_id}/claim")
    assert api_post.status_code == 403  # the cookie alone does not let a script post to the API


def test_a_wrong_password_on_the_login_page_is_shown_and_recorded(api: Api, client: TestClient) -> None:
    answer = log_in(client, "roads.staff", password="wrong")
    assert answer.status_code == 401
    assert "아이디 또는 비밀번호가 맞지 않습니다" in answer.text
    assert client.get("/", follow_redirects=False).status_code == 303
    trail = api.call("GET", "/api/audit?action=login.refused", "auditor").json()["items"]
    assert [r["actor"] for r in trail] == ["roads.staff"]


def test_pages_speak_english_when_asked(api: Api, client: TestClient) -> None:
    log_in(client, "roads.staff")
    korean = client.get("/")
    assert "나에게 온 업무" in korean.text
    english = client.get("/?lang=en")
    assert "My tasks" in english.text
    assert client.get("/").text.count("My tasks") == 1  # the choice sticks
    client.cookies.delete(LANGUAGE_COOKIE)  # no choice kept: the person's own setting (Korean) decides
    assert "나에게 온 업무" in client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"}).text
    client.post("/logout", data={"csrf_token": hidden(korean.text)})
    assert "Log in" in client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).text  # nobody yet


def test_a_draft_saved_on_the_web_comes_back(api: Api, client: TestClient) -> None:
    task_id = api.only_task(api.start("roads.staff", "suggestion", SUGGESTION))["id"]
    log_in(client, "planning.staff")
    token = hidden(client.get(f"/tasks/{task_id}").text)
    saved = client.post(f"/tasks/{task_id}", data={"csrf_token": token, "category": "환경", "action": "draft"},
                        follow_redirects=False)
    assert saved.status_code == 303
    page = lxml.html.fromstring(client.get(f"/tasks/{task_id}").text)
    assert page.xpath("//select[@name='category']/option[@selected]/@value") == ["환경"]


def test_a_logged_out_session_no_longer_works(api: Api, client: TestClient) -> None:
    log_in(client, "roads.staff")
    token = hidden(client.get("/").text)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


def test_the_registers_and_the_dashboard_render_for_staff(api: Api, client: TestClient) -> None:
    log_in(client, "planning.staff")
    for path, heading in (("/directives", "지시사항"), ("/pledges", "시민약속사업"), ("/dashboard", "한눈에 보기"),
                          ("/notifications", "알림"), ("/processes", "업무 절차")):
        page = client.get(path)
        assert page.status_code == 200, path
        assert lxml.html.fromstring(page.text).xpath("string(//h1)") == heading
    registry = api.call("GET", "/api/directives", "planning.staff").json()
    assert registry["overall"] == {"total": 0, "closed": 0, "rate": 0.0}
    assert api.call("GET", "/api/pledges", "planning.staff").json()["total"] == 0
