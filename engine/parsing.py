"""SpiffWorkflow's BPMN parser, taught the Camunda attributes modelers actually write.

User tasks and events keep ``camunda:assignee``, ``candidateUsers``,
``candidateGroups``, ``formKey`` and ``dueDate`` in their spec's ``extensions``, and a start
event its ``camunda:initiator`` (the variable that names who started the instance) and
``formKey`` (the form filled in before it starts);
service tasks name their handler by ``spiffworkflow:serviceTaskOperator`` or
``camunda:delegateExpression`` / ``class`` / ``expression`` / ``topic``, or — done outside
cityflow — their topic by ``camunda:type="external"`` or ``zeebe:taskDefinition``; business
rule tasks name their decision by ``spiffworkflow:calledDecisionId`` or
``camunda:decisionRef``.
"""

from __future__ import annotations

import ast
import functools
import re
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.event_parsers import EventBasedGatewayParser
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser, SpiffProcessParser
from SpiffWorkflow.spiff.parser.task_spec import (
    BusinessRuleTaskParser,
    CallActivityParser,
    SpiffTaskParser,
)
from SpiffWorkflow.spiff.specs.defaults import ServiceTask

from engine.decisions import DecisionTask, decision_task
from engine.modelling import (
    CAMUNDA_NAMESPACES,
    FirstEventGateway,
    MappedCallActivity,
    PassThroughTask,
    ProcessDataObject,
    as_drawn,
    camunda_attribute,
    data_store_specs,
    io_scripts,
    variable_mappings,
)
from engine.sandbox import camunda_to_python
from engine.timers import clocked

BPMN_MODEL_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ASSIGNMENT_ATTRIBUTES = ("assignee", "candidateUsers", "candidateGroups", "formKey", "dueDate", "followUpDate",
                         "priority", "initiator", "asyncBefore")


def camunda_properties(node: etree._Element) -> dict[str, str]:
    """``<camunda:properties><camunda:property name= value=/>`` of an element, by name."""
    found: dict[str, str] = {}
    for namespace in CAMUNDA_NAMESPACES:
        for prop in node.iterfind(f"{{{BPMN_MODEL_NS}}}extensionElements/{{{namespace}}}properties/"
                                  f"{{{namespace}}}property"):
            if prop.get("name"):
                found[str(prop.get("name")).strip()] = str(prop.get("value") or "")
    return found


_EXPRESSION_NAME = re.compile(r"^[#$]\{\s*([A-Za-z_][\w.]*)\s*\}$")
ZEEBE_NAMESPACE = "http://camunda.org/schema/zeebe/1.0"


def external_topic(node: etree._Element) -> str | None:
    """The topic of a service task done outside cityflow (``engine.external_tasks``): Camunda 7's
    ``camunda:type="external"`` with its ``camunda:topic``, or Camunda 8's ``<zeebe:taskDefinition
    type=…/>`` (there every service task is a job for a worker); None for a handler cityflow calls."""
    if (camunda_attribute(node, "type") or "").strip() == "external":
        return (camunda_attribute(node, "topic") or "").strip() or None
    definition = node.find(f"{{{BPMN_MODEL_NS}}}extensionElements/{{{ZEEBE_NAMESPACE}}}taskDefinition")
    if definition is not None:
        return (definition.get("type") or "").strip() or None
    return None


def handler_name(node: etree._Element) -> str | None:
    """The handler a service task names, in the order cityflow looks for it."""
    operator = SpiffTaskParser._parse_extensions(node).get("serviceTaskOperator")
    if operator is not None:
        return str(operator["name"])
    if (topic := camunda_attribute(node, "topic")) is not None:
        return topic
    if (topic := external_topic(node)) is not None:
        return topic
    for attribute in ("delegateExpression", "expression"):
        value = camunda_attribute(node, attribute)
        if value is not None:
            match = _EXPRESSION_NAME.match(value.strip())
            if match:
                return match.group(1)
            called = _expression_call(value)
            return called[0] if called else value
    return camunda_attribute(node, "class")


def _expression_call(value: str) -> tuple[str, list[str]] | None:
    """``${mailer.send(applicant, '접수')}`` as the handler it names (``mailer.send``) and the Python
    expressions of its arguments; None when the expression is not one such call."""
    text = value.strip()
    if not (text.startswith(("${", "#{")) and text.endswith("}")):
        return None
    try:
        tree = ast.parse(camunda_to_python(text), mode="eval")
    except SyntaxError:
        return None
    call = tree.body
    if not isinstance(call, ast.Call) or call.keywords:
        return None
    name = ast.unparse(call.func)
    if not re.fullmatch(r"[A-Za-z_][\w.]*", name):
        return None
    return name, [ast.unparse(argument) for argument in call.args]


class _CamundaExtensions:
    node: etree._Element

    def parse_timer_event(self, event: etree._Element) -> Any:
        # Timers read the engine's clock and accept ISO literals as modelers write them.
        return clocked(super().parse_timer_event(event))  # type: ignore[misc]

    def parse_extensions(self, node: etree._Element | None = None) -> dict[str, Any]:
        node = self.node if node is None else node
        extensions: dict[str, Any] = SpiffTaskParser._parse_extensions(node)
        for name in ASSIGNMENT_ATTRIBUTES:
            value = camunda_attribute(node, name)
            if value is not None:
                extensions[name] = value
        properties = camunda_properties(node)
        if properties:  # Camunda Modeler's "Extension properties" sit beside SpiffWorkflow's own
            extensions["properties"] = {**properties, **(extensions.get("properties") or {})}
        if (camunda_attribute(node, "async") or "").strip() == "true":  # Camunda's older name for asyncBefore
            extensions.setdefault("asyncBefore", "true")
        for kind, key in (("in", "camundaIn"), ("out", "camundaOut")):
            if (mappings := variable_mappings(node, kind)) is not None:
                extensions[key] = mappings
        # camunda:inputOutput: inputs set in the data before the task, outputs read from it after; a
        # service task's inputs are its handler's parameters instead
        before, after = io_scripts(node, with_inputs=etree.QName(node).localname != "serviceTask")
        for key, script in (("preScript", before), ("postScript", after)):
            if script:
                extensions[key] = "\n".join(part for part in (extensions.get(key), script) if part)
        return extensions


class DeferredServiceTask(ServiceTask):  # type: ignore[misc]
    """A service task whose handler the worker calls (with retries), not the engine step itself:
    reaching it leaves the task STARTED and asks for a job."""

    def _execute(self, task: Any) -> None:
        task._set_internal_data(job_requested=True)
        return None


def _camunda_parameters(node: etree._Element) -> dict[str, dict[str, str]]:
    """``camunda:inputParameter`` values as service parameters: ``${…}`` an expression, else text; the
    arguments of a ``camunda:expression`` call as ``arg1``, ``arg2`` …"""
    params: dict[str, dict[str, str]] = {}
    called = _expression_call(camunda_attribute(node, "expression") or "")
    for number, argument in enumerate(called[1] if called else [], start=1):
        params[f"arg{number}"] = {"value": argument, "type": "any"}
    for namespace in CAMUNDA_NAMESPACES:
        for parameter in node.iterfind(f".//{{{namespace}}}inputParameter"):
            name, text = parameter.get("name"), (parameter.text or "").strip()
            if name:
                expression = text[2:-1] if text.startswith(("${", "#{")) and text.endswith("}") else repr(text)
                params[name] = {"value": expression, "type": "any"}
    return params


class ServiceTaskParser(_CamundaExtensions, SpiffTaskParser):  # type: ignore[misc]
    def parse_extensions(self, node: etree._Element | None = None) -> dict[str, Any]:
        extensions = super().parse_extensions(node)
        topic = external_topic(self.node if node is None else node)
        if topic is not None:  # its job waits for a worker outside cityflow to fetch it
            extensions["externalTopic"] = topic
        if (kept := camunda_attribute(self.node if node is None else node, "resultVariable")) is not None:
            extensions["resultVariable"] = kept.strip()  # the handler's answer kept under this name
        return extensions

    def create_task(self) -> Any:
        extensions = self.parse_extensions()
        operator = extensions.get("serviceTaskOperator") or {}
        return DeferredServiceTask(
            self.spec,
            self.bpmn_id,
            operation_name=handler_name(self.node),
            operation_params=operator.get("parameters") or _camunda_parameters(self.node),
            result_variable=operator.get("resultVariable", ""),
            prescript=extensions.get("preScript"),
            postscript=extensions.get("postScript"),
            **self.bpmn_attributes,
        )


class DecisionTaskParser(_CamundaExtensions, BusinessRuleTaskParser):  # type: ignore[misc]
    """A business rule task calls a decision of the folder's DMN files, run by ``engine.decisions``."""

    @staticmethod
    def get_decision_ref(node: etree._Element) -> str | None:
        ref = BusinessRuleTaskParser.get_decision_ref(node)
        return ref if ref is not None else camunda_attribute(node, "decisionRef")

    def create_task(self) -> DecisionTask:
        extensions = self.parse_extensions()
        return decision_task(self.process_parser.parser, self.node, functools.partial(
            DecisionTask, self.spec, self.bpmn_id, prescript=extensions.get("preScript"),
            postscript=extensions.get("postScript"), **self.bpmn_attributes))


class _ProcessParser(SpiffProcessParser):  # type: ignore[misc]
    def parse_data_object(self, obj: etree._Element) -> ProcessDataObject:
        category = SpiffTaskParser._parse_extensions(obj).get("category")
        return ProcessDataObject(category, obj.get("id"), obj.get("name"))


def _with_camunda(parser_class: type) -> type:
    return type(f"Camunda{parser_class.__name__}", (_CamundaExtensions, parser_class), {})


class BpmnParser(SpiffBpmnParser):  # type: ignore[misc]
    """Parses BPMN and DMN into SpiffWorkflow specs; validation happens before, in ``definitions``."""

    OVERRIDE_PARSER_CLASSES = {
        tag: (_with_camunda(parser), spec)
        for tag, (parser, spec) in SpiffBpmnParser.OVERRIDE_PARSER_CLASSES.items()
    } | {
        full_tag("serviceTask"): (ServiceTaskParser, DeferredServiceTask),
        full_tag("businessRuleTask"): (
            DecisionTaskParser,
            SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("businessRuleTask")][1],
        ),
        # done outside the engine: passes through (BPMN 2.0, 10.3.3), as Camunda runs it
        full_tag("manualTask"): (_with_camunda(SpiffTaskParser), PassThroughTask),
        full_tag("task"): (_with_camunda(SpiffTaskParser), PassThroughTask),
        full_tag("eventBasedGateway"): (EventBasedGatewayParser, FirstEventGateway),
        full_tag("callActivity"): (_with_camunda(CallActivityParser), MappedCallActivity),
    }
    PROCESS_PARSER_CLASS = _ProcessParser

    def __init__(self) -> None:
        # Schema validation is done beforehand with a hardened parser; Spiff's own would re-parse.
        super().__init__(validator=None)

    def add_bpmn_xml(self, bpmn: Any, filename: str | None = None) -> None:
        as_drawn(bpmn.getroot() if hasattr(bpmn, "getroot") else bpmn)
        super().add_bpmn_xml(bpmn, filename)

    def _add_data_stores(self, bpmn: Any) -> None:
        # cityflow has no data store implementations: a data store is what the diagram documents
        self.data_stores.update(data_store_specs(bpmn.getroot() if hasattr(bpmn, "getroot") else bpmn))
