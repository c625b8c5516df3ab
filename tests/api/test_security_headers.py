"""Every answer — a page, a JSON refusal, a route that does not exist — tells the browser to keep to this
site: no framing, no sniffing, the page policy; an answer that set a stricter policy of its own keeps it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import SECURITY_HEADERS


def test_every_answer_carries_the_security_headers(client: TestClient) -> None:
    answers = {
        "login page": client.get("/login"),
        "refused without a login": client.get("/api/tasks"),
        "no such route": client.get("/api/no-such-thing"),
        "health": client.get("/healthz"),
    }
    for what, answer in answers.items():
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers.get(name) == value, (what, name, answer.headers)
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"], what
        assert len(answer.headers.get_list("Content-Security-Policy")) == 1, what
    assert answers["login page"].status_code == 200
    assert answers["refused without a login"].status_code == 401


def test_a_stricter_policy_of_an_answer_stays(client: TestClient) -> None:
    docs = client.get("/api/docs")  # Swagger UI's one inline script allowed by its hash, and nothing else
    policy = docs.headers.get_list("Content-Security-Policy")
    assert docs.status_code == 200 and len(policy) == 1 and "'sha256-" in policy[0]
