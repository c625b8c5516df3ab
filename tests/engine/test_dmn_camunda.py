"""Decisions (DMN) as Camunda runs them: several decisions per file, requirement graphs, every hit
policy, result variables and their mappings, FEEL's simple unary tests, and a named refusal of the rest."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from engine import definitions
from engine.decisions import unary_tests
from engine.sandbox import SandboxEnvironment
from tests.engine.helpers import Driver, bpmn, chain, process, user_task, write_folder

START, END = '<bpmn:startEvent id="start"/>', '<bpmn:endEvent id="end"/>'
DMN_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="rules" name="규정" '
            'namespace="https://cityflow.example/tests/dmn">\n')

Cell = str
Output = str | tuple[str, str] | tuple[str, str, str]  # name, typeRef, outputValues


def dmn(*decisions: str) -> str:
    return DMN_HEAD + "\n".join(decisions) + "\n</definitions>\n"


def requirements(requires: tuple[str, ...]) -> str:
    return "".join(f'<informationRequirement><requiredDecision href="#{r}"/></informationRequirement>'
                   for r in requires)


def table(decision_id: str, inputs: list[tuple[str, str]], outputs: list[Output],
          rules: list[tuple[list[Cell], list[Cell]]], hit: str = "UNIQUE", aggregation: str = "",
          requires: tuple[str, ...] = ()) -> str:
    """A decision table: inputs (expression, typeRef), outputs (name[, typeRef[, outputValues]]), rules."""
    columns = "".join(
        f'<input id="{decision_id}_in{k}" label="{escape(e)}"><inputExpression typeRef="{t}"><text>{escape(e)}</text>'
        "</inputExpression></input>" for k, (e, t) in enumerate(inputs))
    for k, output in enumerate(outputs):
        name, type_ref, values = (output, "", "") if isinstance(output, str) else (*output, "")[:3]
        listed = f"<outputValues><text>{escape(values)}</text></outputValues>" if values else ""
        columns += f'<output id="{decision_id}_out{k}" name="{name}" typeRef="{type_ref or "string"}">{listed}</output>'
    rows = "".join(
        f'<rule id="{decision_id}_r{n}">'
        + "".join(f"<inputEntry><text>{escape(c)}</text></inputEntry>" for c in cells)
        + "".join(f"<outputEntry><text>{escape(o)}</text></outputEntry>" for o in results)
        + "</rule>" for n, (cells, results) in enumerate(rules, 1))
    aggregated = f' aggregation="{aggregation}"' if aggregation else ""
    return (f'<decision id="{decision_id}" name="{decision_id}">{requirements(requires)}'
            f'<decisionTable hitPolicy="{hit}"{aggregated}>{columns}{rows}</decisionTable></decision>')


def literal(decision_id: str, variable: str, text: str, type_ref: str = "", requires: tuple[str, ...] = ()) -> str:
    typed = f' typeRef="{type_ref}"' if type_ref else ""
    return (f'<decision id="{decision_id}" name="{decision_id}"><variable name="{variable}"{typed}/>'
            f"{requirements(requires)}<literalExpression><text>{escape(text)}</text></literalExpression></decision>")


def rule_task(task_id: str, ref: str, result_variable: str = "", mapping: str = "") -> str:
    attributes = f' camunda:decisionRef="{ref}"'
    attributes += f' camunda:resultVariable="{result_variable}"' if result_variable else ""
    attributes += f' camunda:mapDecisionResult="{mapping}"' if mapping else ""
    return f'<bpmn:businessRuleTask id="{task_id}" name="{task_id}"{attributes}/>'


def folder(tmp_path: Path, rules: str, *tasks: str, key: str = "permit") -> Path:
    """A process: start, the given business rule tasks in a row, a user task ``review``, end."""
    ids = [t.split('id="', 1)[1].split('"', 1)[0] for t in tasks]
    body = START + "".join(tasks) + user_task("review") + END + chain("start", *ids, "review", "end")
    return write_folder(tmp_path, key, {f"{key}.bpmn": bpmn(process(key, body)), "rules.dmn": rules})


def decided(driver: Driver, tmp_path: Path, rules: str, *tasks: str, data: dict[str, Any]) -> dict[str, Any]:
    driver.deploy(folder(tmp_path, rules, *tasks))
    instance = driver.start("permit", data)
    found = driver.instance(instance)
    assert found.status == "running", found.error
    return dict(found.data)


def problems(tmp_path: Path, rules: str, *tasks: str) -> list[str]:
    return [str(p) for p in definitions.check(definitions.read_source(folder(tmp_path, rules, *tasks))).problems]


# -- a decision requirement graph ----------------------------------------------------------------

FEES = dmn(
    table("resident_category", [("age", "integer")], ["category"], [
        (["< 19"], ['"청소년"']), (["[19..64]"], ['"성인"']), ([">= 65"], ['"경로"'])]),
    table("discount_rate", [("category", "string")], [("rate", "integer")], [
        (['"청소년","경로"'], ["50"]), (['not("청소년","경로")'], ["0"])], requires=("resident_category",)),
    literal("permit_fee", "fee", "base_fee * (100 - rate) // 100", "integer", requires=("discount_rate",)),
)


@pytest.mark.parametrize(("age", "fee"), [(12, 5000), (40, 10000), (70, 5000)])
def test_a_fee_decided_through_a_chain_of_three_decisions_reads_each_required_decisions_output(
    driver: Driver, tmp_path: Path, age: int, fee: int
) -> None:
    body = (START + user_task("apply") + rule_task("decide_fee", "permit_fee", "fee", "singleEntry")
            + user_task("review") + END + chain("start", "apply", "decide_fee", "review", "end"))
    driver.deploy(write_folder(tmp_path, "permit", {"permit.bpmn": bpmn(process("permit", body)), "rules.dmn": FEES}))
    instance = driver.start("permit", {"base_fee": 10000})
    driver.complete(instance, "apply", {"age": age})  # the decision runs on the instance reloaded from the database

    data = driver.instance(instance).data
    assert data["fee"] == fee
    assert "category" not in data and "rate" not in data  # Camunda keeps only the called decision's result
    assert driver.ready(instance) == ["review"]
    changes = next(r for r in driver.trail(instance) if r["element_id"] == "decide_fee"
                   and r["action"] == "task.completed")["changes"]
    assert changes == {"fee": [None, fee]}


def test_every_decision_of_a_file_is_called_by_its_own_id(driver: Driver, tmp_path: Path) -> None:
    data = decided(driver, tmp_path, FEES, rule_task("categorise", "resident_category"),
                   rule_task("discount", "discount_rate", "discount", "singleResult"), data={"age": 70})
    assert data["category"] == "경로"  # without a result variable the outputs are variables by their names
    assert data["discount"] == {"rate": 50}


def test_spiffworkflows_called_decision_id_names_the_decision_too(driver: Driver, tmp_path: Path) -> None:
    task = ('<bpmn:businessRuleTask id="categorise" name="categorise"><bpmn:extensionElements>'
            '<spiffworkflow:calledDecisionId xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core">'
            "discount_rate</spiffworkflow:calledDecisionId></bpmn:extensionElements></bpmn:businessRuleTask>")
    assert decided(driver, tmp_path, FEES, task, data={"age": 15})["rate"] == 50


# -- hit policies ---------------------------------------------------------------------------------

LEVELS = '"high","medium","low"'
SCORED = [([">= 50"], ['"medium"', "5"]), ([">= 80"], ['"high"', "10"]), (["-"], ['"low"', "1"])]
MEDIUM, HIGH, LOW = {"level": "medium", "points": 5}, {"level": "high", "points": 10}, {"level": "low", "points": 1}


@pytest.mark.parametrize(("hit", "score", "outcome"), [
    ("FIRST", 90, [MEDIUM]),
    ("FIRST", 10, [LOW]),
    ("PRIORITY", 90, [HIGH]),
    ("PRIORITY", 60, [MEDIUM]),
    ("RULE ORDER", 90, [MEDIUM, HIGH, LOW]),
    ("OUTPUT ORDER", 90, [HIGH, MEDIUM, LOW]),
    ("COLLECT", 90, [MEDIUM, HIGH, LOW]),
    ("COLLECT", 10, [LOW]),
])
def test_each_hit_policy_gives_camundas_result_list(
    driver: Driver, tmp_path: Path, hit: str, score: int, outcome: list[dict[str, Any]]
) -> None:
    rules = dmn(table("grade", [("score", "number")], [("level", "string", LEVELS), ("points", "integer")],
                      SCORED, hit=hit))
    assert decided(driver, tmp_path, rules, rule_task("decide", "grade", "outcome"), data={"score": score})[
        "outcome"] == outcome


@pytest.mark.parametrize(("aggregation", "score", "outcome"), [
    ("SUM", 90, [{"points": 16}]), ("MIN", 90, [{"points": 1}]), ("MAX", 90, [{"points": 10}]),
    ("COUNT", 90, [{"points": 3}]), ("SUM", 60, [{"points": 6}]), ("COUNT", -1, [{"points": 0}]),
    ("SUM", -1, []), ("MAX", -1, []),
])
def test_collect_aggregates_the_one_output_of_the_matching_rules(
    driver: Driver, tmp_path: Path, aggregation: str, score: int, outcome: list[dict[str, Any]]
) -> None:
    rules = dmn(table("points", [("score", "number")], [("points", "integer")],
                      [([">= 50"], ["5"]), ([">= 80"], ["10"]), ([">= 0"], ["1"])], hit="COLLECT",
                      aggregation=aggregation))
    assert decided(driver, tmp_path, rules, rule_task("decide", "points", "outcome"), data={"score": score})[
        "outcome"] == outcome


def test_a_collect_without_result_variable_leaves_each_output_as_the_list_of_its_values(
    driver: Driver, tmp_path: Path
) -> None:
    rules = dmn(table("grade", [("score", "number")], [("level", "string", LEVELS), ("points", "integer")],
                      SCORED, hit="COLLECT"))
    data = decided(driver, tmp_path, rules, rule_task("decide", "grade"), data={"score": 60})
    assert (data["level"], data["points"]) == (["medium", "low"], [5, 1])


def test_unique_decides_with_its_one_matching_rule_and_stops_the_case_when_two_match(
    driver: Driver, tmp_path: Path
) -> None:
    rules = dmn(table("grade", [("score", "number")], [("level", "string")],
                      [(["< 50"], ['"low"']), (["[50..100]"], ['"pass"']), (["> 90"], ['"top"'])]))
    driver.deploy(folder(tmp_path, rules, rule_task("decide", "grade", "level", "singleEntry")))
    assert driver.instance(driver.start("permit", {"score": 70})).data["level"] == "pass"
    assert driver.instance(driver.start("permit", {"score": 10})).data["level"] == "low"

    broken = driver.instance(driver.start("permit", {"score": 95}))
    assert broken.status == "error"
    assert broken.error is not None and broken.error["element_id"] == "decide"
    assert "decision 'grade'" in broken.error["message"] and "rules 2, 3" in broken.error["message"]
    assert "UNIQUE" in broken.error["message"]


def test_any_gives_the_one_output_its_matching_rules_agree_on_and_refuses_a_disagreement(
    driver: Driver, tmp_path: Path
) -> None:
    rules = dmn(table("route", [("category", "string"), ("amount", "number")], [("department", "string")], [
        (['"도로"', "-"], ['"도로과"']), (["-", "< 1000"], ['"도로과"']), (['"복지"', ">= 1000"], ['"복지정책과"'])],
        hit="ANY"))
    driver.deploy(folder(tmp_path, rules, rule_task("decide", "route", "department", "singleEntry")))
    for category, amount in (("도로", 10), ("복지", 500), ("도로", 5000)):  # one, two or three agreeing rules
        agreed = driver.instance(driver.start("permit", {"category": category, "amount": amount}))
        assert (agreed.status, agreed.data["department"]) == ("running", "도로과")
    clash = dmn(table("route", [("amount", "number")], [("department", "string")], [
        (["< 1000"], ['"도로과"']), (["< 5000"], ['"복지정책과"'])], hit="ANY"))
    driver.deploy(folder(tmp_path, clash, rule_task("decide", "route", "department", "singleEntry")))
    refused = driver.instance(driver.start("permit", {"amount": 10}))
    assert refused.status == "error" and refused.error is not None and "ANY" in refused.error["message"]


# -- result variables and their mappings ----------------------------------------------------------

TWO_OUTPUTS = dmn(table("grade", [("score", "number")], [("level", "string", LEVELS), ("points", "integer")],
                        SCORED, hit="RULE ORDER"),
                  table("level_only", [("score", "number")], [("level", "string")],
                        [([">= 50"], ['"pass"']), (["-"], ['"any"'])], hit="COLLECT"))


@pytest.mark.parametrize(("ref", "mapping", "score", "outcome"), [
    ("grade", "resultList", 90, [MEDIUM, HIGH, LOW]),
    ("grade", "", 90, [MEDIUM, HIGH, LOW]),  # resultList is the default
    ("grade", "singleResult", 10, LOW),
    ("level_only", "collectEntries", 60, ["pass", "any"]),
    ("level_only", "collectEntries", -5, ["any"]),
    ("level_only", "singleEntry", -5, "any"),
])
def test_map_decision_result_shapes_the_result_variable_as_camunda_does(
    driver: Driver, tmp_path: Path, ref: str, mapping: str, score: int, outcome: Any
) -> None:
    data = decided(driver, tmp_path, TWO_OUTPUTS, rule_task("decide", ref, "decision", mapping), data={"score": score})
    assert data["decision"] == outcome
    assert "level" not in data and "points" not in data


def test_a_single_result_mapping_of_several_results_stops_the_case_naming_the_mapping(
    driver: Driver, tmp_path: Path
) -> None:
    driver.deploy(folder(tmp_path, TWO_OUTPUTS, rule_task("decide", "level_only", "decision", "singleEntry")))
    broken = driver.instance(driver.start("permit", {"score": 60}))
    assert broken.status == "error" and broken.error is not None
    assert "singleEntry takes one result" in broken.error["message"]


def test_a_decision_without_a_matching_rule_maps_to_nothing(driver: Driver, tmp_path: Path) -> None:
    rules = dmn(table("grade", [("score", "number")], [("level", "string")], [(["> 100"], ['"over"'])], hit="FIRST"))
    data = decided(driver, tmp_path, rules, rule_task("single", "grade", "single", "singleEntry"),
                   rule_task("listed", "grade", "listed"), rule_task("plain", "grade"), data={"score": 1})
    assert data["single"] is None and data["listed"] == [] and "level" not in data


def zeebe_task(ref: str, result_variable: str = "outcome") -> str:
    variable = f' resultVariable="{result_variable}"' if result_variable else ""
    return ('<bpmn:businessRuleTask id="decide" name="decide"><bpmn:extensionElements>'
            f'<zeebe:calledDecision xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" decisionId="{ref}"{variable}/>'
            "</bpmn:extensionElements></bpmn:businessRuleTask>")


@pytest.mark.parametrize(("rules", "ref", "data", "outcome"), [
    (FEES, "permit_fee", {"age": 70, "base_fee": 10000}, 5000),
    (FEES, "resident_category", {"age": 30}, "성인"),
    (TWO_OUTPUTS, "grade", {"score": 60}, [{"level": "medium", "points": 5}, {"level": "low", "points": 1}]),
    (TWO_OUTPUTS, "level_only", {"score": 60}, ["pass", "any"]),
    (dmn(table("grade", [("score", "number")], [("level", "string"), ("points", "integer")],
               [(["> 50"], ['"pass"', ""])], hit="FIRST")), "grade", {"score": 60}, {"level": "pass", "points": None}),
    (dmn(table("grade", [("score", "number")], [("level", "string")], [(["> 50"], ['"pass"'])])), "grade",
     {"score": 10}, None),
    (dmn(table("points", [("score", "number")], [("points", "integer")], [([">= 0"], ["1"]), ([">= 50"], ["5"])],
               hit="COLLECT", aggregation="SUM")), "points", {"score": 60}, 6),
])
def test_camunda_8s_called_decision_gives_the_result_as_zeebe_shapes_it(
    driver: Driver, tmp_path: Path, rules: str, ref: str, data: dict[str, Any], outcome: Any
) -> None:
    assert decided(driver, tmp_path, rules, zeebe_task(ref), data=data)["outcome"] == outcome


# -- FEEL simple unary tests ------------------------------------------------------------------------

@pytest.mark.parametrize(("cell", "value", "matches"), [
    ("-", None, True), ("", "x", True),
    ("< 10", 9, True), ("< 10", 10, False), ("<= 10", 10, True), ("> -1.5", -1, True), ("< 10", None, False),
    ("< 10", "9", False),  # text is not a number unless its column is typed so
    ("[1..5]", 5, True), ("[1..5]", 1, True), ("]1..5[", 1, False), ("(1..5)", 5, False), ("[1..5[", 4.5, True),
    ('"a","b"', "b", True), ('"a","b"', "c", False), ("'a'", "a", True),
    ('not("x")', "y", True), ('not("x")', "x", False), ('not("a","b")', "a", False), ("not(< 10)", 20, True),
    ("true", True, True), ("true", 1, False), ("1", True, False), ("null", None, True), ('"a"', None, False),
    ("limit", 7, True), ("< limit", 3, True), ("[1..limit]", 8, False), ("applicant.age", 30, True),
    ('>= date("2024-03-01")', "2024-03-15", True), ('< date("2024-03-01")', "2024-03-15", False),
    ('[date("2024-01-01")..date("2024-12-31")]', "2024-06-30", True),
    ('> date and time("2024-03-01T09:00:00")', "2024-03-01T10:30:00", True),
    ("${cellInput > limit}", 9, True), ("${cellInput > limit}", 6, False),
])
def test_feel_simple_unary_tests_match_as_camunda_reads_them(cell: str, value: Any, matches: bool) -> None:
    environment = SandboxEnvironment(isolate=False)
    context = {"limit": 7, "applicant": {"age": 30}}
    assert unary_tests(cell).match(value, context, environment) is matches


def test_inputs_and_outputs_are_read_as_their_type_refs_say(driver: Driver, tmp_path: Path) -> None:
    rules = dmn(table("deadline", [("amount", "number"), ("received", "date")], [("days", "integer"),
                      ("urgent", "boolean"), ("until", "date")], [
        (["> 100", '< date("2024-07-01")'], ["3.0", '"true"', 'date("2024-06-30")']),
        (["-", "-"], ["10", "false", ""])], hit="FIRST"))
    data = decided(driver, tmp_path, rules, rule_task("decide", "deadline", "deadline", "singleResult"),
                   data={"amount": "250", "received": "2024-06-01"})
    assert data["deadline"] == {"days": 3, "urgent": True, "until": "2024-06-30"}


def test_an_input_is_read_only_when_a_cell_tests_it(driver: Driver, tmp_path: Path) -> None:
    rules = dmn(table("route", [("category", "string"), ("100 / count", "number")], [("department", "string")], [
        (['"도로"', "-"], ['"도로과"']), (['"복지"', "> 5"], ['"복지정책과"'])], hit="FIRST"))
    driver.deploy(folder(tmp_path, rules, rule_task("decide", "route", "department", "singleEntry")))
    assert driver.instance(driver.start("permit", {"category": "도로", "count": 0})).data["department"] == "도로과"
    broken = driver.instance(driver.start("permit", {"category": "복지", "count": 0}))
    assert broken.status == "error" and broken.error is not None
    assert "decision 'route', rule 2 (route_r2)" in broken.error["message"]
    assert "ZeroDivisionError" in broken.error["message"]


def test_a_condition_cell_reads_its_input_by_the_camunda_input_variable(driver: Driver, tmp_path: Path) -> None:
    rules = dmn(table("grade", [("score", "number")], [("level", "string")], [
        (["${points >= 50 && cellInput < 100}"], ['"pass"']), (["-"], ['"fail"'])], hit="FIRST")).replace(
        '<input id="grade_in0"', '<input xmlns:camunda="http://camunda.org/schema/1.0/dmn" '
        'camunda:inputVariable="points" id="grade_in0"')
    driver.deploy(folder(tmp_path, rules, rule_task("decide", "grade", "level", "singleEntry")))
    assert driver.instance(driver.start("permit", {"score": 70})).data["level"] == "pass"
    assert driver.instance(driver.start("permit", {"score": 20})).data["level"] == "fail"


# -- refusals at validate ---------------------------------------------------------------------------

def test_feel_beyond_simple_unary_tests_is_refused_at_validate_naming_the_decision_rule_and_cell(
    tmp_path: Path
) -> None:
    rules = dmn(table("grade", [("items", "")], [("level", "string")], [
        (["-"], ['"none"']), (["count(items) > 2"], ['"many"'])]),
        literal("label", "label", 'if level = "many" then "많음" else "적음"'))
    found = problems(tmp_path, rules, rule_task("decide", "grade"))
    assert len(found) == 2, found
    cell, literal_expression = found
    assert cell.startswith(str(tmp_path / "permit" / "rules.dmn") + ":")
    assert ": DMN_UNSUPPORTED: decision 'grade', rule 2 (grade_r2), input 'items': 'count(items) &gt; 2'" \
        not in cell  # the designer's text, not its XML
    assert ": DMN_UNSUPPORTED: decision 'grade', rule 2 (grade_r2), input 'items': 'count(items) > 2' is FEEL " \
           "beyond what cityflow reads" in cell
    assert "computed in the input expression or in a required decision" in cell
    assert "DMN_UNSUPPORTED: decision 'label', its literal expression: 'if level" in literal_expression


@pytest.mark.parametrize(("rules", "task", "expected"), [
    (FEES, rule_task("decide", "permit_fees"), "UNKNOWN_DECISION: decide: no decision 'permit_fees' in the folder's "
                                               "DMN files (decisions: discount_rate, permit_fee, resident_category)"),
    (FEES, '<bpmn:businessRuleTask id="decide" camunda:class="org.example.Fee"/>', "DMN_UNSUPPORTED: decide: "),
    (FEES, '<bpmn:businessRuleTask id="decide"/>', "MISSING_DECISION: decide: "),
    (dmn(literal("a", "a", "b", requires=("b",)), literal("b", "b", "c", requires=("c",)),
         literal("c", "c", "a", requires=("a",))), rule_task("decide", "a"),
     "DMN_INVALID: decision 'a' requires itself through its required decisions"),
    (dmn(literal("a", "a", "1", requires=("z",))), rule_task("decide", "a"),
     "DMN_INVALID: decision 'a' requires decision 'z', which no DMN file of the folder has"),
    (dmn(table("grade", [("score", "number")], [("level", "string"), ("points", "integer")],
               [(["-"], ['"low"', "1"])], hit="PRIORITY")), rule_task("decide", "grade"),
     "DMN_INVALID: decision 'grade': hit policy PRIORITY orders results by the outputs' outputValues"),
    (dmn(table("grade", [("score", "number")], [("level", "string"), ("points", "integer")],
               [(["-"], ['"low"', "1"])], hit="COLLECT", aggregation="SUM")), rule_task("decide", "grade"),
     "DMN_INVALID: decision 'grade': SUM aggregates one output, the table has 2"),
    (TWO_OUTPUTS, rule_task("decide", "grade", "g", "singleEntry"),
     "BAD_DECISION_RESULT: decide: singleEntry takes one output, decision 'grade' has 2 (level, points)"),
    (TWO_OUTPUTS, rule_task("decide", "grade", "g", "firstResult"), "BAD_DECISION_RESULT: decide: mapDecisionResult"),
    (TWO_OUTPUTS, rule_task("decide", "grade", "my result"), "BAD_DECISION_RESULT: decide: resultVariable 'my result'"),
    (TWO_OUTPUTS, zeebe_task("grade", ""), "BAD_DECISION_RESULT: decide: zeebe:calledDecision names the resultVariable"),
    (dmn(table("grade", [("score", "number")], [("level", "string")], [(["== 5"], ['"five"'])])),
     rule_task("decide", "grade"), "DMN_UNSUPPORTED: decision 'grade', rule 1 (grade_r1), input 'score': '== 5' is "
                                   "FEEL beyond what cityflow reads (cityflow stopped reading at '=='); equal is the "
                                   "value alone: 5;"),
])
def test_a_decision_that_cannot_run_as_written_is_refused_at_validate(
    tmp_path: Path, rules: str, task: str, expected: str
) -> None:
    found = problems(tmp_path, rules, task)
    assert any(expected in p for p in found), found
    assert all(":0:" not in p for p in found), found  # every problem has its line


def test_a_chain_of_required_decisions_deeper_than_the_engine_follows_is_refused(tmp_path: Path) -> None:
    chain_of = [literal(f"d{k}", f"v{k}", f"v{k + 1}", requires=(f"d{k + 1}",)) for k in range(2999)]
    found = problems(tmp_path, dmn(*chain_of, literal("d2999", "v2999", "1")), rule_task("decide", "d0"))
    assert any("DMN_INVALID: decision 'd0' requires decisions 3000 deep; cityflow follows at most 50" in p
               for p in found), found[:3]
    assert len(found) == 1, found[:3]  # named once, at the head of the chain


def test_the_citys_decision_tables_still_validate() -> None:
    root = Path(__file__).resolve().parents[2] / "workflows"
    for name in ("approval", "indicator", "pending_issue", "suggestion"):
        checked = definitions.check(definitions.read_source(root / name))
        assert checked.problems == [], [str(p) for p in checked.problems]
