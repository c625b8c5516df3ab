"""Diagrams as designers draw them, run the way BPMN and Camunda 7 define them.

Camunda Modeler, bpmn.io, Flowable and spiff-arena write things SpiffWorkflow reads
differently from the tools that wrote them. Each is settled here, before or while the
parser reads the file, so that what validates runs as drawn:

- a sequence flow without an ``id`` (legal in Camunda's files) gets one; without it every
  such flow would be the same flow, and the instance would end straight after its start;
- ``<inputDataItem name="assignee"/>`` without an ``id`` names the item by its ``name``;
- ``camunda:collection`` and ``camunda:elementVariable`` on a multi-instance become the
  BPMN ``loopDataInputRef`` and ``inputDataItem`` they stand for;
- a data store (``dataStoreReference``) is documentation: reading or writing it changes
  nothing, as in Camunda 7;
- a data object (``dataObjectReference``) keeps its value where every later task can read
  it, as Camunda's process variables do, and a task that reads one not yet written goes on;
- a manual task, and a task of no kind, is done outside the engine and passes through, as BPMN says;
- an activity with several outgoing flows starts them all (or those whose conditions hold), a
  sub-process without a start event starts every element no flow leads to, and an exclusive
  gateway's flow without a condition is taken when reached (Camunda 7), instead of being refused;
- an event-based gateway follows the first event that arrives, once: a message delivered
  after the timer was due, but before the timer was seen, wins and the timer is dropped.
"""

from __future__ import annotations

import re
from copy import deepcopy
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.data_spec import BpmnDataStoreSpecification
from SpiffWorkflow.bpmn.specs.defaults import EventBasedGateway
from SpiffWorkflow.spiff.specs.data_object import DataObject
from SpiffWorkflow.spiff.specs.defaults import CallActivity, NoneTask

from engine.sandbox import camunda_to_python

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NAMESPACES = ("http://camunda.org/schema/1.0/bpmn", "http://activiti.org/bpmn")
_VARIABLE = re.compile(r"^\s*(?:[$#]\{\s*)?([A-Za-z_]\w*)\s*\}?\s*$")


def _bpmn(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def camunda_attribute(node: etree._Element, name: str) -> str | None:
    """A Camunda (or Activiti) extension attribute of an element, whichever namespace wrote it."""
    for namespace in CAMUNDA_NAMESPACES:
        value = node.get(f"{{{namespace}}}{name}")
        if value is not None:
            return value
    return None


def collection_variable(text: str) -> str | None:
    """The list variable ``camunda:collection`` names (``${approvers}`` or ``approvers``), if it names one."""
    match = _VARIABLE.match(text)
    return match.group(1) if match else None


def _io_value(parameter: etree._Element) -> str | None:
    """A ``camunda:inputParameter``/``outputParameter`` value as a Python expression: ``${…}`` the
    expression, text as text, ``camunda:list`` and ``camunda:map`` as a list and a dict; None for a
    ``camunda:script`` or anything else cityflow does not read."""
    children = [child for child in parameter if isinstance(child.tag, str)]
    if not children:
        text = (parameter.text or "").strip()
        if text.startswith(("${", "#{")) and text.endswith("}"):
            return f"({camunda_to_python(text)})"
        return repr(text)
    if len(children) != 1:
        return None
    (child,) = children
    local = etree.QName(child).localname
    if local == "list":
        items = [_io_value(value) for value in child if isinstance(value.tag, str)]
        return None if None in items else "[" + ", ".join(str(item) for item in items) + "]"
    if local == "map":
        entries = [(entry.get("key"), _io_value(entry)) for entry in child if isinstance(entry.tag, str)]
        if any(key is None or value is None for key, value in entries):
            return None
        return "{" + ", ".join(f"{key!r}: {value}" for key, value in entries) + "}"
    if local == "value":
        return _io_value(child)
    return None


def _io_parameters(node: etree._Element, kind: str) -> list[etree._Element]:
    found: list[etree._Element] = []
    for namespace in CAMUNDA_NAMESPACES:
        found.extend(node.iterfind(f"{_bpmn('extensionElements')}/{{{namespace}}}inputOutput/{{{namespace}}}{kind}"))
    return found


def io_scripts(node: etree._Element, with_inputs: bool = True) -> tuple[str, str]:
    """Camunda's ``inputOutput`` mapping of an activity as the scripts run before it (its input
    parameters, set in the data) and after it (its output parameters, read from the data)."""
    kinds = ("inputParameter", "outputParameter") if with_inputs else ("outputParameter",)
    scripts = {"inputParameter": "", "outputParameter": ""}
    for kind in kinds:
        lines = []
        for parameter in _io_parameters(node, kind):
            name, value = (parameter.get("name") or "").strip(), _io_value(parameter)
            if name.isidentifier() and value is not None:
                lines.append(f"{name} = {value}")
        scripts[kind] = "\n".join(lines)
    return scripts["inputParameter"], scripts["outputParameter"]


def drawing_problems(root: etree._Element) -> list[tuple[etree._Element, str, str]]:
    """What a diagram says that cannot run as drawn, found before it is read: (element, code, message)."""
    found: list[tuple[etree._Element, str, str]] = []
    for sub in root.iter(_bpmn("subProcess"), _bpmn("transaction")):
        if not any(child.tag in _FLOW_NODES or child.tag == _bpmn("startEvent") for child in sub):
            found.append((sub, "EMPTY_SUBPROCESS", "the sub-process holds nothing to do: draw its steps inside it, "
                                                   "or make it a task or a call activity"))
    for condition in root.iter(_bpmn("conditionExpression")):
        if not (condition.text or "").strip():
            owner = condition.getparent()
            found.append((owner if owner is not None else condition, "EMPTY_CONDITION",
                          "the flow's condition is empty: write one (${approved}), or remove it"))
    for timer in root.iter(_bpmn("timerEventDefinition")):
        if not any(timer.find(_bpmn(tag)) is not None for tag in ("timeDate", "timeDuration", "timeCycle")):
            owner = timer.getparent()
            found.append((owner if owner is not None else timer, "BAD_TIMER",
                          "the timer does not say when: give it a date, a duration or a cycle"))
    for namespace in CAMUNDA_NAMESPACES:
        for listener in (*root.iter(f"{{{namespace}}}taskListener"), *root.iter(f"{{{namespace}}}executionListener")):
            owner = listener.getparent()
            while owner is not None and owner.get("id") is None:
                owner = owner.getparent()
            found.append((owner if owner is not None else listener, "LISTENER_UNSUPPORTED",
                          f"a camunda:{etree.QName(listener).localname} runs Java or a script when the "
                          f"{listener.get('event') or 'element'} event happens, which cityflow does not run: "
                          "draw what it does as a script task or a service task, or remove it"))
    for kind in ("inputParameter", "outputParameter"):
        for namespace in CAMUNDA_NAMESPACES:
            for parameter in root.iter(f"{{{namespace}}}{kind}"):
                name = (parameter.get("name") or "").strip()
                owner = parameter.getparent()
                while owner is not None and owner.get("id") is None:
                    owner = owner.getparent()
                if not name.isidentifier():
                    found.append((owner if owner is not None else parameter, "BAD_MAPPING",
                                  f"{kind} '{name}' is not a variable name"))
                elif _io_value(parameter) is None:
                    found.append((owner if owner is not None else parameter, "BAD_MAPPING",
                                  f"{kind} '{name}': cityflow reads text, ${{…}}, a list or a map there, "
                                  "not a script; write the script as a script task"))
    for loop in root.iter(_bpmn("multiInstanceLoopCharacteristics")):
        collection = camunda_attribute(loop, "collection")
        if collection is not None and collection_variable(collection) is None:
            owner = loop.getparent()
            found.append((owner if owner is not None else loop, "BAD_COLLECTION",
                          f"camunda:collection '{collection}' must name a list in the data, as ${{approvers}}"))
    return found


def as_drawn(root: etree._Element) -> None:
    """Rewrite a parsed BPMN document in place into what SpiffWorkflow runs as its designer meant."""
    taken: set[str | None] = {node.get("id") for node in root.iter() if node.get("id")}
    for flow in root.iter(_bpmn("sequenceFlow")):
        if not flow.get("id"):
            flow.set("id", _new_id(f"flow_{flow.get('sourceRef', '')}_{flow.get('targetRef', '')}", taken))
    for container in (*root.iter(_bpmn("process")), *root.iter(_bpmn("subProcess"))):
        _implicit_start(container, taken)
        _implicit_splits(container, taken)
    for gateway in root.iter(_bpmn("exclusiveGateway"), _bpmn("inclusiveGateway")):
        _unconditioned_taken(gateway, root)
    for loop in root.iter(_bpmn("multiInstanceLoopCharacteristics")):
        _camunda_collection(loop)
        for item in (*loop.iterfind(_bpmn("inputDataItem")), *loop.iterfind(_bpmn("outputDataItem"))):
            if not item.get("id") and item.get("name"):
                item.set("id", str(item.get("name")))


_ACTIVITIES = frozenset(_bpmn(tag) for tag in (
    "task", "userTask", "scriptTask", "serviceTask", "businessRuleTask", "sendTask", "receiveTask", "manualTask",
    "callActivity", "subProcess", "transaction", "intermediateCatchEvent", "intermediateThrowEvent",
))
_FLOW_NODES = _ACTIVITIES | {_bpmn(tag) for tag in (
    "endEvent", "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway",
)}


def _new_id(base: str, taken: set[str | None]) -> str:
    found, n = base, 1
    while found in taken:
        n += 1
        found = f"{base}_{n}"
    taken.add(found)
    return found


def _flow(container: etree._Element, source: str, target: str, taken: set[str | None]) -> etree._Element:
    return etree.SubElement(container, _bpmn("sequenceFlow"), id=_new_id(f"flow_{source}_{target}", taken),
                            sourceRef=source, targetRef=target)


def _flows(container: etree._Element) -> list[etree._Element]:
    return list(container.iterfind(_bpmn("sequenceFlow")))


def _implicit_start(container: etree._Element, taken: set[str | None]) -> None:
    """A sub-process drawn without a start event starts every element no flow leads to, and one without
    an end event ends where its paths stop (BPMN 2.0, 10.6.2 and 10.5.3)."""
    if container.tag != _bpmn("subProcess") or container.get("triggeredByEvent") == "true":
        return
    sources = {flow.get("sourceRef") for flow in _flows(container)}
    if container.find(_bpmn("endEvent")) is None:  # each path that stops there ends there
        last = [node.get("id") for node in container if node.tag in _ACTIVITIES and node.get("id") not in sources
                and node.get("isForCompensation") != "true"]
        for node_id in last:
            end = etree.SubElement(container, _bpmn("endEvent"), id=_new_id(f"{node_id}_end", taken))
            _flow(container, str(node_id), str(end.get("id")), taken)
    if container.find(_bpmn("startEvent")) is not None:
        return
    targets = {flow.get("targetRef") for flow in _flows(container)}
    first = [node.get("id") for node in container
             if node.tag in _FLOW_NODES and node.get("id") not in targets and node.get("isForCompensation") != "true"]
    if not first:
        return
    start = etree.SubElement(container, _bpmn("startEvent"), id=_new_id(f"{container.get('id')}_start", taken))
    source = str(start.get("id"))
    if len(first) > 1:
        split = etree.SubElement(container, _bpmn("parallelGateway"), id=_new_id(f"{source}_split", taken))
        _flow(container, source, str(split.get("id")), taken)
        source = str(split.get("id"))
    for node_id in first:
        _flow(container, source, str(node_id), taken)


def _implicit_splits(container: etree._Element, taken: set[str | None]) -> None:
    """An activity with several outgoing flows starts each of them (BPMN 2.0, 10.3.1: uncontrolled flow),
    or those whose conditions hold (conditional flows): a parallel or an inclusive split placed after it."""
    outgoing: dict[str, list[etree._Element]] = {}
    for flow in _flows(container):
        outgoing.setdefault(str(flow.get("sourceRef")), []).append(flow)
    for node in list(container):
        flows = outgoing.get(str(node.get("id")), [])
        if (node.tag not in _ACTIVITIES and node.tag != _bpmn("boundaryEvent")) or len(flows) < 2:
            continue
        conditional = any(flow.find(_bpmn("conditionExpression")) is not None for flow in flows)
        kind = "inclusiveGateway" if conditional else "parallelGateway"
        split = etree.SubElement(container, _bpmn(kind), id=_new_id(f"{node.get('id')}_split", taken))
        if node.get("default"):
            split.set("default", str(node.attrib.pop("default")))
        for flow in flows:
            flow.set("sourceRef", str(split.get("id")))
        _flow(container, str(node.get("id")), str(split.get("id")), taken)


def _unconditioned_taken(gateway: etree._Element, root: etree._Element) -> None:
    """An exclusive or inclusive gateway's flow without a condition (and not its default) counts as true,
    as Camunda 7 runs it (an exclusive one takes it when reached in order); SpiffWorkflow would refuse it."""
    flows = [flow for flow in root.iter(_bpmn("sequenceFlow")) if flow.get("sourceRef") == gateway.get("id")]
    if len(flows) < 2:
        return
    for flow in flows:
        if flow.get("id") != gateway.get("default") and flow.find(_bpmn("conditionExpression")) is None:
            condition = etree.SubElement(flow, _bpmn("conditionExpression"))
            condition.text = "True"


def _camunda_collection(loop: etree._Element) -> None:
    collection = camunda_attribute(loop, "collection")
    if collection is None or loop.find(_bpmn("loopDataInputRef")) is not None:
        return
    variable = collection_variable(collection)
    if variable is None:  # refused at validate (BAD_COLLECTION); nothing to rewrite
        return
    reference = etree.Element(_bpmn("loopDataInputRef"))
    reference.text = variable
    cardinality = loop.find(_bpmn("loopCardinality"))
    if cardinality is not None:
        loop.remove(cardinality)  # Camunda reads the collection's length, not a cardinality, when both are set
    loop.insert(0, reference)
    element = camunda_attribute(loop, "elementVariable")
    if element and loop.find(_bpmn("inputDataItem")) is None:
        item = etree.Element(_bpmn("inputDataItem"), id=element.strip(), name=element.strip())
        loop.insert(1, item)


class PassThroughTask(NoneTask):  # type: ignore[misc]
    """A task (``bpmn:task``) or a manual task: done outside the engine, it passes through (BPMN 2.0, 10.3.3)."""

    def __init__(self, wf_spec: Any, bpmn_id: str, **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = False


def variable_mappings(node: etree._Element, kind: str) -> list[dict[str, str]] | None:
    """A call activity's ``camunda:in`` or ``camunda:out`` mappings (``kind``), as ``{"source" or
    "expression", "target"}`` or ``{"all": "true"}``; None when it has none of that kind."""
    found: list[dict[str, str]] = []
    for namespace in CAMUNDA_NAMESPACES:
        for mapping in node.iterfind(f"{_bpmn('extensionElements')}/{{{namespace}}}{kind}"):
            if mapping.get("variables") == "all":
                found.append({"all": "true"})
            elif mapping.get("target"):
                source = mapping.get("source")
                expression = mapping.get("sourceExpression")
                if source:
                    found.append({"source": source.strip(), "target": str(mapping.get("target")).strip()})
                elif expression:
                    found.append({"expression": camunda_to_python(expression.strip()),
                                  "target": str(mapping.get("target")).strip()})
    return found or None


class MappedCallActivity(CallActivity):  # type: ignore[misc]
    """A call activity that passes what its ``camunda:in`` mappings name to the process it calls, and takes
    back what its ``camunda:out`` mappings name (``variables="all"``: everything), as Camunda 7 does; one
    without mappings passes all its data both ways."""

    def _mapped(self, kind: str) -> list[dict[str, str]] | None:
        mappings: list[dict[str, str]] | None = (getattr(self, "extensions", None) or {}).get(kind)
        return mappings

    @staticmethod
    def _values(mappings: list[dict[str, str]], data: dict[str, Any], task: Any) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for mapping in mappings:
            if "all" in mapping:
                values.update(deepcopy(data))
            elif "source" in mapping:
                if mapping["source"] in data:
                    values[mapping["target"]] = deepcopy(data[mapping["source"]])
            else:
                values[mapping["target"]] = task.workflow.script_engine.evaluate(task, mapping["expression"])
        return values

    def copy_data(self, my_task: Any, subworkflow: Any) -> None:
        mappings = self._mapped("camundaIn")
        if mappings is None:
            super().copy_data(my_task, subworkflow)
            return
        start = subworkflow.get_next_task(subworkflow.task_tree, skip_subprocesses=True, spec_name="Start")
        start.set_data(**self._values(mappings, my_task.data, my_task))

    def update_data(self, my_task: Any, subworkflow: Any) -> None:
        mappings = self._mapped("camundaOut")
        if mappings is None:
            super().update_data(my_task, subworkflow)
            return
        my_task.data.update(self._values(mappings, subworkflow.last_task.data, subworkflow.last_task))


class DocumentedDataStore(BpmnDataStoreSpecification):  # type: ignore[misc]
    """A data store in the diagram: documentation of a system the process touches, no data of its own."""

    def get(self, my_task: Any) -> None:
        return None

    def set(self, my_task: Any) -> None:
        return None


class ProcessDataObject(DataObject):  # type: ignore[misc]
    """A data object as a process variable: written, it stays in the task's data too; read before it was
    ever written, the task goes on without it."""

    def get(self, my_task: Any) -> None:
        workflow = my_task.workflow
        while workflow is not None and self.bpmn_id not in workflow.data_objects:
            workflow = workflow.parent_workflow
        if workflow is not None:
            my_task.data[self.bpmn_id] = deepcopy(workflow.data_objects[self.bpmn_id])

    def set(self, my_task: Any) -> None:
        if self.bpmn_id not in my_task.data:
            return
        workflow = my_task.workflow
        while workflow.parent_workflow is not None and self.bpmn_id not in workflow.spec.data_objects:
            workflow = workflow.parent_workflow
        workflow.data_objects[self.bpmn_id] = deepcopy(my_task.data[self.bpmn_id])

    def delete(self, my_task: Any) -> None:
        return None


class FirstEventGateway(EventBasedGateway):  # type: ignore[misc]
    """An event-based gateway that takes the branch of the first event it caught, and only that one."""

    def _run_hook(self, my_task: Any) -> bool:
        seen = my_task.internal_data.get("seen_events") or []
        if len(seen) > 1:
            my_task.internal_data["seen_events"] = seen[:1]
        result: bool = super()._run_hook(my_task)
        return result


def data_store_specs(root: etree._Element) -> dict[str, DocumentedDataStore]:
    """Every ``dataStore`` of a document, as documentation."""
    return {
        str(store.get("id")): DocumentedDataStore(str(store.get("id")), store.get("name") or str(store.get("id")))
        for store in root.iter(_bpmn("dataStore")) if store.get("id")
    }
