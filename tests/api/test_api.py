"""The JSON API route by route: what each answers when it works, and when it must not."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from engine import identity
from engine.db import Database
from engine.models import AuditRecord
from tests.api.conftest import ROOT, Api
from tests.images import png

SUGGESTION = {"title": "가로등 설치", "supporters": 150}
REVIEW_OK = {"accepted": True, "category": "도로"}
PNG = png()  # a real photo: one that does not decode is refused


def error_of(answer) -> str:
    body = answer.json()
    assert set(body) >= {"error", "detail"}, body
    return body["error"]


# -- authentication ------------------------------------------------------------------------


def test_a_password_gives_a_bearer_token_that_identifies_the_caller(api: Api) -> None:
    me = api.call("GET", "/api/me", "roads.staff")
    assert me.status_code == 200
    body = me.json()
    assert body["username"] == "roads.staff"
    assert body["roles"] == ["staff"]
    assert {"도로과", "안전교통국"} <= set(body["groups"])


def test_a_wrong_password_is_401_and_recorded(api: Api, database: Database) -> None:
    answer = api.client.post("/api/auth/token", json={"username": "roads.staff", "password": "guess"})
    assert answer.status_code == 401
    assert error_of(answer) == "NotAuthenticated"
    with database.unit_of_work() as session:
        refused = session.query(AuditRecord).filter_by(action="login.refused", actor="roads.staff").count()
    assert refused == 1


def test_guessing_is_throttled_by_address_and_name_alike_and_nobody_is_locked_out(api: Api, app: Any) -> None:
    def token(client: TestClient, username: str, password: str) -> Any:
        return client.post("/api/auth/token", json={"username": username, "password": password})

    for _ in range(5):
        assert token(api.client, "traffic.staff", "guess").status_code == 401
        assert token(api.client, "nobody.here", "guess").status_code == 401
    real, unknown = token(api.client, "traffic.staff", "cityflow-demo"), token(api.client, "nobody.here", "x")
    for throttled in (real, unknown):  # the same answer whether the name exists or not
        assert throttled.status_code == 429 and error_of(throttled) == "LoginThrottled"
        assert 0 < int(throttled.headers["Retry-After"]) <= 15 * 60
    assert real.json()["detail"] == unknown.json()["detail"]
    # the colleague at their own desk is not locked out by what came from elsewhere
    elsewhere = TestClient(app, client=("10.20.30.40", 50000))
    assert token(elsewhere, "traffic.staff", "cityflow-demo").status_code == 200


def test_a_wrong_password_and_an_unknown_name_are_answered_alike(api: Api) -> None:
    wrong = api.client.post("/api/auth/token", json={"username": "roads.staff", "password": "guess"})
    unknown = api.client.post("/api/auth/token", json={"username": "road.staff", "password": "guess"})
    assert (wrong.status_code, wrong.json()) == (unknown.status_code, unknown.json()) == (
        401, {"error": "NotAuthenticated", "detail": "wrong username or password"})


def test_no_or_a_bad_token_is_401_and_a_revoked_token_stops_working(api: Api) -> None:
    assert api.client.get("/api/me").status_code == 401
    assert api.client.get("/api/me", headers={"Authorization": "Basic abc"}).status_code == 401
    assert api.client.get("/api/me", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    headers = api.headers("roads.lead")
    assert api.client.post("/api/auth/revoke", headers=headers).status_code == 204
    assert api.client.get("/api/me", headers=headers).status_code == 401


def test_a_malformed_login_is_422_in_the_error_shape(api: Api) -> None:
    answer = api.client.post("/api/auth/token", json={"username": "x"})
    assert answer.status_code == 422
    assert error_of(answer) == "InvalidInput"
    assert answer.json()["errors"][0]["field"] == "password"


# -- processes -----------------------------------------------------------------------------


def test_processes_are_listed_for_anyone_logged_in(api: Api) -> None:
    answer = api.call("GET", "/api/processes", "auditor")
    assert answer.status_code == 200
    listed = {p["key"]: p for p in answer.json()}
    assert listed["suggestion"]["version"] == 1
    assert listed["suggestion"]["name"] == "시민제안 처리"


def _suggestion_files(label: str = "제안 검토") -> list[tuple[str, tuple[str, bytes, str]]]:
    folder = ROOT / "workflows" / "suggestion"
    files = []
    for path in sorted(folder.rglob("*")):
        if path.suffix in (".bpmn", ".dmn", ".json"):
            data = path.read_bytes()
            if path.suffix == ".bpmn":
                data = data.replace("제안 검토".encode(), label.encode())
            files.append(("files", (path.relative_to(folder).as_posix(), data, "application/octet-stream")))
    return files


def test_a_designer_deploys_a_new_version_and_staff_may_not(api: Api) -> None:
    refused = api.call("POST", "/api/processes", "roads.staff", files=_suggestion_files("제안 재검토"))
    assert refused.status_code == 403
    deployed = api.call("POST", "/api/processes", "designer", files=_suggestion_files("제안 재검토"),
                        data={"key": "suggestion"})
    assert deployed.status_code == 201, deployed.text
    assert deployed.json()[0]["version"] == 2
    again = api.call("POST", "/api/processes", "designer", files=_suggestion_files("제안 재검토"),
                     data={"key": "suggestion"})
    assert again.json()[0] == {**deployed.json()[0], "created": False}


def test_an_invalid_upload_is_422_with_each_problem(api: Api) -> None:
    bad = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    answer = api.call("POST", "/api/processes", "designer", files=[("files", ("evil.bpmn", bad, "text/xml"))])
    assert answer.status_code == 422
    assert answer.json()["errors"][0] | {"message": ""} == {
        "file": "evil.bpmn", "line": answer.json()["errors"][0]["line"], "code": "XML_DTD_FORBIDDEN", "message": ""}
    assert "root:" not in answer.text
    traversal = api.call("POST", "/api/processes", "designer", files=[("files", ("../x.bpmn", b"<x/>", "text/xml"))])
    assert traversal.status_code == 422


def test_a_process_diagram_is_svg_and_an_unknown_one_404(api: Api) -> None:
    answer = api.call("GET", "/api/processes/suggestion/diagram.svg", "roads.staff")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("image/svg+xml")
    assert "제안 검토" in answer.text
    missing = api.call("GET", "/api/processes/nothing/diagram.svg", "roads.staff")
    assert missing.status_code == 404
    assert error_of(missing) == "ProcessNotFound"


# -- instances -----------------------------------------------------------------------------


def test_staff_start_an_instance_and_auditors_may_not(api: Api) -> None:
    instance = api.start("roads.staff", "suggestion", SUGGESTION)
    assert instance["status"] == "running"
    assert instance["version"] == 1
    assert api.only_task(instance)["element_id"] == "review_suggestion"
    assert api.call("POST", "/api/instances", "auditor", json={"process_key": "suggestion"}).status_code == 403
    unknown = api.call("POST", "/api/instances", "roads.staff", json={"process_key": "nothing"})
    assert unknown.status_code == 404
    bad = api.call("POST", "/api/instances", "roads.staff", json={"process_key": "suggestion", "data": [1]})
    assert bad.status_code == 422


def test_an_instance_is_visible_to_those_who_take_part_and_to_auditors(api: Api) -> None:
    instance = api.start("roads.staff", "suggestion", SUGGESTION)
    path = f"/api/instances/{instance['id']}"
    assert api.call("GET", path, "roads.staff").status_code == 200
    assert api.call("GET", path, "planning.staff").status_code == 200  # offered the review
    assert api.call("GET", path, "auditor").status_code == 200
    assert api.call("GET", path, "welfare.staff").status_code == 403
    assert api.call("GET", "/api/instances/nope", "roads.staff").status_code == 404
    listed = api.call("GET", "/api/instances?process_key=suggestion", "welfare.staff").json()
    assert listed["items"] == []
    mine = api.call("GET", "/api/instances?status=running", "roads.staff").json()
    assert [i["id"] for i in mine["items"]] == [instance["id"]]
    trail = api.call("GET", f"{path}/audit", "roads.staff").json()
    assert trail[0]["action"] == "instance.created"
    diagram = api.call("GET", f"{path}/diagram.svg", "roads.staff")
    assert diagram.status_code == 200
    assert "cf-active" in diagram.text


def test_only_the_initiator_or_an_admin_cancels_and_only_once(api: Api) -> None:
    instance = api.start("roads.staff", "suggestion", SUGGESTION)
    path = f"/api/instances/{instance['id']}/cancel"
    assert api.call("POST", path, "planning.staff", json={"reason": "x"}).status_code == 403
    cancelled = api.call("POST", path, "roads.staff", json={"reason": "중복 접수"})
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["tasks"] == []
    assert api.call("POST", path, "admin", json={}).status_code == 409


def test_instances_page_with_a_cursor(api: Api) -> None:
    ids = [api.start("roads.staff", "suggestion", SUGGESTION)["id"] for _ in range(3)]
    first = api.call("GET", "/api/instances?limit=2", "roads.staff").json()
    second = api.call("GET", f"/api/instances?limit=2&cursor={first['next_cursor']}", "roads.staff").json()
    assert [i["id"] for i in first["items"] + second["items"]] == list(reversed(ids))
    assert second["next_cursor"] is None
    assert api.call("GET", "/api/instances?cursor=garbage", "roads.staff").status_code == 422


# -- tasks -----------------------------------------------------------------------------------


def test_the_inbox_shows_group_tasks_to_the_group_and_nothing_to_others(api: Api) -> None:
    instance = api.start("roads.staff", "suggestion", SUGGESTION)
    task = api.only_task(instance)
    group = api.call("GET", "/api/tasks?scope=group", "planning.staff").json()["items"]
    assert [t["id"] for t in group] == [task["id"]]
    assert api.call("GET", "/api/tasks?scope=mine", "planning.staff").json()["items"] == []
    assert api.call("GET", "/api/tasks", "welfare.staff").json()["items"] == []
    assert len(api.call("GET", "/api/tasks", "auditor").json()["items"]) == 1
    assert api.call("GET", "/api/tasks?scope=everything", "planning.staff").status_code == 422


def test_a_task_shows_its_form_and_data_to_its_candidates(api: Api) -> None:
    task = api.only_task(api.start("roads.staff", "suggestion", SUGGESTION))
    answer = api.call("GET", f"/api/tasks/{task['id']}", "planning.lead")
    assert answer.status_code == 200
    body = answer.json()
    assert body["form"]["schema"]["required"] == ["accepted", "category"]
    assert body["data"]["title"] == "가로등 설치"
    assert api.call("GET", f"/api/tasks/{task['id']}", "welfare.staff").status_code == 403
    assert api.call("GET", "/api/tasks/00000000-0000-0000-0000-000000000000", "planning.lead").status_code == 404


def test_claiming_makes_a_task_mine_and_keeps_others_out(api: Api, database: Database) -> None:
    task = api.only_task(api.start("roads.staff", "suggestion", SUGGESTION))
    claimed = api.call("POST", f"/api/tasks/{task['id']}/claim", "planning.staff")
    assert claimed.status_code == 200
    assert claimed.json()["claimed_by"] == "planning.staff"
    assert [t["id"] for t in api.call("GET", "/api/tasks?scope=mine", "planning.staff").json()["items"]] == [task["id"]]
    assert api.call("GET", "/api/tasks?scope=group", "planning.lead").json()["items"] == []
    assert api.call("POST", f"/api/tasks/{task['id']}/claim", "planning.lead").status_code == 403
    refused = api.call("POST", f"/api/tasks/{task['id']}/complete", "welfare.staff", json={"data": REVIEW_OK})
    assert refused.status_code == 403
    with database.unit_of_work() as session:
        actions = [r.action for r in session.query(AuditRecord).filter_by(task_id=task["id"]).order_by(AuditRecord.id)]
    assert actions[-3:] == ["task.claimed", "task.refused", "task.refused"]
    assert api.call("POST", f"/api/tasks/{task['id']}/unclaim", "planning.lead").status_code == 403
    released = api.call("POST", f"/api/tasks/{task['id']}/unclaim", "planning.staff")
    assert released.json()["claimed_by"] is None


def test_delegating_hands_the_task_to_one_person(api: Api) -> None:
    task = api.only_task(api.start("roads.staff", "suggestion", SUGGESTION))
    answer = api.call("POST", f"/api/tasks/{task['id']}/delegate", "planning.lead", json={"user": "planning.staff"})
    assert answer.status_code == 200
    assert answer.json()["assignee"] == "planning.staff"
    assert api.call("POST", f"/api/tasks/{task['id']}/complete", "planning.lead", json={"data": REVIEW_OK}).status_code == 403
    assert api.call("POST", f"/api/tasks/{task['id']}/delegate", "planning.lead", json={"user": "ghost"}).status_code == 403
    assert api.call("POST", f"/api/tasks/{task['id']}/delegate", "planning.staff", json={"user": "ghost"}).status_code == 404


def test_completing_with_invalid_data_is_422_per_field_and_valid_data_moves_on(api: Api) -> None:
    task = api.only_task(api.start("roads.staff", "suggestion", SUGGESTION))
    path = f"/api/tasks/{task['id']}/complete"
    invalid = api.call("POST", path, "planning.staff", json={"data": {"accepted": "maybe"}})
    assert invalid.status_code == 422
    fields = {e["field"] for e in invalid.json()["errors"]}
    assert {"accepted", "category"} <= fields
    done = api.call("POST", path, "planning.staff", json={"data": REVIEW_OK, "comment": "도로과 검토 바랍니다"})
    assert done.status_code == 200, done.text
    next_task = api.only_task(done.json())
    assert next_task["element_id"] == "write_answer"
    assert next_task["candidates"]["groups"] == ["도로과"]
    assert done.json()["data"]["priority"] == "긴급"
    assert api.call("POST", path, "planning.staff", json={"data": REVIEW_OK}).status_code == 409
    comments = api.call("GET", f"/api/instances/{done.json()['id']}/comments", "roads.staff").json()
    assert comments[0]["body"] == "도로과 검토 바랍니다"
    assert api.call("POST", "/api/tasks/00000000-0000-0000-0000-000000000000/complete", "planning.staff",
                    json={"data": {}}).status_code == 404


def test_a_deputy_completes_for_an_absent_colleague_and_the_record_says_so(
    api: Api, database: Database
) -> None:
    instance = api.start("planning.staff", "suggestion", SUGGESTION)
    task_id = api.only_task(instance)["id"]
    api.call("POST", f"/api/tasks/{task_id}/delegate", "planning.staff", json={"user": "planning.lead"})
    now = datetime.now(UTC)
    with database.unit_of_work() as session:
        identity.add_absence(session, "planning.lead", "planning.chief", "휴가", now - timedelta(hours=1),
                             now + timedelta(days=1), actor="admin")
    mine = api.call("GET", "/api/tasks?scope=mine", "planning.chief").json()["items"]
    assert [t["id"] for t in mine] == [task_id]
    done = api.call("POST", f"/api/tasks/{task_id}/complete", "planning.chief", json={"data": REVIEW_OK})
    assert done.status_code == 200, done.text
    trail = api.call("GET", f"/api/instances/{instance['id']}/audit", "auditor").json()
    record = next(r for r in trail if r["task_id"] == task_id and r["action"] == "task.completed")
    assert record["actor"] == "planning.chief"
    assert record["detail"] == {"on_behalf_of": "planning.lead"}


def test_a_draft_is_kept_for_its_author_until_the_task_is_done(api: Api) -> None:
    task = api.only_task(api.start("roads.staff", "suggestion", SUGGESTION))
    path = f"/api/tasks/{task['id']}"
    assert api.call("PUT", f"{path}/draft", "planning.staff", json={"data": {"category": "환경"}}).status_code == 204
    assert api.call("GET", path, "planning.staff").json()["draft"] == {"category": "환경"}
    assert api.call("GET", path, "planning.lead").json()["draft"] is None
    assert api.call("PUT", f"{path}/draft", "welfare.staff", json={"data": {}}).status_code == 403


# -- attachments and comments --------------------------------------------------------------


def test_a_photo_is_attached_and_stored_by_its_hash(api: Api) -> None:
    instance = api.start("roads.staff", "suggestion", SUGGESTION)
    path = f"/api/instances/{instance['id']}/attachments"
    uploaded = api.call("POST", path, "roads.staff", files={"file": ("현장.png", PNG, "image/png")})
    assert uploaded.status_code == 201, uploaded.text
    body = uploaded.json()
    assert body["content_type"] == "image/png"
    assert len(body["sha256"]) == 64
    download = api.call("GET", f"/api/attachments/{body['id']}", "roads.staff")
    assert download.content == PNG
    assert api.call("GET", f"/api/attachments/{body['id']}", "welfare.staff").status_code == 403
    assert api.call("GET", "/api/attachments/999999", "roads.staff").status_code == 404
    trail = api.call("GET", f"/api/instances/{instance['id']}/audit", "roads.staff").json()
    assert trail[-1]["action"] == "attachment.added"


def test_files_that_lie_about_their_type_or_are_too_big_are_refused(api: Api, settings) -> None:
    instance = api.start("roads.staff", "suggestion", SUGGESTION)
    path = f"/api/instances/{instance['id']}/attachments"
    lying = api.call("POST", path, "roads.staff", files={"file": ("x.png", b"MZ\x90\x00" + b"\xff" * 50, "image/png")})
    assert lying.status_code == 422
    mismatch = api.call("POST", path, "roads.staff", files={"file": ("x.jpg", PNG, "image/jpeg")})
    assert mismatch.status_code == 422
    big = api.call("POST", path, "roads.staff",
                   files={"file": ("big.txt", io.BytesIO(b"a" * (settings.attachment_max_bytes + 1)), "text/plain")})
    assert big.status_code == 413
    assert error_of(big) == "TooLarge"
    assert api.call("POST", path, "auditor", files={"file": ("x.png", PNG, "image/png")}).status_code == 403


def test_comments_need_text_and_a_part_in_the_instance(api: Api) -> None:
    instance = api.start("roads.staff", "suggestion", SUGGESTION)
    path = f"/api/instances/{instance['id']}/comments"
    assert api.call("POST", path, "roads.staff", json={"body": "현장 확인 예정"}).status_code == 201
    assert api.call("POST", path, "roads.staff", json={"body": ""}).status_code == 422
    assert api.call("POST", path, "welfare.staff", json={"body": "hi"}).status_code == 403


# -- audit -----------------------------------------------------------------------------------


def test_auditors_search_and_verify_the_trail_and_staff_may_not(api: Api) -> None:
    api.start("roads.staff", "suggestion", SUGGESTION)
    found = api.call("GET", "/api/audit?action=instance.created", "auditor")
    assert found.status_code == 200
    assert [r["actor"] for r in found.json()["items"]] == ["roads.staff"]
    page = api.call("GET", "/api/audit?limit=2", "auditor").json()
    more = api.call("GET", f"/api/audit?limit=2&cursor={page['next_cursor']}", "auditor").json()
    assert page["items"][-1]["id"] < more["items"][0]["id"]
    verified = api.call("GET", "/api/audit/verify", "auditor").json()
    assert verified["ok"] is True
    assert verified["records"] > 0
    assert api.call("GET", "/api/audit", "roads.staff").status_code == 403
    assert api.call("GET", "/api/audit/verify", "designer").status_code == 403


# -- the error shape -------------------------------------------------------------------------


def test_unknown_paths_and_methods_answer_in_json(client: TestClient) -> None:
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"] == "NotFound"
    wrong = client.delete("/api/processes")
    assert wrong.status_code == 405
    assert wrong.json()["error"] == "MethodNotAllowed"
    assert client.get("/api/openapi.json").json()["info"]["title"] == "cityflow"


def test_a_completion_may_only_refer_to_files_of_its_own_instance(api: Api) -> None:
    other = api.start("roads.staff", "suggestion", SUGGESTION)
    photo = api.call("POST", f"/api/instances/{other['id']}/attachments", "roads.staff",
                     files={"file": ("x.png", PNG, "image/png")}).json()
    task = api.only_task(api.start("roads.staff", "suggestion", SUGGESTION))
    for reference in ("attachment:999999", f"attachment:{photo['id']}"):
        answer = api.call("POST", f"/api/tasks/{task['id']}/complete", "planning.staff",
                          json={"data": {**REVIEW_OK, "evidence": reference}})
        assert answer.status_code == 422
        assert {"field": "evidence", "message": f"{reference} is not a file of this case"} in answer.json()["errors"]


def test_absurd_numbers_in_paths_and_cursors_are_refused_not_crashed_on(api: Api) -> None:
    huge = "350780269004369726275584"
    for method, path, user in (("GET", f"/api/attachments/{huge}", "roads.staff"),
                               ("POST", f"/api/incidents/{huge}/retry", "admin"),
                               ("POST", f"/api/notifications/{huge}/read", "roads.staff"),
                               ("GET", f"/api/audit?cursor={huge}", "auditor"),
                               ("GET", f"/api/processes/suggestion/diagram.svg?version={huge}", "roads.staff")):
        answer = api.call(method, path, user)
        assert answer.status_code == 422, (path, answer.status_code)
        assert answer.json()["error"] == "InvalidInput"


def test_the_inbox_pages_through_mine_and_my_groups_tasks_in_order(api: Api) -> None:
    tasks = [api.only_task(api.start("roads.staff", "suggestion", SUGGESTION))["id"] for _ in range(3)]
    api.call("POST", f"/api/tasks/{tasks[1]}/claim", "planning.staff")
    seen, cursor = [], None
    while True:
        page = api.call("GET", "/api/tasks?limit=1" + (f"&cursor={cursor}" if cursor else ""), "planning.staff").json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == tasks
    assert [t["id"] for t in api.call("GET", "/api/tasks?scope=mine", "planning.staff").json()["items"]] == [tasks[1]]
