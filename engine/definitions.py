"""Process definitions: read a ``workflows/<process>/`` folder, validate it, deploy it as a version.

A version is identified by the sha256 of the folder's definition files (``*.bpmn``,
``*.dmn``, ``*.json``, and the case view ``*.html``, in any sub-folder); deploying the same content again changes
nothing, new content becomes version N+1, and running instances stay on the
version they started with. Validation runs in layers — hardened XML, the OMG
schema, SpiffWorkflow's parser, then cityflow's executability checks — and
reports every problem as ``file:line: CODE: message``; a bad file never raises
anything but ``DefinitionError``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema
from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.spiff.parser.task_spec import SpiffTaskParser
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine import audit, labels, registry
from engine.bpmn_xml import (
    BPMN_SUFFIXES,
    DMN_SUFFIXES,
    definition_stem,
    element_line,
    is_bpmn_file,
    parse_xml,
    read_bytes,
    schema_problems,
)
from engine.citytime import CityTime
from engine.decisions import decision_problems
from engine.errors import DefinitionError, Problem, ProcessNotFound
from engine.handlers import known_handler_names
from engine.modelling import camunda_attribute, drawing_problems
from engine.models import ProcessSchedule, ProcessVersion
from engine.parsing import BpmnParser, camunda_properties, external_topic, handler_name
from engine.runtime import ProcessBundle
from engine.sandbox import camunda_to_python, compile_problem, date_arithmetic
from engine.timers import cron_expression, cron_next

# .html: a case view (view.html), read by the pages
DEFINITION_SUFFIXES = (*BPMN_SUFFIXES, *DMN_SUFFIXES, ".json", ".html")
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN_NS}
PYTHON_SCRIPT_FORMATS = {"", "python", "text/python", "text/x-python", "application/x-python"}
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")


@dataclass
class DefinitionSource:
    """The definition files of one process, as bytes, with their names relative to its folder."""

    key: str
    files: dict[str, bytes]
    location: str = ""

    @property
    def hash(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(name.encode() + b"\0" + hashlib.sha256(self.files[name]).digest() + b"\n")
        return digest.hexdigest()

    def display(self, name: str) -> str:
        return str(Path(self.location) / name) if self.location else name


def read_source(path: Path) -> DefinitionSource:
    """A folder (every definition file below it) or a single BPMN file, keyed by its name.

    Raises ``DefinitionError`` naming each file that is missing, unreadable or too large.
    """
    if path.is_dir():
        key, location = path.name, path
        names = [
            p.relative_to(path).as_posix()
            for p in sorted(path.rglob("*"))
            if p.name.lower().endswith(DEFINITION_SUFFIXES) and not p.is_dir()
        ]
    elif path.exists() or path.is_symlink():
        key, location, names = definition_stem(path.name), path.parent, [path.name]
    else:
        raise DefinitionError([Problem(str(path), 0, "FILE_NOT_FOUND", "no such file or folder")])
    files: dict[str, bytes] = {}
    problems: list[Problem] = []
    for name in names:
        content, unreadable = read_bytes(location / name, str(location / name))
        problems.extend(unreadable)
        if content is not None:
            files[name] = content
    if problems:
        raise DefinitionError(problems)
    return DefinitionSource(key=key, files=files, location=str(location))


def process_folders(workflows_dir: Path) -> list[Path]:
    """Every folder of the workflows dir that holds a BPMN file."""
    if not workflows_dir.is_dir():
        return []
    return [p for p in sorted(workflows_dir.iterdir())
            if p.is_dir() and any(is_bpmn_file(f.name) for f in p.rglob("*"))]


@dataclass
class Checked:
    """The outcome of validating one source: a runnable bundle, or problems."""

    source: DefinitionSource
    problems: list[Problem] = field(default_factory=list)
    bundle: ProcessBundle | None = None
    name: str = ""


def check(source: DefinitionSource) -> Checked:
    """Validate every file of ``source`` and, when all is well, parse it into a bundle."""
    result = Checked(source)
    if not _KEY.match(source.key):
        result.problems.append(
            Problem(source.display(""), 0, "BAD_PROCESS_KEY", f"'{source.key}' is not a usable process key")
        )
    bpmn: dict[str, etree._ElementTree] = {}
    dmn: dict[str, etree._ElementTree] = {}
    for name, content in sorted(source.files.items()):
        shown = source.display(name)
        if name.lower().endswith(".json"):
            if name == labels.FILE:  # the process's words in other languages
                result.problems.extend(_labels_problems(shown, content))
            elif name != registry.DECLARATION:  # the register declaration is no form
                result.problems.extend(_form_problems(shown, content))
            continue
        if name.lower().endswith(".html"):  # a case view: a template the pages render in their sandbox
            try:
                content.decode("utf-8")
            except UnicodeDecodeError as exc:
                result.problems.append(Problem(shown, 0, "VIEW_NOT_TEXT", f"a view must be UTF-8 text: {exc}"))
            continue
        tree, problems = parse_xml(content, shown)
        if tree is not None:
            problems = problems + schema_problems(tree, shown)
        result.problems.extend(problems)
        if tree is not None and not problems:
            (dmn if etree.QName(tree.getroot()).localname == "definitions"
             and etree.QName(tree.getroot()).namespace != BPMN_NS else bpmn)[name] = tree
    if registry.DECLARATION in source.files:
        result.problems.extend(registry.declaration_problems(source.files, source.display, {**bpmn, **dmn}))
    if not result.problems:  # decisions and the business rule tasks calling them, as engine.decisions runs them
        result.problems.extend(decision_problems(dmn, bpmn, source.display))
    if not bpmn and not result.problems:
        result.problems.append(Problem(source.display(""), 0, "NO_BPMN", "no BPMN file found"))
    if result.problems:
        return result

    for name, tree in bpmn.items():
        result.problems.extend(Problem(source.display(name), element_line(node), code, f"{_label(node)}: {message}")
                               for node, code, message in drawing_problems(tree.getroot()))
    if result.problems:
        return result

    parser = BpmnParser()
    try:
        for name, tree in dmn.items():
            parser.add_dmn_xml(tree.getroot(), filename=source.display(name))
        for name, tree in bpmn.items():
            parser.add_bpmn_xml(tree, filename=source.display(name))
    except Exception as exc:  # SpiffWorkflow reports problems as many exception types
        result.problems.append(_spiff_problem(exc, source, bpmn))
        return result

    for name, tree in bpmn.items():
        result.problems.extend(_executability_problems(source, name, tree, parser))
    if result.problems:
        return result

    entry, problem = _entry_point(source, bpmn, parser)
    if problem is not None:
        result.problems.append(problem)
        return result
    assert entry is not None
    try:
        if entry in parser.collaborations and entry not in parser.process_parsers:
            spec, subprocess_specs = parser.get_collaboration(entry)
        else:
            spec = parser.get_spec(entry)
            subprocess_specs = parser.get_subprocess_specs(entry)
    except Exception as exc:  # SpiffWorkflow reports problems as many exception types
        result.problems.append(_spiff_problem(exc, source, bpmn))
        return result
    result.name = _process_name(bpmn, entry) or source.key
    result.bundle = ProcessBundle(source.key, 0, source.hash, spec, subprocess_specs,
                                  access=_process_access(bpmn, entry))
    return result


def _spiff_problem(exc: Exception, source: DefinitionSource, bpmn: dict[str, etree._ElementTree]) -> Problem:
    """A parser error as a problem, located at the element it names when it names one."""
    file_name = getattr(exc, "file_name", "") or source.display(next(iter(bpmn)))
    message = " ".join(str(exc).split()) or exc.__class__.__name__
    element = getattr(exc, "id", "")
    line = 0
    if element:
        message = f"{element}: {message}"
        for name, tree in bpmn.items():
            found = next((e for e in tree.getroot().iter() if e.get("id") == element), None)
            if found is not None:
                file_name, line = source.display(name), element_line(found)
                break
    return Problem(file_name, line, "BPMN_INVALID", message)


def _labels_problems(shown: str, content: bytes) -> list[Problem]:
    try:
        document = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [Problem(shown, getattr(exc, "lineno", 0), "LABELS_INVALID_JSON", str(exc))]
    return [Problem(shown, 0, "LABELS_INVALID", problem) for problem in labels.problems_of(document)]


def _form_problems(shown: str, content: bytes) -> list[Problem]:
    try:
        document = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", 0)
        return [Problem(shown, line, "FORM_INVALID_JSON", str(exc))]
    schema = document.get("schema", document) if isinstance(document, dict) else document
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return [Problem(shown, 1, "FORM_INVALID_SCHEMA", exc.message)]
    return []


def _text(node: etree._Element) -> str:
    return (node.text or "").strip()


def _is_iso_timer(text: str) -> bool:
    literal = text.strip().strip("'\"")
    for parse in (
        TimerEventDefinition.parse_iso_recurring_interval,
        TimerEventDefinition.parse_iso_duration,
        TimerEventDefinition.get_datetime,
    ):
        try:
            parse(literal)
            return True
        except Exception:  # noqa: S112 - each parser raises its own error type for "not mine"
            continue
    return False


def resolve_form(files: Iterable[str], element_id: str, form_key: str | None) -> str | None:
    """The form file a user task uses: its form key when it names a JSON file, else ``forms/<id>.json``."""
    names = set(files)
    if form_key and form_key.endswith(".json") and "/" not in form_key and f"forms/{form_key}" in names:
        return f"forms/{form_key}"
    if form_key and form_key.endswith(".json"):
        for candidate in (form_key, f"forms/{form_key}"):
            if candidate in names:
                return candidate
        return None
    conventional = f"forms/{element_id}.json"
    return conventional if conventional in names else None


# Names SpiffWorkflow gives the tasks it adds to every process; an element with one of them breaks it.
RESERVED_IDS = frozenset({"Start", "End", "Root"})
RESERVED_SUFFIXES = (".EndJoin", ".BoundaryEventSplit", ".BoundaryEventJoin", ".BoundaryEventParent")


# SpiffWorkflow parses and predicts a process by recursion along its flows: past some 480 elements in
# a row it fails with RecursionError. Longer paths are refused at validate, with room to spare.
LONGEST_PATH = 300


def _longest_path(container: etree._Element) -> int:
    """How many elements the longest path of sequence flows directly inside ``container`` passes
    (loops counted once), found without recursion."""
    following: dict[str, list[str]] = {}
    for flow in container.iterfind("bpmn:sequenceFlow", NS):
        following.setdefault(flow.get("sourceRef", ""), []).append(flow.get("targetRef", ""))
    longest: dict[str, int] = {}
    on_path: set[str] = set()
    for first in list(following):
        stack = [(first, iter(following.get(first, ())))]
        on_path.add(first)
        while stack:
            node, rest = stack[-1]
            child = next(rest, None)
            if child is None:
                stack.pop()
                on_path.discard(node)
                longest[node] = 1 + max((longest.get(c, 0) for c in following.get(node, ()) if c not in on_path),
                                        default=0)
            elif child not in longest and child not in on_path:
                on_path.add(child)
                stack.append((child, iter(following.get(child, ()))))
    return max(longest.values(), default=0)


def _expression_problem(expression: str) -> str | None:
    """What is wrong with a Camunda ``${…}`` expression, said before it runs; None when nothing is."""
    _, outside = date_arithmetic(expression.strip()[2:-1])
    if outside is not None:
        return (f"'{outside}' is outside the date arithmetic cityflow reads: now() or dateTime() or a date "
                "in the data, then plusDays(n), minusHours(n) … plusYears(n) and toDate()")
    return compile_problem(camunda_to_python(expression), "eval")


def _label(node: etree._Element) -> str:
    """How a problem names its element: its name, else its id, else its kind."""
    return " ".join((node.get("name") or node.get("id") or etree.QName(node).localname).split())


def _owner(node: etree._Element) -> etree._Element:
    """The element a nested definition belongs to (for naming it in a problem)."""
    parent = node.getparent()
    return parent if parent is not None else node


def _executability_problems(
    source: DefinitionSource, name: str, tree: etree._ElementTree, parser: BpmnParser
) -> list[Problem]:
    shown = source.display(name)
    problems: list[Problem] = []

    def add(node: etree._Element, code: str, message: str) -> None:
        problems.append(Problem(shown, element_line(node), code, f"{_label(node)}: {message}"))

    root = tree.getroot()
    for node in root.iterfind(".//bpmn:process//*[@id]", NS):
        element_id = node.get("id", "")
        if element_id in RESERVED_IDS or element_id.endswith(RESERVED_SUFFIXES):
            add(node, "RESERVED_ID", f"the id '{element_id}' is one the engine uses for itself; give the element "
                                     f"another id (e.g. '{element_id.lower().replace('.', '_')}_1')")
    for container in [*root.iterfind(".//bpmn:process", NS), *root.iterfind(".//bpmn:subProcess", NS)]:
        steps = _longest_path(container)
        if steps > LONGEST_PATH:
            add(container, "PROCESS_TOO_LONG", f"a path runs through {steps:,} elements in a row; the engine follows "
                           f"at most {LONGEST_PATH} — split it into sub-processes or call activities")
    for node in root.iterfind(".//bpmn:scriptTask", NS):
        script_format = (node.get("scriptFormat") or "").lower()
        if script_format not in PYTHON_SCRIPT_FORMATS:
            add(node, "UNSUPPORTED_SCRIPT_LANGUAGE", f"scripts are Python, not '{script_format}'")
            continue
        script = node.find("bpmn:script", NS)
        if script is not None and (message := compile_problem(_text(script), "exec")):
            add(node, "BAD_SCRIPT", message)
    for node in root.iterfind(".//bpmn:conditionExpression", NS):
        expression = _text(node)
        if expression and (message := _expression_problem(expression) if expression.strip().startswith(("${", "#{"))
                           else compile_problem(expression, "eval")):
            add(_owner(node), "BAD_CONDITION", message)
    known = known_handler_names()
    for node in root.iterfind(".//bpmn:serviceTask", NS):
        handler, topic = handler_name(node), external_topic(node)
        if handler is None:
            add(node, "MISSING_HANDLER", "a service task must name its handler, or its topic when done outside "
                                         "cityflow (camunda:type=\"external\" camunda:topic=…)")
        elif topic is not None and topic.startswith("="):
            add(node, "BAD_TOPIC", f"the topic '{topic}' is an expression; a topic is a name workers fetch by")
        elif topic is None and handler not in known:  # an external task's worker is outside: nothing to know
            java = camunda_attribute(node, "class") == handler
            add(node, "UNKNOWN_HANDLER", f"no handler named '{handler}' is registered" + (
                ": a Java class does not run here; register a handler of that name, or let a worker outside "
                "do it (camunda:type=\"external\" camunda:topic=…)" if java else ""))
    for node in root.iterfind(".//bpmn:userTask", NS):
        properties = SpiffTaskParser._parse_extensions(node).get("properties") or {}
        form_key = camunda_attribute(node, "formKey") or properties.get("formJsonSchemaFilename")
        if form_key and form_key.endswith(".json") and resolve_form(source.files, node.get("id", ""), form_key) is None:
            add(node, "FORM_NOT_FOUND", f"form '{form_key}' is not in the process folder")
        for attribute in ("assignee", "candidateUsers", "candidateGroups", "dueDate", "followUpDate", "priority"):
            value = camunda_attribute(node, attribute)
            is_expression = value is not None and value.strip().startswith(("${", "#{"))
            if value is not None and is_expression and (message := _expression_problem(value)):
                add(node, "BAD_EXPRESSION", f"{attribute}: {message}")
    for node in root.iterfind(".//bpmn:startEvent", NS):
        form_key = camunda_attribute(node, "formKey")
        if form_key and form_key.endswith(".json") and resolve_form(source.files, node.get("id", ""), form_key) is None:
            add(node, "FORM_NOT_FOUND", f"start form '{form_key}' is not in the process folder")
        initiator = camunda_attribute(node, "initiator")
        if initiator is not None and not initiator.strip().isidentifier():
            add(node, "BAD_INITIATOR", f"initiator '{initiator}' is not a variable name")
    for tag in ("timeDate", "timeDuration", "timeCycle"):
        for node in root.iterfind(f".//bpmn:{tag}", NS):
            text = _text(node)
            event = _owner(_owner(node))
            if not text:
                add(event, "BAD_TIMER", f"empty {tag}")
            elif tag == "timeCycle" and cron_expression(text) is not None:
                continue
            elif not _is_iso_timer(text) and compile_problem(text, "eval"):
                add(event, "BAD_TIMER", f"{tag} '{text}' is neither ISO 8601 nor an expression")
    for node in root.iterfind(".//bpmn:callActivity", NS):
        called = node.get("calledElement")
        if not called:
            add(node, "MISSING_CALLED_ELEMENT", "a call activity must name the process it calls")
        elif called not in parser.process_parsers:
            add(node, "UNKNOWN_CALLED_ELEMENT", f"no process '{called}' in this folder")
    return problems


def _entry_point(
    source: DefinitionSource, bpmn: dict[str, etree._ElementTree], parser: BpmnParser
) -> tuple[str | None, Problem | None]:
    executable = list(parser.get_process_ids())
    called = parser.get_process_dependencies()
    first_file = source.display(next(iter(bpmn)))
    if source.key in executable:
        return source.key, None
    roots = [p for p in executable if p not in called]
    if len(roots) == 1:
        return roots[0], None
    collaborations = [
        c for c, members in parser.collaborations.items() if len(set(members) & set(roots)) > 1
    ]
    if len(collaborations) == 1:
        return collaborations[0], None
    if not executable:
        return None, Problem(first_file, 0, "NO_EXECUTABLE_PROCESS",
                             "no process is marked isExecutable=\"true\"")
    return None, Problem(first_file, 0, "AMBIGUOUS_ENTRY_POINT",
                         f"several processes could start it ({', '.join(roots)}); "
                         f"name the main one '{source.key}'")


def _process_name(bpmn: dict[str, etree._ElementTree], entry: str) -> str | None:
    for tree in bpmn.values():
        for node in tree.getroot().iter(f"{{{BPMN_NS}}}process", f"{{{BPMN_NS}}}collaboration"):
            if node.get("id") == entry:
                return node.get("name")
    return None


def _process_properties(bpmn: dict[str, etree._ElementTree], entry: str) -> dict[str, str]:
    """The extension properties (Camunda Modeler's "Extension properties") of the entry process
    or of the processes of the entry collaboration."""
    found: dict[str, str] = {}
    for tree in bpmn.values():
        for node in tree.getroot().iter(f"{{{BPMN_NS}}}process", f"{{{BPMN_NS}}}collaboration"):
            if node.get("id") != entry and not _in_collaboration(tree, entry, node.get("id")):
                continue
            found.update(camunda_properties(node))
    return found


def _in_collaboration(tree: etree._ElementTree, collaboration: str, process_id: str | None) -> bool:
    for node in tree.getroot().iter(f"{{{BPMN_NS}}}collaboration"):
        if node.get("id") == collaboration:
            return any(p.get("processRef") == process_id for p in node.iter(f"{{{BPMN_NS}}}participant"))
    return False


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _process_access(bpmn: dict[str, etree._ElementTree], entry: str) -> dict[str, Any]:
    """What the process declares about who else reads and reaches its cases:
    ``overseers`` — groups (departments, bureaus) whose members read every case;
    ``senders:<message>`` — who may send that message (``role:R``, ``group:G``, ``user:U``)."""
    properties = _process_properties(bpmn, entry)
    senders = {name.split(":", 1)[1].strip(): _names(value)
               for name, value in properties.items() if name.startswith("senders:")}
    return {"overseers": _names(properties.get("overseers", "")), "senders": senders}


# -- deployment ------------------------------------------------------------------------------


@dataclass
class Deployment:
    key: str
    version: int
    hash: str
    created: bool


def deploy(session: Session, checked: Checked, actor: str, now: datetime | None = None) -> Deployment:
    """Store a validated source as the next version of its process (a no-op when unchanged)."""
    if checked.problems or checked.bundle is None:
        raise DefinitionError(checked.problems)
    source = checked.source
    existing = session.execute(
        select(ProcessVersion).where(ProcessVersion.key == source.key, ProcessVersion.hash == source.hash)
    ).scalar_one_or_none()
    if existing is not None:
        return Deployment(existing.key, existing.version, existing.hash, created=False)
    latest = session.execute(
        select(func.max(ProcessVersion.version)).where(ProcessVersion.key == source.key)
    ).scalar_one()
    version = (latest or 0) + 1
    row = ProcessVersion(
        key=source.key,
        version=version,
        hash=source.hash,
        name=checked.name,
        entry_point=str(checked.bundle.spec.name),
        files={name: content.decode("utf-8", errors="replace") for name, content in source.files.items()},
        spec=checked.bundle.to_dict(),
        deployed_by=actor,
    )
    session.add(row)
    session.flush()
    _schedule_timer_start(session, row, checked.bundle, now or datetime.now(UTC))
    audit.append_to_system(
        session,
        audit.Entry(
            action="process.deployed",
            actor=actor,
            detail={"process_key": source.key, "version": version, "hash": source.hash},
        ),
    )
    session.flush()
    return Deployment(source.key, version, source.hash, created=True)


def _schedule_timer_start(session: Session, row: ProcessVersion, bundle: ProcessBundle, now: datetime) -> None:
    """A process whose start event is a timer starts by itself: the newest version's schedule counts."""
    session.execute(delete(ProcessSchedule).where(ProcessSchedule.process_key == row.key))
    for spec in bundle.spec.task_specs.values():
        definition = getattr(spec, "event_definition", None)
        if spec.__class__.__name__ != "StartEvent" or not isinstance(definition, TimerEventDefinition):
            continue
        text = (definition.expression or "").strip().strip("'\"")
        due, remaining, interval = _first_start(definition, text, now)
        if due is not None:
            session.add(ProcessSchedule(process_version_id=row.id, process_key=row.key, due_at=due,
                                        remaining=remaining, interval_seconds=interval))


def _first_start(
    definition: TimerEventDefinition, text: str, now: datetime
) -> tuple[datetime | None, int, float | None]:
    try:
        if isinstance(definition, CycleTimerEventDefinition):
            if (cron := cron_expression(text)) is not None:
                return cron_next(cron, now, CityTime.from_settings()), -1, None
            if text.count("/") > 1:
                cycles, start, duration = TimerEventDefinition.parse_iso_recurring_interval(text)
            else:
                cycles = int(text.split("/")[0][1:] or -1)
                parsed = TimerEventDefinition.parse_iso_duration(text.split("/")[1])
                duration = TimerEventDefinition.get_timedelta_from_start(parsed, now)
                start = now + duration
            return start, cycles, duration.total_seconds()
        if isinstance(definition, DurationTimerEventDefinition):
            parsed = TimerEventDefinition.parse_iso_duration(text)
            return now + TimerEventDefinition.get_timedelta_from_start(parsed, now), 1, None
        return CityTime.from_settings().utc(text), 1, None  # a time without an offset is the city's
    except Exception:
        return None, 0, None


def next_scheduled_start(bundle: ProcessBundle, after: datetime) -> datetime | None:
    """When a process whose timer start event is a cron cycle starts next after ``after``; None for
    any other start (an ISO cycle moves by its interval)."""
    for spec in bundle.spec.task_specs.values():
        definition = getattr(spec, "event_definition", None)
        if spec.__class__.__name__ == "StartEvent" and isinstance(definition, CycleTimerEventDefinition):
            cron = cron_expression(definition.expression or "")
            if cron is not None:
                return cron_next(cron, after, CityTime.from_settings())
    return None


def latest_version(session: Session, key: str) -> tuple[int, int]:
    """The row id and number of the newest version of ``key``."""
    row = session.execute(
        select(ProcessVersion.id, ProcessVersion.version)
        .where(ProcessVersion.key == key)
        .order_by(ProcessVersion.version.desc())
        .limit(1)
    ).one_or_none()
    if row is None:
        raise ProcessNotFound(f"no process '{key}' is deployed")
    return row.id, row.version


def latest_versions(session: Session) -> list[ProcessVersion]:
    newest = (
        select(ProcessVersion.key, func.max(ProcessVersion.version).label("version"))
        .group_by(ProcessVersion.key)
        .subquery()
    )
    query = select(ProcessVersion).join(
        newest, (ProcessVersion.key == newest.c.key) & (ProcessVersion.version == newest.c.version)
    )
    return list(session.execute(query.order_by(ProcessVersion.key)).scalars())


class BundleCache:
    """Parsed specs per deployed version, shared by every instance of it in this process.

    Keyed by the version's row id: one cache serves one database.
    """

    def __init__(self, size: int = 64) -> None:
        self._bundles: OrderedDict[int, ProcessBundle] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, session: Session, version_id: int) -> ProcessBundle:
        with self._lock:
            bundle = self._bundles.get(version_id)
            if bundle is not None:
                self._bundles.move_to_end(version_id)
                return bundle
        row = session.get(ProcessVersion, version_id)
        if row is None:
            raise ProcessNotFound(f"no process version {version_id}")
        bundle = ProcessBundle.from_dict(row.key, row.version, row.hash, row.spec)
        with self._lock:
            self._bundles[version_id] = bundle
            while len(self._bundles) > self._size:
                self._bundles.popitem(last=False)
        return bundle


def version_of(session: Session, version_id: int) -> ProcessVersion:
    """A deployed version by its row id (an instance's ``process_version_id``), read once per unit of
    work however often a request asks (a version never changes)."""
    held: dict[int, ProcessVersion] = session.info.setdefault("process_versions", {})
    row = held.get(version_id) or session.get(ProcessVersion, version_id)
    if row is None:
        raise ProcessNotFound(f"no process version {version_id}")
    held[version_id] = row
    return row


_files: OrderedDict[str, Mapping[str, str]] = OrderedDict()
_files_lock = threading.Lock()
FILES_CACHED = 32  # versions whose files stay in memory, newest used first


def files_of(row: ProcessVersion | VersionFiles) -> Mapping[str, str]:
    """The files deployed with ``row`` (name → text), read from the database once per process: a
    version never changes after it is deployed, and its ``hash`` is the hash of exactly these files, so
    the cache is right for any database. Read-only: callers copy what they change."""
    return _remembered(row.hash, lambda: row.files)


@dataclass(frozen=True)
class VersionFiles:
    """A deployed version's files without its row: what forms and labels are read from."""

    id: int
    hash: str
    files: Mapping[str, str]


def deployed_files(session: Session, bundles: BundleCache, version_id: int) -> VersionFiles:
    """The files of deployed version ``version_id``, from this process's caches when they hold them
    (its hash from the specs cache, its files by that hash): most steps read no version row at all."""
    version_hash = bundles.get(session, version_id).version_hash
    files = _remembered(version_hash, lambda: session.execute(
        select(ProcessVersion.files).where(ProcessVersion.id == version_id)).scalar_one())
    return VersionFiles(version_id, version_hash, files)


def _remembered(version_hash: str, read: Callable[[], Mapping[str, str]]) -> Mapping[str, str]:
    with _files_lock:
        found = _files.get(version_hash)
        if found is not None:
            _files.move_to_end(version_hash)
            return found
    files = MappingProxyType(dict(read()))
    with _files_lock:
        _files[version_hash] = files
        while len(_files) > FILES_CACHED:
            _files.popitem(last=False)
    return files


def form_document(row: ProcessVersion | VersionFiles, element_id: str, form_key: str | None) -> dict[str, Any] | None:
    """The JSON form a user task uses, as stored with its version, or None (a fresh copy each time)."""
    files = files_of(row)
    name = resolve_form(files, element_id, form_key)
    if name is None:
        return None
    document: dict[str, Any] = json.loads(files[name])
    return document


def start_form(row: ProcessVersion, bundle: ProcessBundle) -> dict[str, Any] | None:
    """The JSON form filled in before an instance of this version starts (its start event's
    ``camunda:formKey``), or None: then a process starts with whatever data it is given."""
    start = bundle.start_event
    if start is None or not (start.form_key or "").endswith(".json"):
        return None
    return form_document(row, start.element_id, start.form_key)


def version_row(session: Session, key: str, version: int | None = None) -> ProcessVersion:
    """A deployed version of ``key`` (the newest when ``version`` is None). ``key`` is the process's
    folder, or the id of the BPMN process it starts (Camunda's "process definition key") when no
    folder is called so."""
    query = select(ProcessVersion).where(ProcessVersion.key == key)
    if version is not None:
        query = query.where(ProcessVersion.version == version)
    row = session.execute(query.order_by(ProcessVersion.version.desc()).limit(1)).scalar_one_or_none()
    if row is None and version is None:
        row = _newest_by_process_id(session, key)
    if row is None:
        raise ProcessNotFound(f"no process '{key}'" + (f" version {version}" if version is not None else ""))
    return row


def _newest_by_process_id(session: Session, process_id: str) -> ProcessVersion | None:
    """The newest version whose entry is the BPMN process ``process_id``, when only one process has it."""
    keys = session.execute(
        select(ProcessVersion.key).where(ProcessVersion.entry_point == process_id).distinct()
    ).scalars().all()
    if len(keys) > 1:
        raise ProcessNotFound(f"several processes start with the BPMN process '{process_id}' "
                              f"({', '.join(sorted(keys))}): start one by its name")
    return version_row(session, keys[0]) if keys else None


def diagram_files(row: ProcessVersion) -> dict[str, bytes]:
    return {name: text.encode() for name, text in files_of(row).items() if is_bpmn_file(name)}
