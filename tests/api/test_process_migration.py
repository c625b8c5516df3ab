"""POST /api/processes/{key}/migrate: designers and admins move running cases to another version."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import Api
from tests.api.test_api import _suggestion_files
from tests.api.test_pages import log_in

SUGGESTION = {"title": "가로등 설치", "supporters": 150}


def migrate(api: Api, username: str, **body: Any) -> Any:
    return api.call("POST", "/api/processes/suggestion/migrate", username, json=body)


def test_a_designer_moves_running_cases_after_a_dry_run_and_staff_may_not(api: Api, client: TestClient) -> None:
    instance = api.start("roads.staff", "suggestion", SUGGESTION)
    deployed = api.call("POST", "/api/processes", "designer", files=_suggestion_files("제안 재검토"), data={"key": "suggestion"})
    assert deployed.status_code == 201 and deployed.json()[0]["version"] == 2

    assert migrate(api, "roads.staff", **{"from": 1, "to": 2}).status_code == 403
    dry = migrate(api, "designer", **{"from": 1, "to": 2, "dry_run": True})
    assert dry.status_code == 200, dry.text
    expected = {"instance_id": instance["id"], "business_key": None, "moved": True,
                "at": [instance["tasks"][0]["element_id"]], "reasons": []}
    assert dry.json() == {"key": "suggestion", "from_version": 1, "to_version": 2, "dry_run": True, "moved": 1,
                          "kept": 0, "instances": [expected]}
    assert api.call("GET", f"/api/instances/{instance['id']}", "admin").json()["version"] == 1

    done = migrate(api, "admin", **{"from": 1, "to": 2})
    assert done.status_code == 200 and done.json()["moved"] == 1
    moved = api.call("GET", f"/api/instances/{instance['id']}", "admin").json()
    assert moved["version"] == 2
    assert [t["name"] for t in moved["tasks"]] == ["제안 재검토"]
    # The case's history says so in words.
    log_in(client, "roads.staff")
    history = client.get(f"/instances/{instance['id']}").text
    assert "새 버전으로 이관" in history and "instance.migrated" not in history


def test_an_unknown_version_is_404_and_the_same_version_422(api: Api) -> None:
    assert migrate(api, "designer", **{"from": 1, "to": 9}).status_code == 404
    assert migrate(api, "designer", **{"from": 1, "to": 1}).status_code == 422
    assert migrate(api, "designer", **{"from": 0, "to": 1}).status_code == 422
