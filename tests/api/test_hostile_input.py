"""Input no person types is refused by name before it reaches a route or the database, on both databases:
NUL bytes, text that is not Unicode, NaN and Infinity, JSON nested without end, bodies beyond their limit.
Nothing of it is stored, and the server answers the next request as usual."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.context import EngineContext
from engine.db import Database
from engine.demo import DEMO_PASSWORD
from engine.script_pool import pool
from tests.api.conftest import Api, seed, serving
from tests.api.test_pages import hidden
from tests.engine.helpers import bpmn, chain, process, script_task, user_task, write_folder
from tests.images import png

SUGGESTION = {"process_key": "suggestion", "data": {"title": "가로수 정비"}}


def refused(answer: Any, code: str, status: int = 422) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == code


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/instances/%00"),
    ("GET", "/api/instances?business_key=a%00b"),
    ("GET", "/api/tasks?cursor=%00"),
    ("GET", "/api/tasks?q=%ED%A0%80"),  # a lone surrogate, as UTF-8 bytes
    ("GET", "/api/processes/sugg%00estion/diagram.svg"),
])
def test_a_nul_or_broken_text_in_an_address_is_refused_by_name(api: Api, method: str, path: str) -> None:
    answer = api.call(method, path, "roads.staff")
    code = "INPUT_NOT_TEXT" if "%ED" in path else "INPUT_NUL_BYTE"
    refused(answer, code)


@pytest.mark.parametrize(("body", "code"), [
    ('{"process_key": "sugges\\u0000tion", "data": {}}', "INPUT_NUL_BYTE"),
    ('{"process_key": "suggestion", "data": {"title": "\\ud800"}}', "INPUT_NOT_TEXT"),
    ('{"process_key": "suggestion", "data": {"\\ud83d": 1}}', "INPUT_NOT_TEXT"),
    ('{"process_key": "suggestion", "data": {"amount": NaN}}', "INPUT_NOT_A_NUMBER"),
    ('{"process_key": "suggestion", "data": {"amount": -Infinity}}', "INPUT_NOT_A_NUMBER"),
    ('{"process_key": "suggestion", "data": {"amount": 1e400}}', "INPUT_NOT_A_NUMBER"),
    ('{"process_key": "suggestion", "data": ' + "[" * 100 + "]" * 100 + "}", "INPUT_TOO_DEEP"),
    ('{"process_key": "suggestion", "data": ' + "[" * 100_000 + "]" * 100_000 + "}", "INPUT_TOO_DEEP"),
])
def test_json_that_no_person_writes_starts_nothing(api: Api, body: str, code: str) -> None:
    headers = {**api.headers("roads.staff"), "content-type": "application/json"}
    refused(api.client.post("/api/instances", content=body.encode("utf-8", "surrogatepass"), headers=headers), code)
    assert api.call("GET", "/api/instances", "roads.staff").json()["items"] == []
    assert api.call("POST", "/api/instances", "roads.staff", json=SUGGESTION).status_code == 201  # still serving


def test_the_login_refuses_a_nul_before_looking_anyone_up(api: Api) -> None:
    refused(api.client.post("/api/auth/token", json={"username": "mayor\u0000", "password": "x"}), "INPUT_NUL_BYTE")


def test_a_body_beyond_its_limit_is_413_whether_its_length_is_told_or_not(api: Api) -> None:
    big = {"process_key": "suggestion", "data": {"text": "가" * 1_000_000}}  # 3 MB of UTF-8
    refused(api.call("POST", "/api/instances", "roads.staff", json=big), "BODY_TOO_LARGE", 413)

    def pieces() -> Iterator[bytes]:
        yield b'{"process_key": "suggestion", "data": {"text": "'
        for _ in range(30):
            yield b"x" * 100_000
        yield b'"}}'

    headers = {**api.headers("roads.staff"), "content-type": "application/json"}
    refused(api.client.post("/api/instances", content=pieces(), headers=headers), "BODY_TOO_LARGE", 413)
    assert api.call("GET", "/api/instances", "roads.staff").json()["items"] == []


def test_a_form_field_of_a_file_upload_is_checked_and_the_file_itself_is_left_to_the_attachments(api: Api) -> None:
    case = api.call("POST", "/api/instances", "roads.staff", json=SUGGESTION).json()
    answer = api.client.post(f"/api/instances/{case['id']}/attachments", headers=api.headers("roads.staff"),
                             files={"file": ("note.txt", b"binary \x00 is fine in a file", "text/plain")},
                             data={"task_id": "abc\x00"})
    refused(answer, "INPUT_NUL_BYTE")
    fine = api.client.post(f"/api/instances/{case['id']}/attachments", headers=api.headers("roads.staff"),
                           files={"file": ("note.txt", "보고서 초안".encode(), "text/plain")})
    assert fine.status_code == 201, fine.text


def test_a_page_form_with_a_nul_gets_an_error_page_in_korean(client: TestClient) -> None:
    page = client.get("/login")
    answer = client.post("/login", data={"username": "mayor\x00", "password": "x", "csrf_token": hidden(page.text)})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert "보낸 내용에 NUL 문자가 있습니다." in answer.text and "Traceback" not in answer.text


def test_a_page_posted_from_another_site_is_refused_and_one_from_this_site_goes_through(
    client: TestClient, api: Api,
) -> None:
    page = client.get("/login")
    form = {"username": "roads.staff", "password": "cityflow-demo", "csrf_token": hidden(page.text)}
    foreign = client.post("/login", data=form, headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert foreign.status_code == 403 and "다른 사이트" in foreign.text
    sandboxed = client.post("/login", data=form, headers={"Origin": "null"}, follow_redirects=False)
    assert sandboxed.status_code == 403
    from_a_link = client.post("/login", data=form, headers={"Referer": "https://evil.example/page"},
                              follow_redirects=False)
    assert from_a_link.status_code == 403
    ours = client.post("/login", data=form, headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert ours.status_code == 303
    # a bearer token is no ambient credential: an API client may send any Origin
    started = api.client.post("/api/instances", json=SUGGESTION,
                              headers={**api.headers("roads.staff"), "Origin": "https://elsewhere.example"})
    assert started.status_code == 201
    refused(api.client.post("/api/auth/token", json={"username": "roads.staff", "password": "cityflow-demo"},
                            headers={"Origin": "https://evil.example"}), "CROSS_ORIGIN_REFUSED", 403)


def test_every_page_runs_only_this_sites_script_files(client: TestClient, api: Api) -> None:
    case = api.start("mayor", "directive", {"title": "가로등 정비"})
    from tests.api.test_pages import log_in

    log_in(client, "mayor")
    for path in ("/", f"/tasks/{case['tasks'][0]['id']}", f"/instances/{case['id']}", "/processes/approval/start",
                 "/schedule", "/remarks"):
        page = client.get(path)
        assert page.status_code == 200, path
        policy = page.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "default-src 'self'" in policy, path
        scripts = page.text.split("<script")[1:]
        assert all(tag.lstrip().startswith("src=") for tag in scripts), f"an inline script on {path}"
        assert " onclick=" not in page.text and " onload=" not in page.text
    assert "closest(\"form\")" in client.get("/static/form.js").text
    docs = client.get("/api/docs")
    assert "script-src 'self' 'sha256-" in docs.headers["content-security-policy"]


def test_a_browsers_upload_with_a_mixed_case_boundary_goes_through(api: Api) -> None:
    case = api.call("POST", "/api/instances", "roads.staff", json=SUGGESTION).json()
    boundary = "----WebKitFormBoundaryAbCdEf123"
    photo = png(40, 30, (200, 100, 50))  # a file's bytes hold NULs: they are the attachments' to judge
    assert b"\x00" in photo
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + photo + f"\r\n--{boundary}--\r\n".encode()
    answer = api.client.post(f"/api/instances/{case['id']}/attachments", content=body, headers={
        **api.headers("roads.staff"), "content-type": f"multipart/form-data; boundary={boundary}"})
    assert answer.status_code == 201, answer.text


def test_the_login_page_says_when_to_try_again_after_too_many_failures(client: TestClient) -> None:
    for _ in range(5):
        page = client.get("/login")
        wrong = client.post("/login", data={"username": "welfare.staff", "password": "guess",
                                            "csrf_token": hidden(page.text)})
        assert wrong.status_code == 401 and "아이디 또는 비밀번호" in wrong.text
    page = client.get("/login")
    throttled = client.post("/login", data={"username": "welfare.staff", "password": "cityflow-demo",
                                            "csrf_token": hidden(page.text)})
    assert throttled.status_code == 401 and "로그인에 너무 많이 실패했습니다. 15분 뒤에 다시 해 보세요." in throttled.text


# --------------------------------------------------------------------------- scripts that burn a C call
BURNING = {
    "three-argument pow": ("x = pow(3, 2**12000 - 1, 2**12000 + 1)", "stopped after 1s"),
    "ljust": ("x = 'x'.ljust(10**9)", "ran out of memory"),
    "nested list product": ("rows = [[0] * 10**6] * 30", "more than 1,048,576 bytes"),
}


#: Crosses to a script process too (a call), and is done at once: what a start costs on this machine now.
CALM = "x = sum([1, 2])"


@pytest.mark.parametrize(("script", "cause"), BURNING.values(), ids=BURNING.keys())
def test_a_script_burning_one_c_call_stops_its_case_in_error_while_the_server_answers_others(
    database: Database, settings: Any, tmp_path: Path, script: str, cause: str,
) -> None:
    def burning_process(key: str, source: str) -> Path:
        body = ('<bpmn:startEvent id="start"/>' + script_task("heat", source) + user_task("check", "확인")
                + '<bpmn:endEvent id="end"/>' + chain("start", "heat", "check", "end"))
        return write_folder(tmp_path, key, {f"{key}.bpmn": bpmn(process(key, body))})

    seed(database, [burning_process("burn", script), burning_process("calm", CALM)])
    limit = 0.5
    app = create_app(settings, database, EngineContext.create(script_time_limit=limit))
    pool().warm()  # a process stopped before is being replaced: not this script's time
    with serving(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        token = client.post("/api/auth/token", json={"username": "roads.staff", "password": DEMO_PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        started: dict[str, Any] = {}

        def start(key: str) -> tuple[httpx.Response, float]:
            begun = time.perf_counter()
            with httpx.Client(base_url=url, timeout=30) as own:
                answer = own.post("/api/instances", headers=headers,
                                  json={"process_key": key, "data": {"title": "대장 정리"}})
            return answer, time.perf_counter() - begun

        calm, usual = start("calm")  # the same start with a script that is done at once, measured in this run
        assert calm.status_code == 201 and calm.json()["status"] == "running", calm.text
        def start_burning() -> None:
            started["answer"], started["took"] = start("burn")

        burning = threading.Thread(target=start_burning)
        burning.start()
        time.sleep(0.1)
        asked = time.perf_counter()
        assert client.get("/api/me", headers=headers).status_code == 200
        # Another request is answered while the script burns. SQLite has one writer at a time and
        # every unit of work there takes the write lock: the request waits for the script's end.
        assert time.perf_counter() - asked < (1.0 if database.dialect == "postgresql" else 2 * limit + 1.5)
        burning.join(30)
        # Stopped at twice the limit at most, and answered at once: no longer than the calm start
        # took on this machine, in this run, plus that.
        assert started["took"] < usual + 2 * limit + 1.0, (started["took"], usual)
        answer = started["answer"]
        assert answer.status_code == 201, answer.text
        case = answer.json()
        assert case["status"] == "error" and cause in case["error"]["message"]
        trail = client.get(f"/api/instances/{case['id']}/audit", headers=headers)
        assert trail.status_code == 200 and trail.json()[-1]["action"] == "instance.errored"
