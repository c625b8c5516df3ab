"""The ``cityflow`` command as an operator uses it: the citizen-suggestion process from
deployment to audit, on SQLite and on PostgreSQL.

Every command runs as a real subprocess (see ``cli_helpers``) with its own database:
a fresh SQLite file, or the test PostgreSQL database emptied by conftest's
``postgres`` fixture. ``cityflow init`` migrates either one.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import uuid
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine import audit, definitions, identity
from engine.config import get_settings
from engine.db import Database
from tests.cli_helpers import AUDIT_KEY, WORKFLOWS, Cli

HEX64 = re.compile(r"[0-9a-f]{64}")
SUGGESTION = WORKFLOWS / "suggestion"

BROKEN_SCRIPT_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="broken_script_definitions" targetNamespace="https://cityflow.example/tests">
  <bpmn:process id="broken_script" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="to_divide" sourceRef="start" targetRef="divide"/>
    <bpmn:scriptTask id="divide" name="Divide by zero" scriptFormat="python">
      <bpmn:script>x = 1 / 0</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="to_end" sourceRef="divide" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def cli(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """``cityflow`` on a migrated, empty database of this test's own."""
    # The people this process adds are on the trail the command verifies: keyed with the command's key.
    monkeypatch.setenv("CITYFLOW_AUDIT_KEY", AUDIT_KEY)
    get_settings.cache_clear()
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").url
    else:
        url = f"sqlite:///{tmp_path / 'cityflow.db'}"
    # A workflows folder holding the sample process only, so what `deploy` prints is known.
    workflows = tmp_path / "workflows"
    shutil.copytree(SUGGESTION, workflows / "suggestion")
    command = Cli.configured(tmp_path, url, workflows)
    assert command.ok("init").startswith("database ready: ")
    _add_people(url)
    return command


# The people the commands act as, each under the rules the web and the API apply to them too.
PEOPLE = [("citizen.kim", (), ("staff",)), ("planner.lee", ("기획조정실",), ("staff",)),
          ("roads.park", ("도로과",), ("staff",)), ("clerk.han", (), ("staff",)), ("kim", (), ("staff",)),
          ("citizen.choi", (), ("staff",)),
          ("ops.admin", (), ("admin",)), ("auditor.yoon", (), ("auditor",))]


def _add_people(url: str) -> None:
    database = Database(url)
    try:
        with database.unit_of_work() as session:
            for username, groups, roles in PEOPLE:
                identity.add_user(session, username, "a long enough password", actor="test",
                                  roles=list(roles), groups=list(groups))
    finally:
        database.dispose()


@pytest.fixture
def offline(tmp_path: Path) -> Cli:
    """``cityflow`` for commands that must answer before they touch any database."""
    return Cli.configured(tmp_path, f"sqlite:///{tmp_path / 'never-used.db'}")


def start(cli: Cli, process: str, data: dict[str, object], user: str) -> str:
    instance_id = cli.ok("start", process, "--data", json.dumps(data, ensure_ascii=False), "--as", user).strip()
    uuid.UUID(instance_id)  # the command prints the instance id and nothing else
    return instance_id


def ready_tasks(cli: Cli, instance_id: str) -> list[dict[str, object]]:
    return cli.json_lines("tasks", "--instance", instance_id)


def export(cli: Cli, instance_id: str) -> list[dict[str, object]]:
    return cli.json_lines("audit", "export", "--instance", instance_id, "--format", "jsonl")


def sql(cli: Cli, statement: str, **params: object) -> int:
    """Change the database behind the application's back, as an intruder with SQL access would."""
    engine = create_engine(cli.database_url)
    try:
        with engine.begin() as connection:
            return connection.execute(text(statement), params).rowcount
    finally:
        engine.dispose()


def count(cli: Cli, statement: str, **params: object) -> int:
    engine = create_engine(cli.database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(statement), params).scalar_one())
    finally:
        engine.dispose()


# -- definitions ---------------------------------------------------------------------------


def test_validate_passes_the_sample_process_silently(offline: Cli) -> None:
    result = offline("validate", SUGGESTION)
    assert result.returncode == 0
    assert (result.stdout, result.stderr) == ("", "")


def test_deploying_the_same_folder_again_changes_nothing_and_changed_content_is_version_2(
    cli: Cli, tmp_path: Path
) -> None:
    first = cli.ok("deploy")
    assert re.fullmatch(r"suggestion 1 [0-9a-f]{64}\n", first), first
    assert first.split()[2] == definitions.read_source(SUGGESTION).hash

    assert cli.ok("deploy") == first

    changed = tmp_path / "changed" / "suggestion"
    shutil.copytree(SUGGESTION, changed)
    bpmn = changed / "suggestion.bpmn"
    original = bpmn.read_text(encoding="utf-8")
    assert 'name="제안 검토"' in original
    bpmn.write_text(original.replace('name="제안 검토"', 'name="제안 검토 및 분류"'), encoding="utf-8")

    key, version, digest = cli.ok("deploy", changed).split()
    assert (key, version) == ("suggestion", "2")
    assert HEX64.fullmatch(digest) and digest != first.split()[2]


# -- running the process ---------------------------------------------------------------------


def test_malformed_json_data_is_refused_as_invalid_input(offline: Cli) -> None:
    started = offline("start", "suggestion", "--data", '{"title": ')
    assert started.returncode == 1
    assert started.stdout == ""
    assert started.stderr.startswith("InvalidInput: ")

    completed = offline("complete", str(uuid.uuid4()), "--data", '["not", "an", "object"]')
    assert completed.returncode == 1
    assert completed.stderr.startswith("InvalidInput: ")


def test_a_citizen_suggestion_is_reviewed_answered_and_audited_through_the_cli(cli: Cli) -> None:
    version_hash = cli.ok("deploy").split()[2]
    instance_id = start(cli, "suggestion", {"title": "버스정류장 온열의자 설치", "supporters": 120}, "citizen.kim")

    # The reviewer's task: offered to the lane's group, since the task names nobody.
    (review,) = ready_tasks(cli, instance_id)
    assert {"id", "instance_id", "element_id", "name", "candidates"} <= review.keys()
    assert review["instance_id"] == instance_id
    assert (review["element_id"], review["name"]) == ("review_suggestion", "제안 검토")
    assert review["candidates"] == {"users": [], "groups": ["기획조정실"]}
    assert cli.ok(
        "complete", review["id"], "--data", '{"accepted": true, "category": "도로"}', "--as", "planner.lee"
    ) == f"{instance_id} running\n"

    # Accepted: the decision table routed it to the roads department, who must answer.
    (answer,) = ready_tasks(cli, instance_id)
    assert answer["element_id"] == "write_answer"
    assert answer["candidates"] == {"users": [], "groups": ["도로과"]}
    assert cli.ok(
        "complete", answer["id"], "--data", '{"answer": "12월 설치 예정"}', "--as", "roads.park"
    ) == f"{instance_id} completed\n"
    assert ready_tasks(cli, instance_id) == []

    again = cli("complete", answer["id"], "--data", '{"answer": "다시"}', "--as", "roads.park")
    assert again.returncode == 1
    assert again.stdout == ""
    assert again.stderr.startswith("TaskNotReady: ")

    unknown = cli("complete", str(uuid.uuid4()), "--data", "{}", "--as", "roads.park")
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("TaskNotFound: ")

    # The audit trail tells the whole story, in order, as one unbroken hash chain.
    records = export(cli, instance_id)
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert {(r["chain"], r["instance_id"], r["process_version"]) for r in records} == {
        (instance_id, instance_id, version_hash)
    }
    assert records[0]["action"] == "instance.created"
    assert records[0]["actor"] == "citizen.kim"
    assert records[0]["changes"] == {"supporters": [None, 120], "title": [None, "버스정류장 온열의자 설치"]}
    assert records[-1]["action"] == "instance.completed"

    completed = [r for r in records if r["action"] == "task.completed"]
    assert [r["element_id"] for r in completed] == [
        "received", "review_suggestion", "accepted_gateway", "assign_department", "set_priority",
        "write_answer", "answered",
    ]
    by_element = {r["element_id"]: r for r in completed}
    assert by_element["review_suggestion"]["actor"] == "planner.lee"
    assert by_element["review_suggestion"]["changes"] == {"accepted": [None, True], "category": [None, "도로"]}
    assert by_element["assign_department"]["changes"] == {"department": [None, "도로과"]}
    assert by_element["set_priority"]["changes"] == {"priority": [None, "긴급"]}
    assert by_element["write_answer"]["actor"] == "roads.park"
    assert by_element["write_answer"]["changes"] == {"answer": [None, "12월 설치 예정"]}
    people = {records[0]["seq"], by_element["review_suggestion"]["seq"], by_element["write_answer"]["seq"]}
    assert {r["actor"] for r in records if r["seq"] not in people} == {"system:engine"}

    assert records[0]["prev_hash"] == audit.GENESIS
    for previous, record in pairwise(records):
        assert record["prev_hash"] == previous["hash"], f"record #{record['seq']} does not chain"
    keys = audit.Keyring({1: AUDIT_KEY.encode()})  # the key the command was given: each link is keyed with it
    for record in records:
        assert HEX64.fullmatch(record["hash"])
        assert record["key_id"] == 1
        assert audit.record_link(record, keys) == record["hash"], f"record #{record['seq']} is not its hash"
        assert audit.record_hash(record) != record["hash"], "without the key nobody can recompute a link"

    table = cli.ok("audit", "export", "--instance", instance_id, "--format", "csv")
    header = table.splitlines()[0]
    assert "seq," in header and "actor" in header and "action" in header
    rows = list(csv.DictReader(io.StringIO(table)))
    assert [(int(r["seq"]), r["actor"], r["action"], r["hash"]) for r in rows] == [
        (r["seq"], r["actor"], r["action"], r["hash"]) for r in records
    ]
    assert json.loads(rows[0]["changes"]) == records[0]["changes"]

    verified = cli("audit", "verify")
    assert verified.returncode == 0, verified.stdout
    # this instance's records, and in the system chain the people added and the one deployment
    assert verified.stdout.splitlines()[-1] == f"verified {len(records) + len(PEOPLE) + 1} records"


# -- the audit trail resists tampering ---------------------------------------------------------


def test_audit_verify_names_an_edited_record_and_an_instance_deleted_after_a_checkpoint(cli: Cli) -> None:
    cli.ok("deploy")
    kept = start(cli, "suggestion", {"title": "공원 벤치 보수", "supporters": 8}, "citizen.kim")
    doomed = start(cli, "suggestion", {"title": "민원 기록", "supporters": 3}, "citizen.choi")
    in_instances = count(cli, "SELECT count(*) FROM audit_records WHERE chain IN (:a, :b)", a=kept, b=doomed)
    # the people added and the deployment
    assert count(cli, "SELECT count(*) FROM audit_records WHERE chain = 'system'") == len(PEOPLE) + 1
    assert cli.ok("audit", "verify").splitlines()[-1] == f"verified {in_instances + len(PEOPLE) + 1} records"

    # Someone rewrites who started an instance.
    assert sql(cli, "UPDATE audit_records SET actor = 'mallory' WHERE chain = :c AND seq = 1", c=kept) == 1
    forged = cli("audit", "verify")
    assert forged.returncode == 1
    assert f"instance {kept}" in forged.stdout and re.search(r"#1\b", forged.stdout), forged.stdout
    assert re.fullmatch(r"verified \d+ records", forged.stdout.splitlines()[-1])
    sql(cli, "UPDATE audit_records SET actor = 'citizen.kim' WHERE chain = :c AND seq = 1", c=kept)

    # After a checkpoint, a whole instance disappears together with its records.
    assert cli.ok("audit", "checkpoint").startswith("checkpoint ")
    sql(cli, "DELETE FROM open_tasks WHERE instance_id = :i", i=doomed)
    assert sql(cli, "DELETE FROM audit_records WHERE chain = :i", i=doomed) > 0
    assert sql(cli, "DELETE FROM instances WHERE id = :i", i=doomed) == 1
    erased = cli("audit", "verify")
    assert erased.returncode == 1
    assert f"instance {doomed}" in erased.stdout, erased.stdout
    assert kept not in erased.stdout


# -- a designer's script fails -------------------------------------------------------------------


def test_a_failing_script_leaves_the_instance_in_error_with_the_cause_on_record(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "broken_script"
    folder.mkdir()
    (folder / "broken_script.bpmn").write_text(BROKEN_SCRIPT_BPMN, encoding="utf-8")
    assert re.fullmatch(r"broken_script 1 [0-9a-f]{64}\n", cli.ok("deploy", folder))

    started = cli("start", "broken_script", "--as", "clerk.han")
    assert started.returncode == 3  # the step was taken, and the case stopped with an error
    instance_id = started.stdout.strip()
    uuid.UUID(instance_id)
    assert "error" in started.stderr

    records = export(cli, instance_id)
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert records[0]["action"] == "instance.created"
    errored = records[-1]
    assert errored["action"] == "instance.errored"
    assert "ZeroDivisionError" in errored["detail"]["message"]
    (failed,) = [r for r in records if r["action"] == "task.error"]  # one transition, one record
    assert (failed["element_id"], failed["from_state"], failed["to_state"]) == ("divide", "READY", "ERROR")
    assert "ZeroDivisionError" in failed["detail"]["message"]

    # Only an admin retries; nothing was fixed, so running it again must fail again, visibly.
    refused = cli("retry", instance_id, "--as", "clerk.han")
    assert (refused.returncode, refused.stderr.split(":")[0]) == (1, "NotAllowed")
    retried = cli("retry", instance_id, "--as", "ops.admin")
    assert retried.returncode == 1
    assert retried.stdout == f"{instance_id} error\n"


def test_a_wrong_setting_is_named_before_anything_runs(offline: Cli) -> None:
    offline.env["CITYFLOW_TIMEZONE"] = "Mars/Olympus_Mons"
    refused = offline("tasks")
    assert refused.returncode == 2
    assert refused.stderr.startswith("InvalidSetting: CITYFLOW_TIMEZONE='Mars/Olympus_Mons' is not a known time zone")
