"""BPMN from other people's modelers: cityflow reads every file, or refuses it with named problems.

The corpus is the shared conformance folder (the OMG MIWG reference models and their
bpmn.io exports, see its README), not part of the repository; ``CITYFLOW_CONFORMANCE_DIR``
points elsewhere. Where it is absent its tests are skipped with a note; under CI they
fail, since without it they would prove nothing (see ``tests/conformance/corpus.py``).

Each file is validated in-process (one subprocess per file would cost a second each);
one run of ``cityflow validate`` over the whole corpus checks the command's own output.
Hostile and broken inputs written here go through the command as a user would run it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from engine import definitions
from engine.errors import Problem
from tests.cli_helpers import Cli
from tests.conformance.corpus import corpus_missing, corpus_params, require_corpus

CODE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")
PROBLEM_LINE = re.compile(r"^.+:\d+: [A-Z][A-Z0-9_]+: .+$")


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """``cityflow`` for validation, which never opens the database."""
    return Cli.configured(tmp_path, f"sqlite:///{tmp_path / 'never-used.db'}")


# -- the corpus ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", corpus_params())
def test_each_conformance_file_is_accepted_or_refused_with_named_problems(path: Path | None) -> None:
    if path is None:
        corpus_missing()
    checked = definitions.check(definitions.read_source(path))
    for problem in checked.problems:
        assert isinstance(problem, Problem)
        assert CODE.fullmatch(problem.code), problem
        assert problem.file == str(path), problem
        assert isinstance(problem.line, int) and not isinstance(problem.line, bool) and problem.line >= 0, problem
        assert problem.message.strip(), problem
    # accepted means runnable: a parsed process, and nothing to complain about
    assert (checked.bundle is not None) == (not checked.problems)


@pytest.fixture(scope="module")
def corpus_validated(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """``cityflow validate`` given every corpus file at once (one subprocess for all of them)."""
    files = require_corpus()
    workdir = tmp_path_factory.mktemp("validate-corpus")
    return Cli.configured(workdir, f"sqlite:///{workdir / 'never-used.db'}")("validate", *files)


def test_validating_the_whole_corpus_reports_exactly_the_problems_found_in_process(
    corpus_validated: subprocess.CompletedProcess[str],
) -> None:
    problems = [p for path in require_corpus() for p in definitions.check(definitions.read_source(path)).problems]
    assert corpus_validated.returncode in (0, 1)
    assert corpus_validated.returncode == (1 if problems else 0)
    assert "Traceback" not in corpus_validated.stdout + corpus_validated.stderr
    assert corpus_validated.stdout == "".join(f"{p}\n" for p in problems)


def test_every_line_of_the_corpus_validation_is_one_named_problem(
    corpus_validated: subprocess.CompletedProcess[str],
) -> None:
    lines = corpus_validated.stdout.splitlines()
    assert lines, "the corpus has files cityflow refuses; expected their problems"
    not_problems = [line for line in lines if not PROBLEM_LINE.match(line)]
    assert not_problems == []


# -- hostile XML -----------------------------------------------------------------------------------

XXE = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE bpmn:definitions [
  <!ENTITY secret SYSTEM "file:///etc/passwd">
]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="defs" targetNamespace="https://cityflow.example/tests">
  <bpmn:process id="&secret;" name="&secret;" isExecutable="true">
    <bpmn:startEvent id="start" name="&secret;"/>
    <bpmn:unknownElement>&secret;</bpmn:unknownElement>
  </bpmn:process>
</bpmn:definitions>
"""

BILLION_LAUGHS = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE bpmn:definitions [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="defs" targetNamespace="https://cityflow.example/tests">
  <bpmn:process id="laughs" name="&lol9;" isExecutable="true">
    <bpmn:startEvent id="start"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_validate_refuses_an_xxe_file_without_ever_reading_the_entity(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "xxe.bpmn"
    path.write_text(XXE, encoding="utf-8")
    result = cli("validate", path)
    assert result.returncode == 1
    assert result.stdout == f"{path}:2: XML_DTD_FORBIDDEN: DTDs and entities are not allowed\n"
    assert "root:" not in result.stdout + result.stderr


def test_validate_refuses_a_billion_laughs_file_as_a_forbidden_dtd(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "laughs.bpmn"
    path.write_text(BILLION_LAUGHS, encoding="utf-8")
    result = cli("validate", path)
    assert result.returncode == 1
    assert [line.split(": ")[1] for line in result.stdout.splitlines()] == ["XML_DTD_FORBIDDEN"]
    assert "lollol" not in result.stdout + result.stderr


# -- definitions that parse but cannot run ----------------------------------------------------------

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  id="defs" targetNamespace="https://cityflow.example/tests">
"""


def _process(key: str, element: str, extra_flows: str = "") -> str:
    """start → ``element`` (id ``step``) → end, as one executable process named ``key``."""
    return (
        HEADER
        + f"""  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="to_step" sourceRef="start" targetRef="step"/>
    {element}
    <bpmn:sequenceFlow id="to_end" sourceRef="step" targetRef="end"/>{extra_flows}
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
    )


UNRUNNABLE = {
    "bad_script": (
        _process(
            "bad_script",
            '<bpmn:scriptTask id="step" name="Read files" scriptFormat="python">'
            "<bpmn:script>os = __import__('os')</bpmn:script></bpmn:scriptTask>",
        ),
        "BAD_SCRIPT",
        "__import__",
    ),
    "bad_condition": (
        _process(
            "bad_condition",
            '<bpmn:exclusiveGateway id="step" name="Large amount?" default="to_end"/>',
            '\n    <bpmn:sequenceFlow id="large" sourceRef="step" targetRef="end">'
            '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${amount &gt;}</bpmn:conditionExpression>'
            "</bpmn:sequenceFlow>",
        ),
        "BAD_CONDITION",
        "",
    ),
    "unknown_handler": (
        _process(
            "unknown_handler",
            '<bpmn:serviceTask id="step" name="Archive invoice" camunda:delegateExpression="#{archiveService}"/>',
        ),
        "UNKNOWN_HANDLER",
        "archiveService",
    ),
    "unknown_called_element": (
        _process(
            "unknown_called_element",
            '<bpmn:callActivity id="step" name="Request documents" calledElement="request_documents"/>',
        ),
        "UNKNOWN_CALLED_ELEMENT",
        "request_documents",
    ),
}


def _line_of(text: str, marker: str) -> int:
    return text[: text.index(marker)].count("\n") + 1


@pytest.mark.parametrize(("key", "expected_code", "named"), [(k, v[1], v[2]) for k, v in UNRUNNABLE.items()])
def test_a_definition_that_cannot_run_gets_a_named_problem_at_its_element(
    tmp_path: Path, key: str, expected_code: str, named: str
) -> None:
    content = UNRUNNABLE[key][0]
    path = tmp_path / f"{key}.bpmn"
    path.write_text(content, encoding="utf-8")
    checked = definitions.check(definitions.read_source(path))
    assert [p.code for p in checked.problems] == [expected_code], [str(p) for p in checked.problems]
    (problem,) = checked.problems
    assert problem.file == str(path)
    marker = '<bpmn:sequenceFlow id="large"' if expected_code == "BAD_CONDITION" else 'id="step"'
    assert problem.line == _line_of(content, marker)
    assert named in problem.message
    assert checked.bundle is None


def test_validate_names_every_problem_of_several_paths_without_a_traceback(cli: Cli, tmp_path: Path) -> None:
    files = []
    for key, (content, _code, _named) in UNRUNNABLE.items():
        files.append(tmp_path / f"{key}.bpmn")
        files[-1].write_text(content, encoding="utf-8")
    empty = tmp_path / "empty_folder"
    empty.mkdir()
    nowhere = tmp_path / "no" / "such" / "process"

    result = cli("validate", *files, empty, nowhere)
    assert result.returncode == 1
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert all(PROBLEM_LINE.match(line) for line in lines), lines
    codes = {line.split(":", 1)[0]: line.split(": ")[1] for line in lines}
    expected = {str(path): UNRUNNABLE[path.stem][1] for path in files}
    assert codes == expected | {str(empty): "NO_BPMN", str(nowhere): "FILE_NOT_FOUND"}
    assert "archiveService" in next(line for line in lines if "UNKNOWN_HANDLER" in line)
