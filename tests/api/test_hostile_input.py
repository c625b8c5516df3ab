"""Input no person types is refused by name before it reaches a route or the database, on both databases:
NUL bytes, text that is not Unicode, NaN and Infinity, JSON nested without end, bodies beyond their limit.
Nothing of it is stored, and the server answers the next request as usual."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Api
from tests.api.test_pages import hidden

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
