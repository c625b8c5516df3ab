"""Definitions: validated before deployment, versioned by content, every problem named with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import definitions
from engine.errors import DefinitionError
from engine.models import ProcessVersion
from tests.engine.helpers import Driver, bpmn, chain, flow, process, script_task, user_task, write_folder

ROOT = Path(__file__).resolve().parents[2]
START, END = '<bpmn:startEvent id="start"/>', '<bpmn:endEvent id="end"/>'


def problems_of(tmp_path: Path, body: str, key: str = "p", **files: str) -> list[str]:
    folder = write_folder(tmp_path, key, {f"{key}.bpmn": bpmn(process(key, body)), **files})
    return [str(p) for p in definitions.check(definitions.read_source(folder)).problems]


def test_the_sample_workflows_are_valid() -> None:
    for folder in definitions.process_folders(ROOT / "workflows"):
        checked = definitions.check(definitions.read_source(folder))
        assert checked.problems == [], [str(p) for p in checked.problems]


def test_deploying_unchanged_content_is_a_no_op_and_new_content_is_the_next_version(driver: Driver, tmp_path: Path) -> None:
    body = START + user_task("only", name="검토") + END + chain("start", "only", "end")
    folder = write_folder(tmp_path, "memo", {"memo.bpmn": bpmn(process("memo", body))})
    first = driver.deploy(folder)
    again = driver.deploy(folder)
    assert (first.version, first.created) == (1, True)
    assert (again.version, again.hash, again.created) == (1, first.hash, False)

    (folder / "memo.bpmn").write_text(bpmn(process("memo", body.replace("검토", "재검토"))), encoding="utf-8")
    second = driver.deploy(folder)
    assert (second.version, second.created) == (2, True)
    assert second.hash != first.hash
    assert driver.count(ProcessVersion, key="memo") == 2
    assert [r["action"] for r in _system_trail(driver)] == ["process.deployed", "process.deployed"]


def _system_trail(driver: Driver) -> list[dict[str, object]]:
    with driver.database.unit_of_work() as session:
        return list(definitions.audit.records(session, "system"))


def test_the_version_hash_covers_every_definition_file_but_not_the_readme(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, "memo", {"memo.bpmn": bpmn(process("memo", START)), "README.md": "v1"})
    before = definitions.read_source(folder).hash
    (folder / "README.md").write_text("v2")
    assert definitions.read_source(folder).hash == before
    (folder / "forms").mkdir()
    (folder / "forms" / "x.json").write_text('{"type": "object"}')
    assert definitions.read_source(folder).hash != before


def test_an_invalid_folder_is_not_deployed(driver: Driver, tmp_path: Path) -> None:
    folder = write_folder(tmp_path, "bad", {"bad.bpmn": bpmn(process("bad", START + script_task("s", "import os") + END))})
    checked = definitions.check(definitions.read_source(folder))
    with pytest.raises(DefinitionError), driver.database.unit_of_work() as session:
        definitions.deploy(session, checked, "designer")
    assert driver.count(ProcessVersion) == 0


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (START + script_task("s", "__import__('os').system('id')") + END, "BAD_SCRIPT"),
        (START + script_task("s", "x = ().__class__.__base__.__subclasses__()") + END, "BAD_SCRIPT"),
        (START + script_task("s", "if x\n  y = 1") + END, "BAD_SCRIPT"),
        (START + '<bpmn:scriptTask id="g" scriptFormat="groovy"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>', "UNSUPPORTED_SCRIPT_LANGUAGE"),
        (START + '<bpmn:exclusiveGateway id="gw"/>' + END + flow("f", "gw", "end", "${amount &gt;}"), "BAD_CONDITION"),
        (START + '<bpmn:serviceTask id="archive" camunda:delegateExpression="#{archiveService}"/>', "UNKNOWN_HANDLER"),
        (START + '<bpmn:serviceTask id="archive"/>', "MISSING_HANDLER"),
        (START + user_task("t", attrs='camunda:formKey="forms/missing.json"'), "FORM_NOT_FOUND"),
        (START + user_task("t", attrs='camunda:assignee="${who ==}"'), "BAD_EXPRESSION"),
        (START + '<bpmn:callActivity id="c" calledElement="nowhere"/>', "UNKNOWN_CALLED_ELEMENT"),
        ('<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition id="t">'
         '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">seven days</bpmn:timeDuration>'
         "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>", "BAD_TIMER"),
        ('<bpmn:startEvent id="start"><bpmn:unknownThing/></bpmn:startEvent>', "XSD_INVALID"),
    ],
)
def test_each_problem_is_reported_with_file_line_and_code(tmp_path: Path, body: str, code: str) -> None:
    found = problems_of(tmp_path, body)
    assert any(f": {code}: " in p for p in found), found
    assert all(p.startswith(str(tmp_path / "p" / "p.bpmn") + ":") for p in found)
    line = int(next(p for p in found if f": {code}: " in p).split(":")[1])
    assert line > 0


def test_iso_timers_written_plainly_are_accepted(tmp_path: Path) -> None:
    for text in ("P7D", "R4/P3M", "2026-12-31T09:00:00+09:00", "'P7D'", "deadline"):
        body = (
            START + '<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition id="t">'
            f'<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{text}</bpmn:timeDuration>'
            "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>" + END + chain("start", "wait", "end")
        )
        assert problems_of(tmp_path / text.replace("/", "_").replace(":", "_").replace("'", "q"), body) == []


def test_a_form_file_that_is_not_json_schema_is_named(tmp_path: Path) -> None:
    found = problems_of(tmp_path, START, **{"forms/t.json": '{"schema": {"type": 12}}', "forms/u.json": "{oops"})
    assert any("forms/t.json:1: FORM_INVALID_SCHEMA" in p for p in found), found
    assert any("forms/u.json:1: FORM_INVALID_JSON" in p for p in found), found


def test_a_file_without_an_executable_process_is_refused_by_name(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, "drawing", {
        "drawing.bpmn": bpmn('<bpmn:process id="drawing" isExecutable="false"><bpmn:startEvent id="s"/></bpmn:process>')
    })
    found = [p.code for p in definitions.check(definitions.read_source(folder)).problems]
    assert found == ["NO_EXECUTABLE_PROCESS"]


def test_the_parsed_spec_is_stored_once_per_version(driver: Driver, tmp_path: Path) -> None:
    body = START + user_task("only") + END + chain("start", "only", "end")
    driver.deploy(write_folder(tmp_path, "memo", {"memo.bpmn": bpmn(process("memo", body))}))
    for _ in range(3):
        driver.start("memo")
    with driver.database.unit_of_work() as session:
        version_id, _ = definitions.latest_version(session, "memo")
        row = session.get(ProcessVersion, version_id)
        assert row.spec["spec"]["name"] == "memo"
        assert set(row.files) == {"memo.bpmn"}


SPIFF_FORM = (
    START + '<bpmn:userTask id="t"><bpmn:extensionElements><spiffworkflow:properties>'
    '<spiffworkflow:property name="formJsonSchemaFilename" value="t-schema.json"/>'
    "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>" + END + chain("start", "t", "end")
)


def test_a_form_named_by_the_spiffworkflow_property_must_exist(tmp_path: Path) -> None:
    body = SPIFF_FORM
    extra = 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    folder = write_folder(tmp_path, "p", {"p.bpmn": bpmn(process("p", body)).replace("<bpmn:definitions ", "<bpmn:definitions " + extra)})
    found = [p.code for p in definitions.check(definitions.read_source(folder)).problems]
    assert found == ["FORM_NOT_FOUND"]
    (folder / "forms").mkdir()
    (folder / "forms" / "t-schema.json").write_text('{"type": "object", "properties": {"x": {"type": "string"}}}')
    checked = definitions.check(definitions.read_source(folder))
    assert checked.problems == []
    assert definitions.resolve_form(checked.source.files, "t", "t-schema.json") == "forms/t-schema.json"


def test_a_labels_file_of_the_wrong_shape_is_refused_at_deploy_naming_its_entry(tmp_path: Path) -> None:
    body = START + user_task("only", name="검토") + END + chain("start", "only", "end")

    def said(where: Path, text: str) -> list[str]:
        return [problem.split(":0: ", 1)[1] for problem in problems_of(where, body, **{"labels.json": text})]

    wrong = '{"process": "Review", "elements": {"only": {"en": ""}}, "word": {}}'
    assert said(tmp_path / "a", wrong) == [
        "LABELS_INVALID: unknown section 'word' (expected process, elements, fields, values, words)",
        'LABELS_INVALID: process must be an object of language → text, like {"en": "..."}',
        "LABELS_INVALID: elements.only.en must be a non-empty text",
    ]
    assert [p.split(": ")[1] for p in problems_of(tmp_path / "b", body, **{"labels.json": "{"})] == [
        "LABELS_INVALID_JSON"]
    assert said(tmp_path / "c", '{"process": {"en": "Review"}, "elements": {"only": {"en": "Review"}}}') == []
