"""Decisions (DMN) as Camunda 7 runs them, for business rule tasks.

Every decision of every DMN file of a process folder can be called by its id
(``camunda:decisionRef`` or ``spiffworkflow:calledDecisionId``). A decision that
requires others (``<informationRequirement><requiredDecision href="#other"/>``)
has them evaluated first, each once, and reads their outputs as variables, as
Camunda puts them: one result's outputs by their names, or — for several
results, or a COLLECT / RULE ORDER table — each output name holding the list of
its values.

Decision tables take every hit policy: UNIQUE (more than one match is an
error), FIRST, PRIORITY and OUTPUT ORDER (by the order of the outputs'
``outputValues``), ANY (matches must agree), RULE ORDER, and COLLECT with or
without SUM, MIN, MAX or COUNT. The result is Camunda's: a list of results,
each the outputs of one rule by name (an empty output entry is left out). The
business rule task keeps it in ``camunda:resultVariable`` mapped by
``camunda:mapDecisionResult`` — ``singleEntry`` (the one value), ``singleResult``
(the one result), ``collectEntries`` (the list of the one output's values) or
``resultList`` (the default). Without a result variable the outputs are put in
the case data by their names, as a required decision's are (Camunda would
keep nothing; cityflow's processes have always read them so).
Camunda 8's ``<zeebe:calledDecision decisionId= resultVariable=/>`` is read too,
its result shaped as Zeebe shapes it: the one output's value (or all outputs by
name), null when no rule matched; a list for COLLECT, RULE ORDER and OUTPUT
ORDER; an aggregation's or a literal expression's value.

Cells are FEEL's simple unary tests: ``-`` (anything), a value (``5``,
``"text"``, ``true``, ``null``, ``date("2024-05-01")``, ``date and time("…")``
or a variable such as ``amount`` or ``applicant.age``), a comparison with one
(``< 10``, ``>= limit``), a range (``[1..5]``, ``]0..1[``), a list of those
(``"a","b"``) and ``not(…)`` of a list; or a Camunda ``${…}`` condition on
``cellInput`` (or the input's ``camunda:inputVariable``); an input is read only
when a cell tests it. Input expressions, output entries and literal expressions are a
value or variable as above, a ``${…}`` expression, or a Python expression run in
the sandbox (``engine.sandbox``), as conditions are. Anything else is refused at
validate and named: the decision, the rule and column, the text, and what to
write instead. A value is read as its column's ``typeRef`` says (``number``,
``integer``, ``double``, ``string``, ``boolean``, ``date``), so ``"12"`` typed as a
number is 12 and a date written as text compares with ``date("…")``.

Problems found at validate, as ``file:line: CODE: message``:

=======================  ==========================================================
code                     meaning
=======================  ==========================================================
``DMN_UNSUPPORTED``      FEEL or DMN beyond what cityflow runs (the cell is named)
``DMN_INVALID``          a decision that cannot run: no id or logic, a duplicate id,
                         a required decision that is not there or requires itself,
                         a rule with too few cells, an aggregation of several outputs,
                         PRIORITY / OUTPUT ORDER without ``outputValues``
``MISSING_DECISION``     a business rule task names no decision
``UNKNOWN_DECISION``     a business rule task names a decision no DMN file has
``BAD_DECISION_RESULT``  ``resultVariable`` is no variable name, or
                         ``mapDecisionResult`` is unknown or cannot fit the decision
=======================  ==========================================================
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.spiff.parser.task_spec import SpiffTaskParser
from SpiffWorkflow.spiff.serializer.task_spec import SpiffBpmnTaskConverter
from SpiffWorkflow.spiff.specs.spiff_task import SpiffBpmnTask

from engine.bpmn_xml import element_line
from engine.errors import Problem, ScriptFailed
from engine.modelling import CAMUNDA_NAMESPACES
from engine.sandbox import camunda_to_python, compile_problem

__all__ = [
    "HIT_POLICIES",
    "RESULT_MAPPINGS",
    "Decision",
    "DecisionTask",
    "DecisionTaskConverter",
    "decide",
    "decision_problems",
    "mapped_result",
    "read_decisions",
    "required_closure",
    "result_variables",
]

HIT_POLICIES = ("UNIQUE", "FIRST", "PRIORITY", "ANY", "COLLECT", "RULE ORDER", "OUTPUT ORDER")
AGGREGATIONS = ("SUM", "MIN", "MAX", "COUNT")
RESULT_MAPPINGS = ("singleEntry", "singleResult", "collectEntries", "resultList")
# How Camunda 8 (Zeebe) gives a result: one output's value or a context of them; a list when the table collects.
ZEEBE_RESULT = "zeebe"
_ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
# Required decisions are evaluated depth first; a longer chain than this is refused at validate.
DEEPEST_REQUIREMENTS = 50
# Camunda's attributes, as ``engine.parsing`` reads them (that module builds DecisionTask from this one).
_CAMUNDA_DMN = "http://camunda.org/schema/1.0/dmn"
_BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# Names a FEEL cell or expression may use for its literals; given to Python expressions too.
_FEEL_WORDS: Mapping[str, Any] = {"true": True, "false": False, "null": None}
_SUPPORTED_LANGUAGES = ("feel", "juel", "python")


class Unsupported(ValueError):
    """A cell or expression beyond what cityflow reads; the message says what to write instead."""


# --------------------------------------------------------------------------- FEEL, the part cityflow reads
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<number>\d+(?:\.\d+)?)
      | (?P<name>[^\W\d]\w*)
      | (?P<op>\.\.|<=|>=|!=|==|[<>=()\[\],.\-])
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str


def _tokens(text: str) -> list[_Token]:
    found: list[_Token] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _NotSimple(text[position:].strip()[:20])
        kind = match.lastgroup or "op"
        found.append(_Token(kind, match.group(kind)))
        position = match.end()
    return found


class _NotSimple(Exception):
    """Text that is not one of FEEL's simple values or tests (the part near where reading stopped)."""


def _unquoted(literal: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), literal[1:-1])


@dataclass(frozen=True, slots=True)
class Expr:
    """An expression: a ``value`` known when read, a ``path`` of names into the data, or ``python``."""

    value: Any = None
    path: tuple[str, ...] = ()
    python: str = ""

    def evaluate(self, context: Mapping[str, Any], environment: Any) -> Any:
        if self.python:  # in the sandbox, like a condition
            return environment.evaluate(self.python, dict(context), dict(_FEEL_WORDS))
        if self.path:
            value: Any = context
            for name in self.path:
                value = value.get(name) if isinstance(value, Mapping) else None
            return value
        return self.value


class _Reader:
    """Reads FEEL's simple values and unary tests from tokens."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens, self.at = tokens, 0

    def peek(self, offset: int = 0) -> _Token | None:
        k = self.at + offset
        return self.tokens[k] if k < len(self.tokens) else None

    def is_op(self, *texts: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token.kind == "op" and token.text in texts

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise _NotSimple("")
        self.at += 1
        return token

    def expect(self, text: str) -> None:
        if not self.is_op(text):
            token = self.peek()
            raise _NotSimple(token.text if token else "")
        self.at += 1

    def done(self) -> bool:
        return self.at >= len(self.tokens)

    def endpoint(self) -> Expr:
        token = self.take()
        if token.kind == "op" and token.text == "-" and (following := self.peek()) is not None \
                and following.kind == "number":
            self.at += 1
            return Expr(value=-_number(following.text))
        if token.kind == "number":
            return Expr(value=_number(token.text))
        if token.kind == "string":
            return Expr(value=_unquoted(token.text))
        if token.kind != "name":
            raise _NotSimple(token.text)
        if token.text in _FEEL_WORDS:
            return Expr(value=_FEEL_WORDS[token.text])
        if token.text == "date" and self.is_op("("):
            return Expr(value=self._moment(date.fromisoformat))
        if token.text == "date" and (word := self.peek()) is not None and word.text == "and" \
                and (time := self.peek(1)) is not None and time.text == "time" and self.is_op("(", offset=2):
            self.at += 2
            return Expr(value=self._moment(datetime.fromisoformat))
        path = [token.text]
        while self.is_op(".") and (name := self.peek(1)) is not None and name.kind == "name":
            path.append(name.text)
            self.at += 2
        return Expr(path=tuple(path))

    def _moment(self, parse: Callable[[str], date]) -> date:
        self.expect("(")
        literal = self.take()
        self.expect(")")
        if literal.kind != "string":
            raise _NotSimple(literal.text)
        try:
            return parse(_unquoted(literal.text))
        except ValueError:
            raise _NotSimple(literal.text) from None

    def test(self) -> _Test:
        if self.is_op("<", "<=", ">", ">="):
            return _Test(self.take().text, self.endpoint())
        if self.is_op("[", "(", "]"):
            low_closed = self.take().text == "["
            low = self.endpoint()
            self.expect("..")
            high = self.endpoint()
            closing = self.take()
            if closing.kind != "op" or closing.text not in ("]", ")", "["):
                raise _NotSimple(closing.text)
            high_closed = closing.text == "]"
            return _Test("range", low, high, low_closed, high_closed)
        return _Test("=", self.endpoint())

    def tests(self) -> tuple[_Test, ...]:
        found = [self.test()]
        while self.is_op(","):
            self.at += 1
            found.append(self.test())
        return tuple(found)


def _number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


@dataclass(frozen=True, slots=True)
class _Test:
    op: str
    to: Expr
    high: Expr | None = None
    low_closed: bool = True
    high_closed: bool = True

    def holds(self, value: Any, context: Mapping[str, Any], environment: Any) -> bool | None:
        endpoint = self.to.evaluate(context, environment)
        if self.op == "=":
            return _equal(value, endpoint)
        if self.op == "range":
            assert self.high is not None
            high = self.high.evaluate(context, environment)
            above = _compare(value, ">=" if self.low_closed else ">", endpoint)
            below = _compare(value, "<=" if self.high_closed else "<", high)
            return None if above is None or below is None else above and below
        return _compare(value, self.op, endpoint)


@dataclass(frozen=True, slots=True)
class UnaryTests:
    """One input cell: ``tests`` (any holding matches; ``negated`` for ``not(…)``), or a ``${…}`` ``condition``
    on ``cellInput``; no tests and no condition is ``-``."""

    tests: tuple[_Test, ...] = ()
    negated: bool = False
    condition: str = ""

    @property
    def anything(self) -> bool:
        """``-``: every value matches, so the input need not be read."""
        return not self.tests and not self.condition

    def match(self, value: Any, context: Mapping[str, Any], environment: Any, variable: str = "") -> bool:
        """Whether the input's value matches; a condition reads it as ``cellInput`` (or the input's
        ``camunda:inputVariable``)."""
        if self.condition:
            names = {**_FEEL_WORDS, "cellInput": value, **({variable: value} if variable else {})}
            return bool(environment.evaluate(self.condition, dict(context), names))
        if not self.tests:
            return True
        outcomes = [test.holds(value, context, environment) for test in self.tests]
        if True in outcomes:
            return not self.negated
        return self.negated and None not in outcomes


_TESTS_HELP = ('cells are FEEL simple unary tests: - , a value (5, "text", true, null, date("2024-05-01"), '
               'a variable), < <= > >= a value, a range [1..5], a list of those ("a","b"), not(…) of a list, '
               "or a ${…} condition on cellInput")
_EXPRESSION_HELP = ('expressions are a value (5, "text", true, date("2024-05-01")), a variable '
                    "(amount, applicant.age), a ${…} expression or a Python expression as in conditions")


def _juel(text: str, help_text: str) -> str:
    """A Camunda ``${…}`` expression as the Python the sandbox runs; Unsupported when it does not compile."""
    python = camunda_to_python(text)
    if problem := compile_problem(python, "eval"):
        raise Unsupported(f"'{text}': {problem}; {help_text}")
    return python


@functools.lru_cache(maxsize=4096)
def unary_tests(text: str) -> UnaryTests:
    """An input cell read; raises ``Unsupported`` saying what cityflow reads instead."""
    text = text.strip()
    if text in ("", "-"):
        return UnaryTests()
    if text.startswith(("${", "#{")):
        return UnaryTests(condition=_juel(text, _TESTS_HELP))
    try:
        reader = _Reader(_tokens(text))
        negated = False
        if (first := reader.peek()) is not None and first.text == "not" and reader.is_op("(", offset=1):
            reader.at, negated = 2, True
        tests = reader.tests()
        if negated:
            reader.expect(")")
        if not reader.done():
            raise _NotSimple(reader.take().text)
    except _NotSimple as stop:
        near = f" (cityflow stopped reading at '{stop}')" if str(stop) else ""
        near += {"==": "; equal is the value alone: 5", "=": "; equal is the value alone: 5",
                 "!=": "; not equal is not(5)"}.get(str(stop), "")
        raise Unsupported(f"'{text}' is FEEL beyond what cityflow reads{near}; {_TESTS_HELP}; anything more "
                          "is computed in the input expression or in a required decision") from None
    return UnaryTests(tests, negated)


@functools.lru_cache(maxsize=4096)
def expression(text: str) -> Expr | None:
    """An input expression, output entry or literal expression read (None when empty); raises
    ``Unsupported`` saying what cityflow reads instead."""
    text = text.strip()
    if not text:
        return None
    if text.startswith(("${", "#{")):
        return Expr(python=_juel(text, _EXPRESSION_HELP))
    try:
        reader = _Reader(_tokens(text))
        simple = reader.endpoint()
        if reader.done():
            return simple
    except _NotSimple:
        pass
    if problem := compile_problem(text, "eval"):
        raise Unsupported(f"'{text}' is FEEL beyond what cityflow reads ({problem}); {_EXPRESSION_HELP}")
    return Expr(python=text)


# --------------------------------------------------------------------------- comparing as FEEL does
def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _moment_like(value: Any, like: Any) -> Any:
    """``value`` as a date or date-time when ``like`` is one (text is read as ISO 8601)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if isinstance(like, datetime) or "T" in value else \
                date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(like, datetime) and type(value) is date:
        return datetime(value.year, value.month, value.day)
    if type(like) is date and isinstance(value, datetime):
        return value.date()
    return value


def _comparable(a: Any, b: Any) -> tuple[Any, Any] | None:
    if isinstance(b, date):
        a = _moment_like(a, b)
    if isinstance(a, date) and isinstance(b, str):
        b = _moment_like(b, a)
    if (_is_number(a) and _is_number(b)) or all(isinstance(v, str) for v in (a, b)) \
            or all(isinstance(v, bool) for v in (a, b)) or all(isinstance(v, date) for v in (a, b)):
        return a, b
    return None


def _equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    pair = _comparable(a, b)
    try:
        return pair is not None and bool(pair[0] == pair[1])
    except TypeError:
        return False


def _compare(a: Any, op: str, b: Any) -> bool | None:
    pair = _comparable(a, b)
    if pair is None or isinstance(pair[0], bool):
        return None
    x, y = pair
    try:
        return bool(x < y if op == "<" else x <= y if op == "<=" else x > y if op == ">" else x >= y)
    except TypeError:  # a date-time with a zone against one without
        return None


def typed(value: Any, type_ref: str, what: str) -> Any:
    """``value`` as the column's ``typeRef`` reads it (Camunda's conversions); ScriptFailed when it cannot."""
    kind = type_ref.strip().lower().replace(" ", "")
    if value is None or not kind:
        return value
    try:
        if kind in ("integer", "long", "int"):
            number = _number(value.strip()) if isinstance(value, str) else value
            if _is_number(number) and float(number).is_integer():
                return int(number)
        elif kind in ("number", "double", "decimal", "float"):
            number = _number(value.strip().lstrip("+")) if isinstance(value, str) else value
            if _is_number(number):
                return float(number) if kind == "double" else number
        elif kind == "string":
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, str | int | float | date):
                return value.isoformat() if isinstance(value, date) else str(value)
        elif kind == "boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                return value.strip().lower() == "true"
        elif kind in ("date", "dateandtime", "datetime"):
            like = date(1, 1, 1) if kind == "date" and not (isinstance(value, str) and "T" in value) \
                else datetime(1, 1, 1)
            moment = _moment_like(value, like)
            if isinstance(moment, date):
                return moment
        else:
            return value  # time, duration and types cityflow does not know are read as they are
    except (ValueError, AttributeError):
        pass
    raise ScriptFailed(f"{what} is typed {type_ref}, but its value {value!r} is not one")


def _plain(value: Any) -> Any:
    """Case data is JSON-like: a date becomes its ISO text."""
    return value.isoformat() if isinstance(value, date) else value


# --------------------------------------------------------------------------- reading DMN
@dataclass(frozen=True)
class Input:
    id: str
    label: str
    expression: str
    type: str = ""
    variable: str = ""  # ``camunda:inputVariable``: what a ${…} cell calls the value besides cellInput


@dataclass(frozen=True)
class Output:
    id: str
    label: str
    name: str
    type: str = ""
    values: str = ""  # the text of ``outputValues``: the order PRIORITY and OUTPUT ORDER follow

    @property
    def key(self) -> str:
        """The name its value goes by in a result (Camunda's output name; the id when it has none)."""
        return self.name or self.id


@dataclass(frozen=True)
class Rule:
    id: str
    row: int
    inputs: tuple[str, ...]
    outputs: tuple[str | None, ...]  # None: an empty output entry, left out of the result


@dataclass(frozen=True)
class Decision:
    """One decision as stored with the process version: the designer's texts, read again when run."""

    id: str
    name: str = ""
    required: tuple[str, ...] = ()
    hit_policy: str = "UNIQUE"
    aggregation: str = ""
    inputs: tuple[Input, ...] = ()
    outputs: tuple[Output, ...] = ()
    rules: tuple[Rule, ...] = ()
    variable: str = ""  # a literal expression's result name; ``literal`` its text
    literal: str | None = None
    literal_type: str = ""

    @property
    def label(self) -> str:
        return f"decision '{self.id}'" + (f" ({self.name})" if self.name and self.name != self.id else "")

    @property
    def collects(self) -> bool:
        """Whether its results are a collection even when there is one (COLLECT without aggregation, RULE ORDER)."""
        return self.literal is None and self.hit_policy in ("COLLECT", "RULE ORDER") and not self.aggregation

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, dct: Mapping[str, Any]) -> Decision:
        return cls(
            **{**dct, "required": tuple(dct.get("required", ())),
               "inputs": tuple(Input(**i) for i in dct.get("inputs", ())),
               "outputs": tuple(Output(**o) for o in dct.get("outputs", ())),
               "rules": tuple(Rule(r["id"], r["row"], tuple(r["inputs"]), tuple(r["outputs"]))
                              for r in dct.get("rules", ()))}
        )


def _local(node: Any) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _children(node: etree._Element, name: str) -> Iterator[etree._Element]:
    return (child for child in node if _local(child) == name)


def _child(node: etree._Element, name: str) -> etree._Element | None:
    return next(_children(node, name), None)


def _text_of(node: etree._Element | None) -> str | None:
    """The ``<text>`` of an expression element (None when there is no element)."""
    if node is None:
        return None
    text = _child(node, "text")
    return (text.text or "") if text is not None else ""


@dataclass
class _FileReader:
    """Reads the decisions of one DMN file, noting what it cannot run."""

    shown: str
    problems: list[Problem] = field(default_factory=list)

    def problem(self, node: etree._Element, code: str, message: str) -> None:
        self.problems.append(Problem(self.shown, element_line(node), code, message))

    def language(self, node: etree._Element, owner: str) -> bool:
        language = (node.get("expressionLanguage") or "").strip().lower()
        if language and not any(known in language for known in _SUPPORTED_LANGUAGES):
            self.problem(node, "DMN_UNSUPPORTED", f"{owner}: expression language '{language}' is not run here; "
                                                  "write FEEL (or Python, as in conditions)")
            return False
        return True

    def decisions(self, root: etree._Element) -> list[Decision]:
        found = []
        for node in _children(root, "decision"):
            decision = self.decision(node)
            if decision is not None:
                found.append(decision)
        return found

    def decision(self, node: etree._Element) -> Decision | None:
        decision_id = node.get("id") or ""
        label = Decision(decision_id, node.get("name") or "").label
        if not decision_id:
            self.problem(node, "DMN_INVALID", f"decision '{node.get('name') or '?'}' has no id to be called by")
            return None
        required = []
        for requirement in _children(node, "informationRequirement"):
            for reference in _children(requirement, "requiredDecision"):
                href = reference.get("href") or ""
                if "#" not in href:
                    self.problem(reference, "DMN_INVALID", f"{label}: requiredDecision href '{href}' names no "
                                                           "decision; write href=\"#<decision id>\"")
                else:
                    required.append(href.split("#", 1)[1])
        if next(_children(node, "knowledgeRequirement"), None) is not None:
            self.problem(node, "DMN_UNSUPPORTED", f"{label}: business knowledge models are not run here; "
                                                  "make the knowledge a required decision")
        table, literal = _child(node, "decisionTable"), _child(node, "literalExpression")
        if table is not None:
            return self.table(table, Decision(decision_id, node.get("name") or "", tuple(required)))
        if literal is not None:
            variable = _child(node, "variable")
            text = _text_of(literal) or ""
            if self.language(literal, label):
                self.expression(literal, text, f"{label}, its literal expression")
            return Decision(decision_id, node.get("name") or "", tuple(required),
                            variable=(variable.get("name") if variable is not None else None) or decision_id,
                            literal=text, literal_type=(variable.get("typeRef") if variable is not None else None)
                            or literal.get("typeRef") or "")
        logic = [_local(c) for c in node if _local(c) in ("context", "invocation", "relation", "list",
                                                           "functionDefinition", "conditional", "filter", "iterator",
                                                           "some", "every", "for")]
        if logic:
            self.problem(node, "DMN_UNSUPPORTED", f"{label}: a {logic[0]} is not run here; "
                                                  "write a decision table or a literal expression")
        else:
            self.problem(node, "DMN_INVALID", f"{label} has no decision table or literal expression")
        return None

    def expression(self, node: etree._Element, text: str, where: str) -> None:
        try:
            expression(text)
        except Unsupported as refusal:
            self.problem(node, "DMN_UNSUPPORTED", f"{where}: {refusal}")

    def table(self, table: etree._Element, decision: Decision) -> Decision:
        label = decision.label
        hit_policy = " ".join((table.get("hitPolicy") or "UNIQUE").upper().replace("_", " ").split())
        aggregation = (table.get("aggregation") or "").upper()
        if hit_policy not in HIT_POLICIES:
            self.problem(table, "DMN_INVALID",
                         f"{label}: hit policy '{hit_policy}' is none of {', '.join(HIT_POLICIES)}")
        if aggregation and (aggregation not in AGGREGATIONS or hit_policy != "COLLECT"):
            self.problem(table, "DMN_INVALID", f"{label}: aggregation '{aggregation}' goes with hit policy COLLECT "
                                               f"and is one of {', '.join(AGGREGATIONS)}")
        inputs = []
        for number, column in enumerate(_children(table, "input"), 1):
            expression_node = _child(column, "inputExpression")
            text = _text_of(expression_node) or ""
            name = column.get("label") or column.get("id") or f"input {number}"
            if expression_node is None or not text.strip():
                self.problem(column, "DMN_INVALID", f"{label}: input '{name}' has no input expression")
            elif self.language(expression_node, f"{label}, input '{name}'"):
                self.expression(expression_node, text, f"{label}, input '{name}'")
            variable = column.get(f"{{{_CAMUNDA_DMN}}}inputVariable") or ""
            inputs.append(Input(column.get("id") or "", name, text,
                                expression_node.get("typeRef") or "" if expression_node is not None else "",
                                variable))
        outputs = []
        for column in _children(table, "output"):
            values_node = _child(column, "outputValues")
            output = Output(column.get("id") or "", column.get("label") or "", column.get("name") or "",
                            column.get("typeRef") or "", (_text_of(values_node) or "").strip())
            outputs.append(output)
            if output.values:
                try:
                    _priorities(output.values)
                except Unsupported as refusal:
                    self.problem(values_node if values_node is not None else column, "DMN_UNSUPPORTED",
                                 f"{label}, output '{output.key}': {refusal}")
        if aggregation and len(outputs) != 1:
            self.problem(table, "DMN_INVALID", f"{label}: {aggregation} aggregates one output, the table has "
                                               f"{len(outputs)}; split the table or collect without aggregation")
        if hit_policy in ("PRIORITY", "OUTPUT ORDER") and not any(o.values for o in outputs):
            self.problem(table, "DMN_INVALID", f"{label}: hit policy {hit_policy} orders results by the outputs' "
                                               "outputValues (e.g. \"high\",\"medium\",\"low\"); give an output its "
                                               "values in order")
        rules = [self.rule(rule, row, decision, inputs, outputs)
                 for row, rule in enumerate(_children(table, "rule"), 1)]
        return Decision(decision.id, decision.name, decision.required, hit_policy, aggregation,
                        tuple(inputs), tuple(outputs), tuple(rules))

    def rule(self, node: etree._Element, row: int, decision: Decision, inputs: list[Input],
             outputs: list[Output]) -> Rule:
        where = f"{decision.label}, rule {row}" + (f" ({node.get('id')})" if node.get("id") else "")
        cells = list(_children(node, "inputEntry"))
        results = list(_children(node, "outputEntry"))
        if len(cells) != len(inputs) or len(results) != len(outputs):
            self.problem(node, "DMN_INVALID", f"{where} has {len(cells)} input and {len(results)} output entries; "
                                              f"the table has {len(inputs)} inputs and {len(outputs)} outputs")
        for cell, column in zip(cells, inputs, strict=False):
            if self.language(cell, f"{where}, input '{column.label}'"):
                try:
                    unary_tests(_text_of(cell) or "")
                except Unsupported as refusal:
                    self.problem(cell, "DMN_UNSUPPORTED", f"{where}, input '{column.label}': {refusal}")
        texts: list[str | None] = []
        for cell, output in zip(results, outputs, strict=False):
            text = _text_of(cell) or ""
            texts.append(text if text.strip() else None)
            if self.language(cell, f"{where}, output '{output.key}'"):
                self.expression(cell, text, f"{where}, output '{output.key}'")
        return Rule(node.get("id") or f"row {row}", row, tuple(_text_of(c) or "" for c in cells), tuple(texts))


@functools.lru_cache(maxsize=256)
def _priorities(text: str) -> tuple[Any, ...]:
    """The values of ``outputValues``, highest priority first."""
    tests = unary_tests(text)
    if tests.negated or tests.condition or any(t.op != "=" or t.to.path or t.to.python for t in tests.tests):
        raise Unsupported(f"outputValues '{text}' must list values (\"high\",\"medium\",\"low\")")
    return tuple(_plain(t.to.value) for t in tests.tests)


def read_decisions(root: etree._Element, shown: str = "") -> tuple[list[Decision], list[Problem]]:
    """The decisions of one DMN file, and what in it cannot run (``shown`` names the file in problems)."""
    reader = _FileReader(shown)
    return reader.decisions(root), reader.problems


def required_closure(catalog: Mapping[str, Decision], decision_id: str) -> list[Decision]:
    """The decision and every decision it requires, directly or not (each once)."""
    found: dict[str, Decision] = {}
    pending = [decision_id]
    while pending:
        current = pending.pop()
        if current in found or current not in catalog:
            continue
        found[current] = catalog[current]
        pending.extend(catalog[current].required)
    return list(found.values())


# --------------------------------------------------------------------------- evaluating
Result = list[dict[str, Any]]


def _located(failure: ScriptFailed, where: str) -> ScriptFailed:
    """The same failure (a refusal stays a refusal, too much data too much data), saying where it happened."""
    return type(failure)(f"{where}: {failure.detail}")


class _Evaluation:
    """One call of a decision: its required decisions evaluated once each, in the sandbox's environment."""

    def __init__(self, catalog: Mapping[str, Decision], environment: Any) -> None:
        self.catalog, self.environment = catalog, environment
        self.results: dict[str, Result] = {}
        self.running: set[str] = set()

    def result(self, decision_id: str, data: Mapping[str, Any]) -> Result:
        if decision_id in self.results:
            return self.results[decision_id]
        decision = self.catalog.get(decision_id)
        if decision is None:
            raise ScriptFailed(f"no decision '{decision_id}' in this process version")
        if decision_id in self.running:
            raise ScriptFailed(f"{decision.label} requires itself")
        self.running.add(decision_id)
        context = dict(data)
        for required in decision.required:
            context.update(result_variables(self.result(required, data), self.catalog[required]))
        result = self.literal(decision, context) if decision.literal is not None else self.table(decision, context)
        self.running.discard(decision_id)
        self.results[decision_id] = result
        return result

    def literal(self, decision: Decision, context: Mapping[str, Any]) -> Result:
        expr = expression(decision.literal or "")
        try:
            value = expr.evaluate(context, self.environment) if expr is not None else None
        except ScriptFailed as failure:
            raise _located(failure, decision.label) from None
        return [{decision.variable: _plain(typed(value, decision.literal_type, f"{decision.label}'s result"))}]

    def table(self, decision: Decision, context: Mapping[str, Any]) -> Result:
        values: dict[int, Any] = {}

        def input_value(k: int) -> Any:
            if k not in values:
                column = decision.inputs[k]
                expr = expression(column.expression)
                raw = expr.evaluate(context, self.environment) if expr is not None else None
                values[k] = typed(raw, column.type, f"input '{column.label}'")
            return values[k]

        def cell_matches(k: int, text: str) -> bool:  # the input is read only when a cell tests it
            tests = unary_tests(text)
            return tests.anything or tests.match(input_value(k), context, self.environment,
                                                 decision.inputs[k].variable)

        matched = []
        for rule in decision.rules:
            try:
                if all(cell_matches(k, text) for k, text in enumerate(rule.inputs)):
                    matched.append(rule)
            except ScriptFailed as failure:
                raise _located(failure, f"{decision.label}, rule {rule.row} ({rule.id})") from None
        return self.hit(decision, matched, context)

    def outputs(self, decision: Decision, rule: Rule, context: Mapping[str, Any]) -> dict[str, Any]:
        found = {}
        for output, text in zip(decision.outputs, rule.outputs, strict=False):
            expr = expression(text) if text is not None else None
            if expr is None:
                continue
            what = f"{decision.label}, rule {rule.row} ({rule.id}), output '{output.key}'"
            try:
                value = expr.evaluate(context, self.environment)
            except ScriptFailed as failure:
                raise _located(failure, what) from None
            found[output.key] = _plain(typed(value, output.type, what))
        return found

    def hit(self, decision: Decision, matched: list[Rule], context: Mapping[str, Any]) -> Result:
        policy = decision.hit_policy
        if policy == "UNIQUE" and len(matched) > 1:
            raise ScriptFailed(f"{decision.label}: rules {', '.join(str(r.row) for r in matched)} all match, and "
                               "its hit policy UNIQUE lets only one; make the rules exclusive or choose FIRST")
        if policy in ("UNIQUE", "FIRST"):
            return [self.outputs(decision, matched[0], context)] if matched else []
        results = [self.outputs(decision, rule, context) for rule in matched]
        if policy == "ANY":
            if any(r != results[0] for r in results[1:]):
                raise ScriptFailed(f"{decision.label}: rules {', '.join(str(r.row) for r in matched)} match with "
                                   "different outputs, and its hit policy ANY asks them to agree")
            return results[:1]
        if policy in ("PRIORITY", "OUTPUT ORDER"):
            ordered = sorted(results, key=lambda r: _priority_key(decision, r))
            return ordered[:1] if policy == "PRIORITY" else ordered
        if decision.aggregation:
            return _aggregated(decision, results)
        return results  # COLLECT, RULE ORDER


def _priority_key(decision: Decision, result: Mapping[str, Any]) -> tuple[int, ...]:
    key = []
    for output in decision.outputs:
        if output.values:
            order = _priorities(output.values)
            value = result.get(output.key)
            key.append(order.index(value) if value in order else len(order))
    return tuple(key)


def _aggregated(decision: Decision, results: Result) -> Result:
    name = decision.outputs[0].key
    values = [r[name] for r in results if name in r]
    if decision.aggregation == "COUNT":
        return [{name: len(values)}]
    if not values:
        return []
    if not all(_is_number(v) for v in values):
        raise ScriptFailed(f"{decision.label}: {decision.aggregation} needs numbers, the rules gave {values!r}")
    total = sum(values) if decision.aggregation == "SUM" else min(values) if decision.aggregation == "MIN" \
        else max(values)
    return [{name: total}]


def decide(catalog: Mapping[str, Decision], decision_id: str, data: Mapping[str, Any], environment: Any) -> Result:
    """Camunda's decision result: one dict of outputs by name per result, the decision's required
    decisions evaluated first. Expressions run in ``environment`` (the sandbox); a decision that
    cannot decide (UNIQUE with two matches, a value of the wrong type) raises ScriptFailed."""
    return _Evaluation(catalog, environment).result(decision_id, data)


def result_variables(result: Result, decision: Decision) -> dict[str, Any]:
    """The variables a result makes, as Camunda gives a required decision's to the one requiring it."""
    if not result:
        return {}
    if len(result) == 1 and not decision.collects:
        return dict(result[0])
    names = dict.fromkeys(name for entry in result for name in entry)
    return {name: [entry[name] for entry in result if name in entry] for name in names}


def mapped_result(result: Result, how: str, decision: Decision) -> Any:
    """The result as ``camunda:mapDecisionResult`` maps it into the result variable."""
    def only_entry(entry: Mapping[str, Any]) -> Any:
        if len(entry) > 1:
            raise ScriptFailed(f"{decision.label}: {how} takes one output, a result has {len(entry)} "
                               f"({', '.join(entry)}); map it as singleResult or resultList")
        return next(iter(entry.values()), None)

    if how == ZEEBE_RESULT:
        return _zeebe_result(result, decision)
    if how == "resultList":
        return [dict(entry) for entry in result]
    if how == "collectEntries":
        return [only_entry(entry) for entry in result]
    if len(result) > 1:
        raise ScriptFailed(f"{decision.label}: {how} takes one result, {len(result)} rules gave one; "
                           "map it as collectEntries or resultList")
    if not result:
        return None
    return only_entry(result[0]) if how == "singleEntry" else dict(result[0])


def _zeebe_result(result: Result, decision: Decision) -> Any:
    """Camunda 8's shape: a literal expression's or an aggregation's value; a table's one output's value or
    all its outputs by name (null for an empty entry), one or none for a single-hit policy, else a list."""
    if decision.literal is not None or decision.aggregation:
        return next(iter(result[0].values()), None) if result else None

    def shaped(entry: Mapping[str, Any]) -> Any:
        if len(decision.outputs) == 1:
            return entry.get(decision.outputs[0].key)
        return {output.key: entry.get(output.key) for output in decision.outputs}

    if decision.hit_policy in ("UNIQUE", "FIRST", "ANY", "PRIORITY"):
        return shaped(result[0]) if result else None
    return [shaped(entry) for entry in result]


# --------------------------------------------------------------------------- the business rule task
class DecisionTask(SpiffBpmnTask):  # type: ignore[misc]
    """A business rule task calling a decision of its process version's DMN files.

    ``decisions`` holds the called decision and those it requires, as stored with the version."""

    def __init__(self, wf_spec: Any, name: str, decision_ref: str, decisions: list[dict[str, Any]],
                 result_variable: str | None = None, map_decision_result: str | None = None, **kwargs: Any) -> None:
        super().__init__(wf_spec, name, **kwargs)
        self.decision_ref = decision_ref
        self.decisions = decisions
        self.result_variable = result_variable or None
        self.map_decision_result = map_decision_result or "resultList"
        self._catalog: dict[str, Decision] | None = None

    @property
    def catalog(self) -> dict[str, Decision]:
        if self._catalog is None:
            self._catalog = {d["id"]: Decision.from_dict(d) for d in self.decisions}
        return self._catalog

    def _run_hook(self, my_task: Any) -> bool:
        environment = my_task.workflow.script_engine.environment
        decision = self.catalog[self.decision_ref]
        try:
            result = decide(self.catalog, self.decision_ref, my_task.data, environment)
            if self.result_variable:
                my_task.data[self.result_variable] = mapped_result(result, self.map_decision_result, decision)
            else:
                my_task.data.update(result_variables(result, decision))
        except ScriptFailed as failure:  # the case's error names this task, as a failing script's does
            raise WorkflowTaskException(failure.detail, task=my_task, exception=failure) from failure
        super()._run_hook(my_task)
        return True


class DecisionTaskConverter(SpiffBpmnTaskConverter):  # type: ignore[misc]
    def to_dict(self, spec: DecisionTask) -> dict[str, Any]:
        dct: dict[str, Any] = super().to_dict(spec)
        dct.update(decision_ref=spec.decision_ref, decisions=spec.decisions,
                   result_variable=spec.result_variable, map_decision_result=spec.map_decision_result)
        return dct


def task_settings(node: etree._Element) -> tuple[str | None, str | None, str | None]:
    """What a business rule task says: the decision it calls, its result variable and how the result maps
    (Camunda 8's ``zeebe:calledDecision`` maps it as Zeebe does, ``ZEEBE_RESULT``)."""
    ref = SpiffTaskParser._parse_extensions(node).get("calledDecisionId")
    called = node.find(f"{{{_BPMN_NS}}}extensionElements/{{{_ZEEBE_NS}}}calledDecision")
    if ref is None and called is not None:
        return called.get("decisionId"), called.get("resultVariable"), ZEEBE_RESULT

    def camunda(name: str) -> str | None:
        return next((v for ns in CAMUNDA_NAMESPACES if (v := node.get(f"{{{ns}}}{name}")) is not None), None)

    return (ref if ref is not None else camunda("decisionRef"), camunda("resultVariable"),
            camunda("mapDecisionResult"))


def decision_task(parser: Any, node: etree._Element, make: Callable[..., DecisionTask]) -> DecisionTask:
    """The spec of a business rule task, from the DMN files the BPMN parser was given (validated before)."""
    catalog: dict[str, Decision] = {}
    for dmn_parser in parser.dmn_parsers.values():
        catalog.update((d.id, d) for d in read_decisions(dmn_parser.node)[0])
    ref, result_variable, mapping = task_settings(node)
    needed = required_closure(catalog, ref or "")
    return make(decision_ref=ref, decisions=[d.to_dict() for d in needed], result_variable=result_variable,
                map_decision_result=mapping)


# --------------------------------------------------------------------------- validation
def decision_problems(dmn: Mapping[str, etree._ElementTree], bpmn: Mapping[str, etree._ElementTree],
                      display: Callable[[str], str]) -> list[Problem]:
    """What keeps the folder's decisions and business rule tasks from running as written."""
    problems: list[Problem] = []
    catalog: dict[str, Decision] = {}
    where: dict[str, tuple[str, etree._Element]] = {}
    for name, tree in dmn.items():
        shown = display(name)
        decisions, found = read_decisions(tree.getroot(), shown)
        problems.extend(found)
        nodes = {n.get("id"): n for n in _children(tree.getroot(), "decision")}
        if not nodes:
            problems.append(Problem(shown, element_line(tree.getroot()), "DMN_INVALID", "the file has no decision"))
        for decision in decisions:
            node = nodes[decision.id]
            if decision.id in catalog:
                problems.append(Problem(shown, element_line(node), "DMN_INVALID",
                                        f"{decision.label}: another decision of the folder has the id "
                                        f"'{decision.id}' ({where[decision.id][0]}); give each its own"))
                continue
            catalog[decision.id], where[decision.id] = decision, (shown, node)
    cyclic, depth = _requirement_graph(catalog)
    required_by_others = {r for d in catalog.values() for r in d.required}
    for decision in catalog.values():
        shown, node = where[decision.id]
        for required in decision.required:
            if required not in catalog:
                problems.append(Problem(shown, element_line(node), "DMN_INVALID",
                                        f"{decision.label} requires decision '{required}', which no DMN file of "
                                        "the folder has"))
        if decision.id in cyclic:
            problems.append(Problem(shown, element_line(node), "DMN_INVALID",
                                    f"{decision.label} requires itself through its required decisions; "
                                    "a decision requirement graph has no cycles"))
        elif depth[decision.id] > DEEPEST_REQUIREMENTS and decision.id not in required_by_others:  # the chain's head
            problems.append(Problem(shown, element_line(node), "DMN_INVALID",
                                    f"{decision.label} requires decisions {depth[decision.id]} deep; cityflow "
                                    f"follows at most {DEEPEST_REQUIREMENTS} — join some of them"))
    for name, tree in bpmn.items():
        problems.extend(_task_problems(display(name), tree, catalog))
    return problems


def _requirement_graph(catalog: Mapping[str, Decision]) -> tuple[set[str], dict[str, int]]:
    """The decisions on a cycle of requirements, and how deep each one's requirements go (itself 1),
    found without recursion."""
    cyclic: set[str] = set()
    depth: dict[str, int] = {}
    on_path: dict[str, int] = {}  # decision id -> its place on the path being walked
    for first in catalog:
        if first in depth:
            continue
        stack = [(first, iter(catalog[first].required))]
        on_path[first] = 0
        while stack:
            node, rest = stack[-1]
            child = next(rest, None)
            if child is None:
                stack.pop()
                del on_path[node]
                depth[node] = 1 + max((depth.get(c, 0) for c in catalog[node].required), default=0)
            elif child in on_path:
                cyclic.update(n for n, _ in stack[on_path[child]:])
            elif child in catalog and child not in depth:
                on_path[child] = len(stack)
                stack.append((child, iter(catalog[child].required)))
    return cyclic, depth


def _task_problems(shown: str, tree: etree._ElementTree, catalog: Mapping[str, Decision]) -> Iterable[Problem]:
    for node in tree.getroot().iter(f"{{{_BPMN_NS}}}businessRuleTask"):
        label = " ".join((node.get("name") or node.get("id") or "businessRuleTask").split())

        def problem(code: str, message: str, node: etree._Element = node, label: str = label) -> Problem:
            return Problem(shown, element_line(node), code, f"{label}: {message}")

        ref, result_variable, mapping = task_settings(node)
        if not ref:
            other = any(node.get(f"{{{ns}}}{a}") for ns in CAMUNDA_NAMESPACES
                        for a in ("class", "expression", "delegateExpression", "topic"))
            yield problem("DMN_UNSUPPORTED" if other else "MISSING_DECISION",
                          "a business rule task calls a decision here (camunda:decisionRef or "
                          "zeebe:calledDecision), not code")
            continue
        decision = catalog.get(ref)
        if decision is None:
            known = ", ".join(sorted(catalog)) or "none"
            yield problem("UNKNOWN_DECISION", f"no decision '{ref}' in the folder's DMN files (decisions: {known})")
            continue
        if result_variable is not None and not result_variable.strip().isidentifier():
            yield problem("BAD_DECISION_RESULT", f"resultVariable '{result_variable}' is not a variable name")
        if mapping == ZEEBE_RESULT:
            if not result_variable:
                yield problem("BAD_DECISION_RESULT", "zeebe:calledDecision names the resultVariable its result goes in")
        elif mapping is not None and mapping not in RESULT_MAPPINGS:
            yield problem("BAD_DECISION_RESULT", f"mapDecisionResult '{mapping}' is none of "
                                                 f"{', '.join(RESULT_MAPPINGS)}")
        elif mapping in ("singleEntry", "collectEntries") and decision.literal is None \
                and not decision.aggregation and len(decision.outputs) > 1:
            yield problem("BAD_DECISION_RESULT",
                          f"{mapping} takes one output, {decision.label} has {len(decision.outputs)} "
                          f"({', '.join(o.key for o in decision.outputs)}); map it as singleResult or resultList")
