"""One verification, two ways to ask for it: ``/api/audit/verify`` and ``cityflow audit verify --json``
give the same report, findings and all; the command exits 1 when there is any."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lxml.html
from sqlalchemy import text

from engine import audit
from engine.config import Settings
from engine.db import Database
from tests.api.conftest import Api
from tests.api.test_pages import log_in
from tests.cli_helpers import Cli

SUGGESTION = {"title": "가로등 설치", "supporters": 12}


def same(report: dict[str, Any]) -> dict[str, Any]:
    """A report without what moves between two asks (how long ago the newest anchor was)."""
    report = dict(report)
    if report["newest_anchor"]:
        report["newest_anchor"] = {k: v for k, v in report["newest_anchor"].items() if k != "age_seconds"}
    return report


def test_the_api_and_the_command_give_the_same_findings(api: Api, database: Database, settings: Settings,
                                                        tmp_path: Path) -> None:
    kept = api.start("roads.staff", "suggestion", SUGGESTION)["id"]
    changed = api.start("roads.staff", "suggestion", SUGGESTION | {"title": "보도 정비"})["id"]
    with database.unit_of_work() as session:
        audit.write_checkpoint(session, audit.keyring(settings))
    with database.unit_of_work() as session:
        audit.anchor(session, settings)
    command = Cli.configured(tmp_path, database.url)
    command.env.update(CITYFLOW_VAR_DIR=str(settings.var_dir), CITYFLOW_AUDIT_KEY="test-audit-key")

    clean = api.call("GET", "/api/audit/verify", "auditor").json()
    assert clean["ok"] is True and clean["findings"] == [] and clean["anchors"] == 1
    assert same(json.loads(command.ok("audit", "verify", "--json"))) == same(clean)

    with database.engine.begin() as connection:
        connection.execute(text("UPDATE audit_records SET actor = 'mallory' WHERE chain = :c AND seq = 1"),
                           {"c": changed})
    answer = api.call("GET", "/api/audit/verify", "auditor").json()
    asked = command("audit", "verify", "--json")
    assert asked.returncode == 1
    assert same(json.loads(asked.stdout)) == same(answer)
    assert [f["code"] for f in answer["findings"]] == ["record-altered"]
    assert f"instance {changed} record #1" in answer["first_broken"]
    assert kept not in answer["first_broken"]
    log_in(api.client, "auditor")  # the page says what was found in the auditor's language, and where
    alert = " ".join(lxml.html.fromstring(api.client.get("/audit/verify").text)
                     .xpath("//*[@role='alert']")[0].text_content().split())
    assert alert.startswith("이력이 훼손되었습니다: 기록의 내용이 해시와 맞지 않습니다: 누군가 기록을 바꿨습니다")
    assert f"instance {changed} record #1" in alert

    one = api.call("GET", f"/api/audit/verify?instance={kept}", "auditor").json()
    assert one["ok"] is True and one["instance"] == kept
    assert one["chain_anchor"]["checkpoint"] == 1
    assert same(json.loads(command.ok("audit", "verify", "--json", "--instance", kept))) == same(one)
