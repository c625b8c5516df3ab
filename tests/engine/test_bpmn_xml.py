"""Hardened reading of BPMN/DMN files and their validation against the OMG schemas."""

from __future__ import annotations

import os
import random
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from engine import bpmn_xml
from engine.bpmn_xml import element_line, parse_xml, read_definition, schema_problems
from engine.errors import Problem
from tests.conformance.corpus import corpus_id, corpus_missing, corpus_params

KNOWN_CODES = {
    "FILE_UNREADABLE",
    "FILE_TOO_LARGE",
    "XML_DTD_FORBIDDEN",
    "XML_TOO_DEEP",
    "XML_MALFORMED",
    "NOT_BPMN",
    "XSD_INVALID",
}

BPMN_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'
    ' id="defs" targetNamespace="http://cityflow.example/bpmn">\n'
)

VALID_BPMN = (
    BPMN_HEAD
    + """  <bpmn:process id="permit" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review" name="Review application"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
).encode()

DMN_13 = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"
             id="permit_fee" name="Permit fee" namespace="http://cityflow.example/dmn">
  <decision id="fee" name="Fee">
    <decisionTable id="fee_table" hitPolicy="UNIQUE">
      <input id="in_kind" label="Kind">
        <inputExpression id="in_kind_expr" typeRef="string">
          <text>kind</text>
        </inputExpression>
      </input>
      <output id="out_fee" name="fee" typeRef="number"/>
      <rule id="r1">
        <inputEntry id="r1_in"><text>"residential"</text></inputEntry>
        <outputEntry id="r1_out"><text>50</text></outputEntry>
      </rule>
      <rule id="r2">
        <inputEntry id="r2_in"><text>"commercial"</text></inputEntry>
        <outputEntry id="r2_out"><text>200</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""


def codes(problems: list[Problem]) -> list[str]:
    return [p.code for p in problems]


def line_of(data: bytes, marker: bytes) -> int:
    """1-based line of the first occurrence of ``marker`` in ``data``."""
    at = data.index(marker)
    return data.count(b"\n", 0, at) + 1


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A local TCP port that records whether anything tried to connect to it."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    try:
        yield server
    finally:
        server.close()


def connection_attempts(server: socket.socket) -> int:
    attempts = 0
    while True:
        try:
            conn, _ = server.accept()
        except BlockingIOError:
            return attempts
        conn.close()
        attempts += 1


# --------------------------------------------------------------------------- DTDs


def test_xxe_reading_etc_passwd_is_refused() -> None:
    data = b"""<?xml version="1.0"?>
<!DOCTYPE bpmn:definitions [
  <!ENTITY xxe SYSTEM "file:///etc/passwd">
]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="d" targetNamespace="urn:x">
  <bpmn:documentation>&xxe;</bpmn:documentation>
</bpmn:definitions>
"""
    tree, problems = parse_xml(data, "xxe.bpmn")

    assert tree is None
    assert codes(problems) == ["XML_DTD_FORBIDDEN"]
    assert problems[0].message == "DTDs and entities are not allowed"
    assert problems[0].line == 2
    everything = " ".join(str(p) for p in problems)
    assert "root:" not in everything
    passwd = Path("/etc/passwd")
    if passwd.exists():
        for entry in passwd.read_text(errors="replace").splitlines():
            if entry.strip():
                assert entry not in everything


def test_xxe_through_read_definition_is_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "xxe.bpmn"
    path.write_bytes(
        b'<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<d>&xxe;</d>\n'
    )

    tree, problems = read_definition(path, "uploads/xxe.bpmn")

    assert tree is None
    assert [str(p) for p in problems] == [
        "uploads/xxe.bpmn:1: XML_DTD_FORBIDDEN: DTDs and entities are not allowed"
    ]


def test_xxe_via_parameter_entity_is_refused_without_touching_the_network(
    listener: socket.socket,
) -> None:
    port = listener.getsockname()[1]
    data = f"""<?xml version="1.0"?>
<!DOCTYPE data [
  <!ENTITY % remote SYSTEM "http://127.0.0.1:{port}/evil.dtd">
  %remote;
]>
<data>&send;</data>
""".encode()

    tree, problems = parse_xml(data, "param.bpmn")

    assert tree is None
    assert codes(problems) == ["XML_DTD_FORBIDDEN"]
    assert connection_attempts(listener) == 0


def test_external_dtd_url_is_refused_without_touching_the_network(
    listener: socket.socket,
) -> None:
    port = listener.getsockname()[1]
    data = (
        f'<!DOCTYPE bpmn:definitions SYSTEM "http://127.0.0.1:{port}/bpmn.dtd">\n'
    ).encode() + VALID_BPMN.split(b"\n", 1)[1]

    tree, problems = parse_xml(data, "dtd.bpmn")

    assert tree is None
    assert codes(problems) == ["XML_DTD_FORBIDDEN"]
    assert connection_attempts(listener) == 0


def test_billion_laughs_is_refused() -> None:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    data = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n'
        + "\n".join(entities)
        + "\n]>\n<lolz>&lol9;</lolz>\n"
    ).encode()

    tree, problems = parse_xml(data, "lol.bpmn")

    assert tree is None
    assert codes(problems) == ["XML_DTD_FORBIDDEN"]


def test_a_bare_doctype_without_declarations_is_refused_as_well() -> None:
    data = b"<!DOCTYPE bpmn:definitions>\n" + VALID_BPMN.split(b"\n", 1)[1]

    tree, problems = parse_xml(data, "bare.bpmn")

    assert tree is None
    assert codes(problems) == ["XML_DTD_FORBIDDEN"]


def test_a_doctype_is_refused_even_when_the_rest_is_not_well_formed() -> None:
    tree, problems = parse_xml(b'<!DOCTYPE x [<!ENTITY a "b">]>\n<x><y></x>', "x.bpmn")

    assert tree is None
    assert codes(problems) == ["XML_DTD_FORBIDDEN"]


def test_the_word_doctype_inside_a_comment_is_not_a_doctype() -> None:
    data = VALID_BPMN.replace(
        b"<bpmn:process",
        b"<!-- <!DOCTYPE x> is not allowed here -->\n  <bpmn:process",
        1,
    )

    tree, problems = parse_xml(data, "comment.bpmn")

    assert problems == []
    assert tree is not None


def test_xsi_schema_location_is_never_fetched_during_validation(
    listener: socket.socket,
) -> None:
    port = listener.getsockname()[1]
    data = VALID_BPMN.replace(
        b'id="defs"',
        b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        b'xsi:schemaLocation="http://www.omg.org/spec/BPMN/20100524/MODEL '
        + f"http://127.0.0.1:{port}/BPMN20.xsd".encode()
        + b'" id="defs"',
    )

    tree, problems = parse_xml(data, "located.bpmn")
    assert tree is not None and problems == []

    assert schema_problems(tree, "located.bpmn") == []
    assert connection_attempts(listener) == 0


# --------------------------------------------------------------------------- limits


def test_a_hundred_thousand_levels_of_nesting_are_refused_as_too_deep() -> None:
    depth = 100_000
    data = b"<a>" * depth + b"</a>" * depth

    tree, problems = parse_xml(data, "deep.bpmn")

    assert tree is None
    assert codes(problems) == ["XML_TOO_DEEP"]


def test_nesting_exactly_at_the_depth_limit_is_accepted() -> None:
    depth = bpmn_xml.MAX_DEPTH
    data = b"<a>" * depth + b"</a>" * depth

    tree, problems = parse_xml(data, "limit.bpmn")

    assert problems == []
    assert tree is not None


def test_one_level_past_the_depth_limit_is_refused() -> None:
    depth = bpmn_xml.MAX_DEPTH + 1
    data = b"<a>" * depth + b"</a>" * depth

    tree, problems = parse_xml(data, "limit.bpmn")

    assert tree is None
    assert codes(problems) == ["XML_TOO_DEEP"]


def test_a_lower_depth_limit_reports_the_line_of_the_first_element_too_deep(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bpmn_xml, "MAX_DEPTH", 3)
    data = b"<a>\n <b>\n  <c>\n   <!-- fine -->\n   <d/>\n  </c>\n </b>\n</a>\n"

    tree, problems = parse_xml(data, "deep.bpmn")

    assert tree is None
    assert [(p.code, p.line) for p in problems] == [("XML_TOO_DEEP", 5)]
    assert "3" in problems[0].message


def test_data_over_the_size_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bpmn_xml, "MAX_FILE_BYTES", 100)

    tree, problems = parse_xml(b"<a>" + b" " * 200 + b"</a>", "big.bpmn")

    assert tree is None
    assert codes(problems) == ["FILE_TOO_LARGE"]


def test_a_file_over_the_size_limit_is_refused_without_being_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "big.bpmn"
    path.write_bytes(VALID_BPMN)
    monkeypatch.setattr(bpmn_xml, "MAX_FILE_BYTES", len(VALID_BPMN) - 1)

    def no_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("an oversized file must not be opened")

    monkeypatch.setattr(bpmn_xml, "open", no_open, raising=False)

    tree, problems = read_definition(path, "big.bpmn")

    assert tree is None
    assert [(p.file, p.code) for p in problems] == [("big.bpmn", "FILE_TOO_LARGE")]


def test_a_file_exactly_at_the_size_limit_is_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "exact.bpmn"
    path.write_bytes(VALID_BPMN)
    monkeypatch.setattr(bpmn_xml, "MAX_FILE_BYTES", len(VALID_BPMN))

    tree, problems = read_definition(path)

    assert problems == []
    assert tree is not None


# --------------------------------------------------------------------------- well-formedness


def test_malformed_xml_is_reported_with_lxmls_line_and_message() -> None:
    data = b"<a>\n  <b>\n    <c/>\n</a>\n"

    tree, problems = parse_xml(data, "broken.bpmn")

    assert tree is None
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.file, problem.line, problem.code) == (
        "broken.bpmn",
        4,
        "XML_MALFORMED",
    )
    assert "mismatch" in problem.message
    assert str(problem).startswith("broken.bpmn:4: XML_MALFORMED: ")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   ",
        b"\x00\x01\x02\xff",
        b"<a>",
        b"<a/><b/>",
        b'<?xml version="1.0" encoding="no-such-encoding"?><a/>',
        b"<a>&undefined;</a>",
        b"<a>\x80</a>",
        b'<a b="1" b="2"/>',
        b"<x:a/>",
    ],
    ids=[
        "empty",
        "blank",
        "binary",
        "unclosed",
        "two-roots",
        "unknown-encoding",
        "undefined-entity",
        "bad-utf8",
        "duplicate-attribute",
        "undeclared-prefix",
    ],
)
def test_anything_that_is_not_well_formed_is_xml_malformed(data: bytes) -> None:
    tree, problems = parse_xml(data, "junk.bpmn")

    assert tree is None
    assert codes(problems) == ["XML_MALFORMED"]
    assert problems[0].message
    assert problems[0].line >= 0


def test_text_instead_of_bytes_is_reported_not_raised() -> None:
    tree, problems = parse_xml("<a/>", "text.bpmn")  # type: ignore[arg-type]

    assert tree is None
    assert codes(problems) == ["XML_MALFORMED"]


def test_mangled_definitions_never_raise() -> None:
    rng = random.Random(20240601)
    fragments = [
        b"<",
        b">",
        b"&",
        b"&amp;",
        b"<!DOCTYPE x>",
        b"]]>",
        b"\x00",
        b"\xff",
        b'"',
        b"</",
    ]
    for _ in range(300):
        data = bytearray(VALID_BPMN)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data))
            choice = rng.random()
            if choice < 0.3:
                del data[at : at + rng.randint(1, 20)]
            elif choice < 0.6:
                data[at:at] = rng.choice(fragments)
            elif choice < 0.8:
                data[at] = rng.randrange(256)
            else:
                del data[at:]
        tree, problems = parse_xml(bytes(data), "fuzz.bpmn")
        if tree is not None:
            problems = schema_problems(tree, "fuzz.bpmn")
        else:
            assert problems
        for problem in problems:
            assert isinstance(problem, Problem)
            assert problem.code in KNOWN_CODES
            assert isinstance(problem.line, int) and problem.line >= 0


# --------------------------------------------------------------------------- schema


def test_a_valid_minimal_bpmn_gives_no_problems() -> None:
    tree, problems = parse_xml(VALID_BPMN, "ok.bpmn")

    assert problems == []
    assert tree is not None
    assert schema_problems(tree, "ok.bpmn") == []


def test_an_unknown_bpmn_element_inside_a_process_is_xsd_invalid_at_its_line() -> None:
    data = VALID_BPMN.replace(
        b'<bpmn:endEvent id="end"/>', b'<bpmn:endEvent id="end"/>\n    <bpmn:foo/>'
    )
    tree, problems = parse_xml(data, "foo.bpmn")
    assert tree is not None and problems == []

    problems = schema_problems(tree, "foo.bpmn")

    assert codes(problems) == ["XSD_INVALID"]
    assert problems[0].line == line_of(data, b"<bpmn:foo/>")
    assert "bpmn:foo" in problems[0].message
    assert "{http" not in problems[0].message


def test_a_sequence_flow_missing_its_source_ref_is_xsd_invalid_at_its_line() -> None:
    data = VALID_BPMN.replace(b'sourceRef="review" ', b"")
    tree, problems = parse_xml(data, "flow.bpmn")
    assert tree is not None and problems == []

    problems = schema_problems(tree, "flow.bpmn")

    assert codes(problems) == ["XSD_INVALID"]
    assert problems[0].line == line_of(data, b'<bpmn:sequenceFlow id="f2"')
    assert "sourceRef" in problems[0].message
    assert "bpmn:sequenceFlow" in problems[0].message


def test_each_schema_error_is_its_own_problem() -> None:
    data = VALID_BPMN.replace(b'isExecutable="true"', b'isExecutable="maybe"').replace(
        b"</bpmn:process>",
        b'</bpmn:process>\n  <bpmn:process id="second">\n'
        b'    <bpmn:sequenceFlow id="f9" targetRef="x"/>\n  </bpmn:process>',
    )
    tree, _ = parse_xml(data, "two.bpmn")
    assert tree is not None

    problems = schema_problems(tree, "two.bpmn")

    assert [(p.code, p.line) for p in problems] == [
        ("XSD_INVALID", line_of(data, b'isExecutable="maybe"')),
        ("XSD_INVALID", line_of(data, b'<bpmn:sequenceFlow id="f9"')),
    ]


def test_a_bpmn_with_a_default_namespace_is_validated_too() -> None:
    data = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:x">
  <process id="p" isExecutable="false">
    <task/>
    <bogus/>
  </process>
</definitions>
"""
    tree, _ = parse_xml(data, "plain.bpmn")
    assert tree is not None

    problems = schema_problems(tree, "plain.bpmn")

    assert codes(problems) == ["XSD_INVALID"]
    assert problems[0].line == 5
    assert "bpmn:bogus" in problems[0].message


def test_schema_messages_use_the_prefixes_the_file_itself_declares() -> None:
    data = VALID_BPMN.replace(b"bpmn:", b"semantic:").replace(
        b"xmlns:bpmn=", b"xmlns:semantic="
    )
    data = data.replace(
        b'<semantic:endEvent id="end"/>',
        b'<semantic:endEvent id="end"/><semantic:foo/>',
    )
    tree, _ = parse_xml(data, "semantic.bpmn")
    assert tree is not None

    problems = schema_problems(tree, "semantic.bpmn")

    assert codes(problems) == ["XSD_INVALID"]
    assert "semantic:foo" in problems[0].message
    assert "bpmn:" not in problems[0].message


def test_a_flood_of_schema_errors_is_capped_with_a_summary() -> None:
    count = bpmn_xml.MAX_SCHEMA_PROBLEMS + 50
    body = "".join(
        f'  <bpmn:process id="p{i}" isExecutable="maybe"/>\n' for i in range(count)
    )
    data = (BPMN_HEAD + body + "</bpmn:definitions>\n").encode()
    tree, _ = parse_xml(data, "flood.bpmn")
    assert tree is not None

    problems = schema_problems(tree, "flood.bpmn")

    assert len(problems) == bpmn_xml.MAX_SCHEMA_PROBLEMS + 1
    assert set(codes(problems)) == {"XSD_INVALID"}
    assert problems[-1].message == "50 more schema errors not shown"


def test_xinclude_is_never_processed() -> None:
    data = VALID_BPMN.replace(
        b"<bpmn:process",
        b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude"'
        b' href="file:///etc/passwd" parse="text"/>\n  <bpmn:process',
        1,
    )

    tree, problems = parse_xml(data, "xinclude.bpmn")

    assert tree is not None and problems == []
    assert b"root:" not in etree.tostring(tree)


def test_validation_from_several_threads_at_once_gives_the_same_answers() -> None:
    broken = VALID_BPMN.replace(b'sourceRef="review" ', b"")
    results: list[list[str]] = []

    def check(data: bytes) -> None:
        tree, _ = parse_xml(data, "t.bpmn")
        assert tree is not None
        results.append([str(p) for p in schema_problems(tree, "t.bpmn")])

    threads = [
        threading.Thread(target=check, args=(VALID_BPMN if i % 2 else broken,))
        for i in range(16)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 16
    assert sorted(len(r) for r in results) == [0] * 8 + [1] * 8


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (b"<html><body/></html>", "'html'"),
        (b"<definitions/>", "'definitions' (no namespace)"),
        (
            b'<bpmn:process xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="p"/>',
            "'process'",
        ),
        (b'<definitions xmlns="urn:other"/>', "'urn:other'"),
    ],
    ids=["html", "no-namespace", "bpmn-process-root", "other-namespace"],
)
def test_an_unknown_root_element_is_not_bpmn_and_named(data: bytes, found: str) -> None:
    tree, problems = parse_xml(data, "other.xml")
    assert tree is not None and problems == []

    problems = schema_problems(tree, "other.xml")

    assert codes(problems) == ["NOT_BPMN"]
    assert problems[0].line == 1
    assert found in problems[0].message


def test_a_minimal_dmn_13_decision_table_validates_clean() -> None:
    tree, problems = parse_xml(DMN_13, "fee.dmn")
    assert tree is not None and problems == []

    assert schema_problems(tree, "fee.dmn") == []


DMN_NAMESPACES = {
    "1.1": b"http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "1.2": b"http://www.omg.org/spec/DMN/20180521/MODEL/",
    "1.3": b"https://www.omg.org/spec/DMN/20191111/MODEL/",
}


def dmn(version: str) -> bytes:
    return DMN_13.replace(DMN_NAMESPACES["1.3"], DMN_NAMESPACES[version])


@pytest.mark.parametrize("version", sorted(DMN_NAMESPACES))
def test_each_dmn_version_is_checked_against_its_own_schema(version: str) -> None:
    clean, _ = parse_xml(dmn(version), "fee.dmn")
    data = dmn(version).replace(b'hitPolicy="UNIQUE"', b'hitPolicy="SOMETIMES"')
    broken, _ = parse_xml(data, "fee.dmn")
    assert clean is not None and broken is not None

    assert schema_problems(clean, "fee.dmn") == []
    problems = schema_problems(broken, "fee.dmn")
    assert [(p.code, p.line) for p in problems] == [
        ("XSD_INVALID", line_of(data, b"<decisionTable"))
    ]
    assert "dmn:decisionTable" in problems[0].message
    assert "SOMETIMES" in problems[0].message


def test_a_dmn_12_file_with_a_diagram_section_validates() -> None:
    data = dmn("1.2").replace(
        b"</definitions>",
        b"""  <dmndi:DMNDI xmlns:dmndi="http://www.omg.org/spec/DMN/20180521/DMNDI/"
               xmlns:dc="http://www.omg.org/spec/DMN/20180521/DC/">
    <dmndi:DMNDiagram id="diagram">
      <dmndi:DMNShape id="fee_shape" dmnElementRef="fee">
        <dc:Bounds height="80" width="180" x="150" y="80"/>
      </dmndi:DMNShape>
    </dmndi:DMNDiagram>
  </dmndi:DMNDI>
</definitions>""",
    )
    tree, _ = parse_xml(data, "fee12.dmn")
    assert tree is not None

    assert schema_problems(tree, "fee12.dmn") == []


def test_a_dmn_decision_table_without_an_output_is_xsd_invalid() -> None:
    data = DMN_13.replace(b'<output id="out_fee" name="fee" typeRef="number"/>', b"")
    tree, _ = parse_xml(data, "nooutput.dmn")
    assert tree is not None

    problems = schema_problems(tree, "nooutput.dmn")

    assert problems
    assert set(codes(problems)) == {"XSD_INVALID"}
    assert all("{http" not in p.message for p in problems)


def test_read_definition_reads_parses_and_validates(tmp_path: Path) -> None:
    path = tmp_path / "flow.bpmn"
    path.write_bytes(VALID_BPMN.replace(b'sourceRef="review" ', b""))

    tree, problems = read_definition(path)

    assert tree is not None
    assert [(p.file, p.code) for p in problems] == [(str(path), "XSD_INVALID")]


def test_a_missing_file_is_unreadable(tmp_path: Path) -> None:
    tree, problems = read_definition(tmp_path / "nope.bpmn", "nope.bpmn")

    assert tree is None
    assert [(p.file, p.code) for p in problems] == [("nope.bpmn", "FILE_UNREADABLE")]


def test_a_directory_is_unreadable(tmp_path: Path) -> None:
    tree, problems = read_definition(tmp_path)

    assert tree is None
    assert codes(problems) == ["FILE_UNREADABLE"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need POSIX")
def test_a_named_pipe_is_unreadable_rather_than_waited_on(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.bpmn"
    os.mkfifo(pipe)

    tree, problems = read_definition(pipe)

    assert tree is None
    assert codes(problems) == ["FILE_UNREADABLE"]


def test_element_line_is_the_source_line_or_zero() -> None:
    tree, _ = parse_xml(VALID_BPMN, "ok.bpmn")
    assert tree is not None
    task = tree.getroot().find(
        ".//{http://www.omg.org/spec/BPMN/20100524/MODEL}userTask"
    )
    assert task is not None

    assert element_line(task) == line_of(VALID_BPMN, b"<bpmn:userTask")
    assert element_line(etree.Element("made-up")) == 0


# --------------------------------------------------------------------------- conformance corpus


@pytest.mark.parametrize("path", corpus_params((".bpmn", ".dmn")))
def test_every_conformance_file_is_read_without_an_exception(path: Path | None) -> None:
    if path is None:
        corpus_missing()
    name = corpus_id(path)

    tree, problems = read_definition(path, name)

    assert isinstance(problems, list)
    if tree is None:
        assert problems
    for problem in problems:
        assert isinstance(problem, Problem)
        assert problem.file == name
        assert problem.code in KNOWN_CODES
        assert isinstance(problem.line, int) and problem.line >= 0
