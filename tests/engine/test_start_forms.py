"""How a case starts, as its start event says: who started it (``camunda:initiator``) and the form
its start data is held to (``camunda:formKey``). Each step in its own unit of work, the instance
read back from the database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import commands, definitions
from engine.errors import FormInvalid
from engine.identity import Principal
from engine.models import Instance
from tests.engine.helpers import Driver, bpmn, chain, process, user_task, write_folder

START_FORM = {"schema": {"type": "object", "required": ["title"], "additionalProperties": False,
                         "properties": {"title": {"type": "string", "minLength": 1, "maxLength": 200}}}}


def request_folder(root: Path, start: str = 'camunda:initiator="starter" camunda:formKey="forms/start.json"') -> Path:
    """A request whose first task goes back to whoever started it."""
    body = (f'<bpmn:startEvent id="asked" name="요청" {start}/>'
            + user_task("check", "확인", 'camunda:assignee="${starter}"') + '<bpmn:endEvent id="done"/>'
            + chain("asked", "check", "done"))
    return write_folder(root, "request", {"request.bpmn": bpmn(process("request", body)),
                                          "forms/start.json": json.dumps(START_FORM)})


def staff(username: str) -> Principal:
    return Principal(username=username, display_name=username, roles=frozenset({"staff"}), groups=frozenset())


def start(driver: Driver, username: str, data: dict[str, object]) -> str:
    with driver.database.unit_of_work() as session:
        return commands.start(session, driver.ctx, staff(username), "request", data).id


def test_the_start_event_names_who_started_the_case_and_no_start_data_names_someone_else(
    driver: Driver, tmp_path: Path,
) -> None:
    driver.deploy(request_folder(tmp_path))
    case = start(driver, "kim", {"title": "가로등 수리", "starter": "mayor"})
    assert driver.instance(case).data["starter"] == "kim"
    assert driver.open_task(case, "check").assignee == "kim"
    created = driver.trail(case)[0]
    assert (created["action"], created["actor"]) == ("instance.created", "kim")
    assert created["changes"] == {"starter": [None, "kim"], "title": [None, "가로등 수리"]}
    assert driver.verify(case).ok


def test_a_start_its_form_refuses_is_named_field_by_field_and_starts_nothing(driver: Driver, tmp_path: Path) -> None:
    driver.deploy(request_folder(tmp_path))
    with pytest.raises(FormInvalid) as missing:
        start(driver, "kim", {})
    assert missing.value.errors == [{"field": "", "message": "'title' is a required property"}]  # plain JSON Schema
    with pytest.raises(FormInvalid) as unknown:
        start(driver, "kim", {"title": "가로등 수리", "urgent": True})
    assert unknown.value.errors == [{"field": "urgent", "message": "이 서식에 없는 항목입니다."}]
    with pytest.raises(FormInvalid) as foreign:  # a case yet to start has no files to point at
        start(driver, "kim", {"title": "attachment:1"})
    assert foreign.value.errors == [{"field": "title", "message": "attachment:1 is not a file of this case"}]
    assert driver.count(Instance) == 0


def test_a_process_without_a_start_form_starts_with_what_it_is_given(driver: Driver, tmp_path: Path) -> None:
    driver.deploy(request_folder(tmp_path, start='camunda:initiator="starter"'))
    case = start(driver, "kim", {"title": "가로등 수리", "street": "효원로"})
    assert driver.instance(case).data == {"starter": "kim", "title": "가로등 수리", "street": "효원로"}


def test_a_start_form_that_is_not_there_and_an_initiator_that_is_no_name_are_found_before_deploying(
    tmp_path: Path,
) -> None:
    folder = request_folder(tmp_path, start='camunda:initiator="who started" camunda:formKey="forms/begin.json"')
    problems = definitions.check(definitions.read_source(folder)).problems
    assert sorted((p.code, p.message) for p in problems) == [
        ("BAD_INITIATOR", "요청: initiator 'who started' is not a variable name"),
        ("FORM_NOT_FOUND", "요청: start form 'forms/begin.json' is not in the process folder"),
    ]
