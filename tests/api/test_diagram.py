"""The BPMN diagram as SVG: the sample workflow, instance marks, foreign files, hostile names.

The conformance corpus is other people's BPMN, not part of the repository: the shared
folder next to the clone (override with ``CITYFLOW_CONFORMANCE_DIR``). Where it is absent
its tests are skipped with a note, and under CI they fail (``tests/conformance/corpus.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from api.diagram import NO_LAYOUT_TEXT, UNREADABLE_TEXT, render_svg
from tests.conformance.corpus import corpus_file, corpus_missing, corpus_params

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "workflows" / "suggestion" / "suggestion.bpmn"
SVG = "{http://www.w3.org/2000/svg}"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def parse_svg(text: str) -> etree._Element:
    """The SVG as a tree; fails the test when it is not well-formed or not an svg."""
    root = etree.fromstring(text.encode("utf-8"))
    assert root.tag == f"{SVG}svg"
    return root


def element_ids(svg: etree._Element) -> set[str]:
    return {str(g.get("data-element-id")) for g in svg.iter(f"{SVG}g") if g.get("data-element-id") is not None}


def group_of(svg: etree._Element, element_id: str) -> etree._Element:
    found = [g for g in svg.iter(f"{SVG}g") if g.get("data-element-id") == element_id]
    assert len(found) == 1, element_id
    return found[0]


def all_text(svg: etree._Element) -> str:
    return " ".join("".join(text.itertext()) for text in svg.iter(f"{SVG}text"))


def sample_files() -> dict[str, bytes]:
    return {SAMPLE.name: SAMPLE.read_bytes()}


def bpmn_document(process_body: str, di_body: str = "", names: str = "") -> bytes:
    diagram = (
        '<bpmndi:BPMNDiagram id="d"><bpmndi:BPMNPlane id="p" bpmnElement="proc">'
        f"{di_body}</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>"
        if di_body
        else ""
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
        'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
        'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="defs" targetNamespace="urn:test">'
        f'<bpmn:process id="proc" isExecutable="true"{names}>{process_body}</bpmn:process>'
        f"{diagram}</bpmn:definitions>"
    ).encode()


# -- the sample workflow -------------------------------------------------------------------------


def test_the_sample_suggestion_diagram_renders_as_an_svg_with_a_fitted_view_box() -> None:
    svg = parse_svg(render_svg(sample_files()))
    view_box = [float(part) for part in str(svg.get("viewBox")).split()]
    assert len(view_box) == 4 and view_box[2] > 0 and view_box[3] > 0
    # the pool spans x 120..1120, y 60..460; the view box holds it with a margin
    assert view_box[0] < 120 and view_box[1] < 60
    assert view_box[0] + view_box[2] > 1120 and view_box[1] + view_box[3] > 460
    assert svg.get("width") == "100%" and svg.get("height") is None
    assert svg.get("role") == "img"
    assert svg.find(f"{SVG}title") is not None and svg.find(f"{SVG}style") is not None


def test_the_sample_diagram_shows_every_element_of_the_process() -> None:
    svg = parse_svg(render_svg(sample_files()))
    process = etree.fromstring(SAMPLE.read_bytes()).find(f"{BPMN}process")
    assert process is not None
    expected = {
        str(el.get("id")) for el in process.iter() if el.get("id") and el.tag != f"{BPMN}laneSet" and el is not process
    }
    assert expected >= {"received", "review_suggestion", "flow_rejected", "lane_department"}
    assert expected <= element_ids(svg)
    assert "suggestion_participant" in element_ids(svg)


def test_the_sample_diagram_carries_the_korean_names_of_tasks_and_lanes() -> None:
    svg = parse_svg(render_svg(sample_files()))
    text = all_text(svg)
    for name in ("제안 검토", "처리 결과 등록", "기획조정실", "담당부서", "채택"):
        assert name in text, name
    review = group_of(svg, "review_suggestion")
    assert review.findtext(f"{SVG}title") == "제안 검토"


def test_every_element_group_has_a_title_for_hover_and_tap() -> None:
    svg = parse_svg(render_svg(sample_files()))
    for g in svg.iter(f"{SVG}g"):
        if g.get("data-element-id") is not None:
            assert (g.findtext(f"{SVG}title") or "").strip(), g.get("data-element-id")


def test_the_title_defaults_to_the_process_name_and_can_be_given() -> None:
    assert parse_svg(render_svg(sample_files())).findtext(f"{SVG}title") == "시민제안 처리"
    given = parse_svg(render_svg(sample_files(), title="제안 #42"))
    assert given.findtext(f"{SVG}title") == "제안 #42"


def test_the_font_stack_has_korean_fonts() -> None:
    svg = parse_svg(render_svg(sample_files()))
    assert "Noto Sans KR" in str(svg.get("font-family"))
    assert "Malgun Gothic" in (svg.findtext(f"{SVG}style") or "")


# -- marks ---------------------------------------------------------------------------------------


def test_marks_give_the_elements_their_state_classes() -> None:
    marks = {"review_suggestion": "active", "received": "completed", "flow_to_review": "completed"}
    svg = parse_svg(render_svg(sample_files(), marks))
    assert "cf-active" in str(group_of(svg, "review_suggestion").get("class")).split()
    assert "cf-completed" in str(group_of(svg, "received").get("class")).split()
    assert "cf-completed" in str(group_of(svg, "flow_to_review").get("class")).split()
    assert not any(
        mark in str(group_of(svg, "write_answer").get("class"))
        for mark in ("cf-active", "cf-completed", "cf-overdue", "cf-error")
    )
    style = svg.findtext(f"{SVG}style") or ""
    for mark in ("cf-completed", "cf-active", "cf-overdue", "cf-error"):
        assert f".{mark} " in style


def test_unknown_marks_and_unknown_ids_are_ignored() -> None:
    svg = parse_svg(render_svg(sample_files(), {"review_suggestion": "exploded", "no_such_task": "active"}))
    assert str(group_of(svg, "review_suggestion").get("class")).split() == ["cf-element", "cf-task"]
    assert "no_such_task" not in element_ids(svg)


# -- other people's files ------------------------------------------------------------------------


@pytest.mark.parametrize("path", corpus_params())
def test_each_conformance_file_renders_to_well_formed_svg(path: Path | None) -> None:
    if path is None:
        corpus_missing()
    svg = parse_svg(render_svg({path.name: path.read_bytes()}))
    assert svg.get("viewBox")
    assert element_ids(svg), "every corpus file has a layout, so something must be drawn"


def test_a_folder_of_several_files_draws_the_process_plane() -> None:
    files = {"department_for_category.dmn": (SAMPLE.parent / "department_for_category.dmn").read_bytes()}
    files.update(sample_files())
    svg = parse_svg(render_svg(files))
    assert "review_suggestion" in element_ids(svg)


# a collaboration whose sub-process has a diagram of its own, written before the main one
SUB_PROCESS_PLANE_FIRST = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
                  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
                  xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
                  id="defs" targetNamespace="urn:cityflow:tests">
  <bpmn:collaboration id="collab">
    <bpmn:participant id="pool" name="Permit office" processRef="permit"/>
  </bpmn:collaboration>
  <bpmn:process id="permit" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="inspection"/>
    <bpmn:subProcess id="inspection" name="Inspection">
      <bpmn:startEvent id="inner_start"/>
      <bpmn:sequenceFlow id="inner_f1" sourceRef="inner_start" targetRef="visit_site"/>
      <bpmn:userTask id="visit_site" name="Visit the site"/>
    </bpmn:subProcess>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="inspection_diagram">
    <bpmndi:BPMNPlane id="inspection_plane" bpmnElement="inspection">
      <bpmndi:BPMNShape id="inner_start_di" bpmnElement="inner_start"><dc:Bounds x="0" y="0" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="visit_site_di" bpmnElement="visit_site"><dc:Bounds x="80" y="-22" width="100" height="80"/></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="inner_f1_di" bpmnElement="inner_f1"><di:waypoint x="36" y="18"/><di:waypoint x="80" y="18"/></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
  <bpmndi:BPMNDiagram id="main_diagram">
    <bpmndi:BPMNPlane id="main_plane" bpmnElement="collab">
      <bpmndi:BPMNShape id="pool_di" bpmnElement="pool" isHorizontal="true"><dc:Bounds x="0" y="0" width="400" height="160"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="60" y="62" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="inspection_di" bpmnElement="inspection" isExpanded="false"><dc:Bounds x="160" y="40" width="100" height="80"/></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="96" y="80"/><di:waypoint x="160" y="80"/></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def test_the_main_plane_is_chosen_over_the_sub_process_planes() -> None:
    svg = parse_svg(render_svg({"permit.bpmn": SUB_PROCESS_PLANE_FIRST}))
    assert element_ids(svg) == {"pool", "start", "f1", "inspection"}
    assert "cf-pool" in str(group_of(svg, "pool").get("class")).split()


def test_the_main_plane_of_a_multi_diagram_conformance_file_is_drawn() -> None:
    path = corpus_file("miwg/reference/C.4.0.bpmn")
    svg = parse_svg(render_svg({path.name: path.read_bytes()}))
    pools = [g for g in svg.iter(f"{SVG}g") if "cf-pool" in str(g.get("class"))]
    assert pools


# -- hostile and broken input --------------------------------------------------------------------

HOSTILE = '<script>alert(1)</script>" onload="alert(2)'


def test_hostile_names_come_out_as_inert_text() -> None:
    escaped = HOSTILE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    data = bpmn_document(
        f'<bpmn:startEvent id="s" name="{escaped}"/>'
        f'<bpmn:userTask id="t" name="{escaped}"/>'
        f'<bpmn:sequenceFlow id="f" name="{escaped}" sourceRef="s" targetRef="t"/>',
        '<bpmndi:BPMNShape id="s_di" bpmnElement="s"><dc:Bounds x="10" y="10" width="36" height="36"/></bpmndi:BPMNShape>'
        '<bpmndi:BPMNShape id="t_di" bpmnElement="t"><dc:Bounds x="100" y="0" width="100" height="80"/></bpmndi:BPMNShape>'
        '<bpmndi:BPMNEdge id="f_di" bpmnElement="f"><di:waypoint x="46" y="28"/><di:waypoint x="100" y="28"/></bpmndi:BPMNEdge>',
        names=f' name="{escaped}"',
    )
    text = render_svg({"hostile.bpmn": data}, title=HOSTILE)
    svg = parse_svg(text)
    assert not [el for el in svg.iter() if isinstance(el.tag, str) and etree.QName(el).localname == "script"]
    for el in svg.iter():
        assert not any(str(name).lower().startswith("on") for name in el.attrib), el.attrib
    assert "alert(1)" in all_text(svg) or "alert(1)" in (group_of(svg, "t").findtext(f"{SVG}title") or "")
    assert svg.findtext(f"{SVG}title") == HOSTILE


def test_a_bpmn_without_layout_gives_the_no_layout_svg() -> None:
    data = bpmn_document('<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>')
    svg = parse_svg(render_svg({"bare.bpmn": data}))
    assert NO_LAYOUT_TEXT in all_text(svg)
    assert svg.get("viewBox") and svg.get("role") == "img"


def test_unreadable_files_give_a_small_svg_instead_of_an_error() -> None:
    doctype = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>'
    for files in ({"broken.bpmn": b"<bpmn:definitions"}, {"dtd.bpmn": doctype}, {}):
        svg = parse_svg(render_svg(files))
        assert UNREADABLE_TEXT in all_text(svg)


def test_shapes_with_bad_numbers_are_left_out_and_the_rest_is_drawn() -> None:
    data = bpmn_document(
        '<bpmn:task id="good" name="ok"/><bpmn:task id="nan"/><bpmn:task id="neg"/><bpmn:task id="text"/>'
        '<bpmn:sequenceFlow id="f" sourceRef="good" targetRef="nan"/>',
        '<bpmndi:BPMNShape bpmnElement="good"><dc:Bounds x="0" y="0" width="100" height="80"/></bpmndi:BPMNShape>'
        '<bpmndi:BPMNShape bpmnElement="nan"><dc:Bounds x="NaN" y="0" width="100" height="80"/></bpmndi:BPMNShape>'
        '<bpmndi:BPMNShape bpmnElement="neg"><dc:Bounds x="0" y="0" width="-100" height="80"/></bpmndi:BPMNShape>'
        '<bpmndi:BPMNShape bpmnElement="text"><dc:Bounds x="a" y="0" width="1e999" height="80"/></bpmndi:BPMNShape>'
        '<bpmndi:BPMNEdge bpmnElement="f"><di:waypoint x="inf" y="0"/><di:waypoint x="5" y="5"/></bpmndi:BPMNEdge>',
    )
    svg = parse_svg(render_svg({"odd.bpmn": data}))
    assert element_ids(svg) == {"good"}


def test_unknown_element_kinds_are_drawn_as_plain_rectangles() -> None:
    data = bpmn_document(
        '<bpmn:task id="t"/>',
        '<bpmndi:BPMNShape bpmnElement="t"><dc:Bounds x="0" y="0" width="100" height="80"/></bpmndi:BPMNShape>'
        '<bpmndi:BPMNShape bpmnElement="ghost"><dc:Bounds x="200" y="0" width="100" height="80"/></bpmndi:BPMNShape>',
    )
    svg = parse_svg(render_svg({"ghost.bpmn": data}))
    ghost = group_of(svg, "ghost")
    assert "cf-shape" in str(ghost.get("class"))
    assert ghost.find(f"{SVG}rect") is not None


def test_markers_follow_the_bpmn_attributes() -> None:
    data = bpmn_document(
        '<bpmn:userTask id="mi"><bpmn:multiInstanceLoopCharacteristics isSequential="true"/></bpmn:userTask>'
        '<bpmn:boundaryEvent id="b" attachedToRef="mi" cancelActivity="false">'
        "<bpmn:timerEventDefinition/></bpmn:boundaryEvent>"
        '<bpmn:exclusiveGateway id="g" default="f2"/><bpmn:task id="t"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="mi" targetRef="g"><bpmn:conditionExpression>x</bpmn:conditionExpression>'
        '</bpmn:sequenceFlow><bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="t"/>',
        '<bpmndi:BPMNShape bpmnElement="mi"><dc:Bounds x="0" y="0" width="100" height="80"/></bpmndi:BPMNShape>'
        '<bpmndi:BPMNShape bpmnElement="b"><dc:Bounds x="30" y="62" width="36" height="36"/></bpmndi:BPMNShape>'
        '<bpmndi:BPMNShape bpmnElement="g"><dc:Bounds x="150" y="15" width="50" height="50"/></bpmndi:BPMNShape>'
        '<bpmndi:BPMNShape bpmnElement="t"><dc:Bounds x="250" y="0" width="100" height="80"/></bpmndi:BPMNShape>'
        '<bpmndi:BPMNEdge bpmnElement="f1"><di:waypoint x="100" y="40"/><di:waypoint x="150" y="40"/></bpmndi:BPMNEdge>'
        '<bpmndi:BPMNEdge bpmnElement="f2"><di:waypoint x="200" y="40"/><di:waypoint x="250" y="40"/></bpmndi:BPMNEdge>',
    )
    svg = parse_svg(render_svg({"markers.bpmn": data}))
    boundary_outline = group_of(svg, "b").find(f"{SVG}circle")
    assert boundary_outline is not None and boundary_outline.get("stroke-dasharray")
    conditional = group_of(svg, "f1").find(f"{SVG}path")
    default = group_of(svg, "f2").find(f"{SVG}path")
    assert conditional is not None and conditional.get("marker-start") == "url(#cf-cond-start)"
    assert default is not None and default.get("marker-start") == "url(#cf-default-start)"
    assert default.get("marker-end") == "url(#cf-seq-end)"


def test_long_korean_task_names_wrap_onto_several_lines_inside_the_task() -> None:
    name = "민원 처리 결과를 담당부서에서 검토하고 시민에게 회신하기"
    data = bpmn_document(
        f'<bpmn:userTask id="t" name="{name}"/>',
        '<bpmndi:BPMNShape bpmnElement="t"><dc:Bounds x="0" y="0" width="100" height="80"/></bpmndi:BPMNShape>',
    )
    svg = parse_svg(render_svg({"long.bpmn": data}))
    spans = list(group_of(svg, "t").iter(f"{SVG}tspan"))
    assert len(spans) >= 3
    # Hangul counts about one em (12 units here): no line is wider than the task's inner width
    assert all(len(str(span.text)) * 12 <= 100 for span in spans)
    assert group_of(svg, "t").findtext(f"{SVG}title") == name
