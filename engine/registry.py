"""Registers derived from instance data — never hand-kept tables — as each process declares them.

A process folder may hold ``register.json``: which keys of its instances' data make its register
(fields with their labels and types), which field is the status (its values, which of them close a
matter, the default while there is none), the department to group by, the deadline that makes an
open matter overdue, the rate (이행률, 달성률: instances in the counted statuses ÷ all), the mean of
a number field (평균진행률) and the filters offered. ``cityflow validate`` checks the declaration
against the folder's forms and scripts (``declaration_problems``); the newest deployed version's
declaration serves every instance of the process.

Everything is asked of the database: filters, counts grouped by department and status, overdue,
the mean and one page of items — a handful of statements however many instances there are.
Deadlines are ISO 8601 strings with offsets (``2026-12-31T18:00:00+09:00``); both databases turn
them into UTC before comparing them with now (see ``_Json.moment``).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any

import jsonschema
from lxml import etree
from sqlalchemy import (
    Date,
    DateTime,
    Integer,
    Interval,
    Numeric,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    not_,
    null,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery

from engine import access
from engine.bpmn_xml import is_bpmn_file, is_dmn_file
from engine.errors import InvalidInput, Problem, ProcessNotFound
from engine.identity import Principal
from engine.models import Instance, OpenTask, ProcessVersion
from engine.sandbox import parse_script

DECLARATION = "register.json"
FIELD_TYPES = ("text", "number", "date", "datetime", "list")
ROLES = ("title", "department", "deadline", "category")
DEFAULT_LIMIT, MAX_LIMIT = 50, 500

_KEY = "^[A-Za-z_][A-Za-z0-9_]{0,99}$"
_LABEL = {
    "type": "object",
    "properties": {"ko": {"type": "string", "minLength": 1}, "en": {"type": "string", "minLength": 1}},
    "required": ["ko"],
    "additionalProperties": False,
}
_NAMES = {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "fields"],
    "additionalProperties": False,
    "properties": {
        "name": _LABEL,
        "fields": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["key", "label", "type"],
                "additionalProperties": False,
                "properties": {
                    "key": {"type": "string", "pattern": _KEY},
                    "label": _LABEL,
                    "type": {"enum": list(FIELD_TYPES)},
                    "default": {"type": ["string", "number"]},
                },
            },
        },
        "computed": _NAMES,
        "status": {
            "type": "object",
            "required": ["field", "values"],
            "additionalProperties": False,
            "properties": {"field": {"type": "string"}, "values": {**_NAMES, "minItems": 1},
                           "default": {"type": "string"}, "closed": _NAMES},
        },
        **{role: {"type": "string"} for role in ROLES},
        "rate": {
            "type": "object",
            "required": ["label", "counts"],
            "additionalProperties": False,
            "properties": {"label": _LABEL, "counts": {**_NAMES, "minItems": 1}},
        },
        "mean": {
            "type": "object",
            "required": ["label", "field"],
            "additionalProperties": False,
            "properties": {"label": _LABEL, "field": {"type": "string"}},
        },
        "filters": _NAMES,
    },
}


# -- the declaration -------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One key of the data shown in the register; a missing, null or empty value reads as ``default``."""

    key: str
    label: dict[str, str]
    type: str
    default: Any = None


@dataclass(frozen=True)
class Declaration:
    """What ``register.json`` of a process states (see the module docstring and the README)."""

    process_key: str
    name: dict[str, str]
    fields: tuple[Field, ...]
    computed: tuple[str, ...] = ()
    status: str | None = None
    statuses: tuple[str, ...] = ()
    closed: tuple[str, ...] = ()
    initial: str | None = None
    title: str | None = None
    department: str | None = None
    deadline: str | None = None
    category: str | None = None
    rate_label: dict[str, str] | None = None
    counted: tuple[str, ...] = ()
    mean_label: dict[str, str] | None = None
    mean_of: str | None = None
    filters: tuple[str, ...] = ()

    @classmethod
    def from_document(cls, process_key: str, document: Mapping[str, Any]) -> Declaration:
        """A declaration from its (schema-valid) JSON document."""
        status = document.get("status") or {}
        rate = document.get("rate") or {}
        mean = document.get("mean") or {}
        return cls(
            process_key=process_key,
            name=dict(document["name"]),
            fields=tuple(Field(f["key"], dict(f["label"]), f["type"], f.get("default")) for f in document["fields"]),
            computed=tuple(document.get("computed") or ()),
            status=status.get("field"),
            statuses=tuple(status.get("values") or ()),
            closed=tuple(status.get("closed") or ()),
            initial=status.get("default"),
            title=document.get("title"),
            department=document.get("department"),
            deadline=document.get("deadline"),
            category=document.get("category"),
            rate_label=dict(rate["label"]) if rate else None,
            counted=tuple(rate.get("counts") or ()),
            mean_label=dict(mean["label"]) if mean else None,
            mean_of=mean.get("field"),
            filters=tuple(document.get("filters") or ()),
        )

    def field(self, key: str | None) -> Field | None:
        return next((f for f in self.fields if f.key == key), None)

    def filter_field(self, name: str) -> str | None:
        """The field a filter compares: a role's field (``department``, ``status``, ``category``) or a key."""
        role = {"department": self.department, "status": self.status, "category": self.category}
        return role.get(name, name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "process_key": self.process_key, "name": self.name,
            "fields": [{"key": f.key, "label": f.label, "type": f.type} for f in self.fields],
            "statuses": list(self.statuses), "closed": list(self.closed), "filters": list(self.filters),
            "rate": self.rate_label, "mean": self.mean_label,
        }


def declaration(session: Session, process_key: str) -> Declaration:
    """The register of ``process_key`` as its newest deployed version declares it."""
    text = session.execute(
        select(ProcessVersion.files[DECLARATION].as_string())
        .where(ProcessVersion.key == process_key)
        .order_by(ProcessVersion.version.desc())
        .limit(1)
    ).scalar_one_or_none()
    if not text:
        raise ProcessNotFound(f"no deployed process '{process_key}' declares a register")
    return Declaration.from_document(process_key, json.loads(text))


# -- validation (``cityflow validate``) ------------------------------------------------------


def declaration_problems(
    files: Mapping[str, bytes], display: Callable[[str], str], trees: Mapping[str, etree._ElementTree]
) -> list[Problem]:
    """What is wrong with the folder's ``register.json``, checked against its forms and scripts.

    ``files`` are the folder's definition files, ``trees`` its parsed BPMN and DMN files. A field is
    written by the process when it is a property of a form of the folder (any ``*.json`` but this
    one), or — listed under ``computed`` — when a script task assigns it or a decision table or an
    output parameter has it as output; start data alone does not count.
    """
    shown = display(DECLARATION)
    text = files[DECLARATION].decode("utf-8", errors="replace")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return [Problem(shown, exc.lineno, "REGISTER_INVALID_JSON", exc.msg)]
    lines = _Lines(text)
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(document), key=lambda e: list(map(str, e.path)))
    if errors:
        return [Problem(shown, lines.at(*e.path), "REGISTER_INVALID",
                        f"{'/'.join(str(p) for p in e.path) or 'the declaration'}: {e.message}") for e in errors]
    declared = Declaration.from_document("", document)
    problems = [Problem(shown, lines.at(*path), "REGISTER_INVALID", message)
                for path, message in _consistency(declared)]
    forms = _form_properties(files)
    parsed = all(name in trees for name in files if is_bpmn_file(name) or is_dmn_file(name))
    written = _assigned_names(trees) if parsed else None  # else the broken file's problems say enough
    for index, item in enumerate(declared.fields):
        line = lines.at("fields", index, "key")
        if item.key in declared.computed:
            if written is not None and item.key not in written:
                problems.append(Problem(shown, line, "REGISTER_COMPUTED_UNKNOWN",
                                        f"field '{item.key}' is listed as computed, but no script task of the folder "
                                        "assigns it and no decision table or output parameter sets it"))
        elif item.key not in forms:
            problems.append(Problem(shown, line, "REGISTER_FIELD_UNKNOWN",
                                    f"field '{item.key}' is not a property of any form of the folder; "
                                    "rename it to the form's property, or list it under \"computed\" "
                                    "if a script sets it"))
    return problems


JsonPath = tuple[str | int, ...]


def _consistency(declared: Declaration) -> Iterable[tuple[JsonPath, str]]:
    """References between the parts of a schema-valid declaration: (where, message) for each wrong one."""
    keys = [f.key for f in declared.fields]
    for index, key in enumerate(keys):
        if key in keys[:index]:
            yield ("fields", index, "key"), f"field '{key}' is declared twice"
    wanted = {"title": ("text",), "department": ("text",), "category": ("text",), "deadline": ("date", "datetime")}
    references: list[tuple[JsonPath, str | None, tuple[str, ...]]] = [
        ((role,), getattr(declared, role), wanted[role]) for role in ROLES]
    references += [(("status", "field"), declared.status, ("text",)),
                   (("mean", "field"), declared.mean_of, ("number",))]
    references += [(("computed", index), name, FIELD_TYPES) for index, name in enumerate(declared.computed)]
    for path, named, types in references:
        item = declared.field(named)
        if named is not None and item is None:
            yield path, f"{path[0]}: '{named}' is not a declared field"
        elif item is not None and item.type not in types:
            yield path, f"{path[0]}: field '{named}' is {item.type}, not {' or '.join(types)}"
    statuses: list[tuple[JsonPath, str]] = [(("status", "default"), declared.initial)] if declared.initial else []
    statuses += [(("status", "closed", index), status) for index, status in enumerate(declared.closed)]
    statuses += [(("rate", "counts", index), status) for index, status in enumerate(declared.counted)]
    for path, status in statuses:
        if status not in declared.statuses:
            yield path, f"{path[-2] if isinstance(path[-1], int) else path[-1]}: '{status}' is not one of the " \
                        "declared statuses"
    if declared.counted and declared.status is None:
        yield ("rate",), "rate: counts statuses, but no status is declared"
    roles = {"department": declared.department, "status": declared.status, "category": declared.category,
             "overdue": declared.deadline}
    for index, name in enumerate(declared.filters):
        item = declared.field(roles.get(name, name))
        if item is None:
            yield ("filters", index), f"filters: '{name}' names neither a declared role nor a field"
        elif item.type == "list":
            yield ("filters", index), f"filters: '{name}' is a list, which cannot be filtered on"


class _Lines:
    """The line of every value of a (valid) JSON text, by its path."""

    _decoder = json.JSONDecoder()

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts: dict[JsonPath, int] = {}
        self._value(0, ())

    def at(self, *path: str | int) -> int:
        """The line of the value at ``path``, or of its nearest enclosing value that exists."""
        for length in range(len(path), 0, -1):
            if (start := self.starts.get(tuple(path[:length]))) is not None:
                return self.text.count("\n", 0, start) + 1
        return 1

    def _space(self, position: int) -> int:
        while self.text[position] in " \t\r\n":
            position += 1
        return position

    def _value(self, position: int, path: JsonPath) -> int:
        position = self._space(position)
        self.starts[path] = position
        opening = self.text[position]
        if opening not in "[{":
            return int(self._decoder.raw_decode(self.text, position)[1])
        position, index = self._space(position + 1), 0
        while self.text[position] not in "]}":
            key: str | int = index
            if opening == "{":
                key, position = self._decoder.raw_decode(self.text, position)
                position = self._space(position) + 1  # the colon
            position = self._space(self._value(position, (*path, key)))
            position, index = (self._space(position + 1) if self.text[position] == "," else position), index + 1
        return position + 1


def _form_properties(files: Mapping[str, bytes]) -> set[str]:
    """Every top-level property of every JSON form of the folder (combinator branches included)."""
    found: set[str] = set()
    for name, content in files.items():
        if not name.lower().endswith(".json") or name == DECLARATION:
            continue
        try:
            document = json.loads(content)
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue  # reported as the form's own problem
        schema = document.get("schema", document) if isinstance(document, dict) else None
        pending = [schema]
        while pending:
            part = pending.pop()
            if not isinstance(part, dict):
                continue
            if isinstance(part.get("properties"), dict):
                found.update(part["properties"])
            pending.extend(part.get(k) for k in ("then", "else"))
            for k in ("allOf", "anyOf", "oneOf"):
                pending.extend(part.get(k) or [])
            pending.extend((part.get("dependentSchemas") or {}).values())
    return found


def _assigned_names(trees: Mapping[str, etree._ElementTree]) -> set[str]:
    """Names the process sets: script assignments, decision outputs, output parameters."""
    names: set[str] = set()
    for tree in trees.values():
        for node in tree.getroot().iter():
            local = etree.QName(node).localname if isinstance(node.tag, str) else ""
            if local == "script" and etree.QName(node.getparent()).localname == "scriptTask":
                try:
                    parsed = parse_script(node.text or "")
                except SyntaxError:
                    continue  # reported as BAD_SCRIPT
                names.update(n.id for n in ast.walk(parsed) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
            elif local in ("output", "outputParameter") and node.get("name"):
                names.add(str(node.get("name")))
    return names


# -- reading the data in SQL -----------------------------------------------------------------


_MOMENT = (r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
           r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?)?$")
_SQLITE_MOMENT = "[1-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]*"


def _registered(postgres: bool, *where: ColumnElement[bool]) -> Subquery:
    """The instances in scope with their data read once per row. PostgreSQL keeps ``json`` as text and
    would parse it again for every key an expression reads: the data is cast to ``jsonb`` once, in a
    sub-query that OFFSET 0 keeps the planner from folding into its uses."""
    data = cast(Instance.data, JSONB()) if postgres else Instance.data
    chosen = select(Instance.id, Instance.status, Instance.started_at, data.label("data")).where(*where)
    return chosen.offset(0).subquery("registered")


class _Json:
    """One key of the data of ``_registered`` rows read in SQL, as each database spells it."""

    def __init__(self, postgres: bool, data: ColumnElement[Any]) -> None:
        self.postgres, self.data = postgres, data

    def text(self, key: str) -> ColumnElement[Any]:
        """The value as text; empty text reads as NULL."""
        return func.nullif(self.data[key].as_string(), "")

    def _type(self, key: str) -> ColumnElement[Any]:
        if self.postgres:
            return func.jsonb_typeof(self.data[key])
        return func.json_type(self.data, f"$.{key}")

    def number(self, key: str) -> ColumnElement[Any]:
        """The value when it is a JSON number, else NULL (never an error, whatever is stored)."""
        if self.postgres:
            return case((self._type(key) == "number", self.data[key].as_string().cast(Numeric())))
        return case((self._type(key).in_(("integer", "real")), self.data[key].as_float()))

    def length(self, key: str) -> ColumnElement[Any]:
        """How many entries a JSON array holds (0 for anything else)."""
        if self.postgres:
            count = func.jsonb_array_length(self.data[key])
        else:
            count = func.json_array_length(self.data, f"$.{key}")
        return case((self._type(key) == "array", count), else_=0)

    def moment(self, key: str) -> ColumnElement[Any]:
        """An ISO 8601 date or date-time (``+HH:MM`` / ``Z`` offset; none means UTC) as a UTC value that
        compares with ``now_value``; NULL for anything else.

        SQLite's ``strftime`` applies the offset itself. PostgreSQL builds the moment from its parts
        after a strict pattern check, because a cast to ``timestamptz`` would fail the whole query
        on one bad value (e.g. 30 February); like SQLite, a day past the month's end runs on into
        the next month.
        """
        value = self.data[key].as_string()
        if not self.postgres:
            return case((value.op("GLOB")(_SQLITE_MOMENT), func.strftime("%Y-%m-%d %H:%M:%f", value)))
        # Once the pattern holds, the parts stand at known places: an offset is the last 6 characters
        # when a sign starts them (only possible after a time), "Z" the last one.
        length = func.length(value)
        signed = and_(length > 16, func.substr(value, length - 5, 1).in_(("+", "-")))
        zone = case((signed, 6), (func.right(value, 1) == "Z", 1), else_=0)
        clock = case((length > 10, func.substr(value, 12, length - 11 - zone)), else_="0")
        offset = case((signed, func.right(value, 6)), else_="0")
        day = (func.substr(value, 1, 7) + "-01").cast(Date()) + (func.substr(value, 9, 2).cast(Integer()) - 1)
        return case((value.regexp_match(_MOMENT), day + clock.cast(Interval()) - offset.cast(Interval())))

    def now_value(self, now: datetime) -> ColumnElement[Any]:
        """``now`` in the form ``moment`` compares with: naive UTC on PostgreSQL, text on SQLite."""
        utc = now.astimezone(UTC) if now.tzinfo else now
        if self.postgres:
            return literal(utc.replace(tzinfo=None), DateTime())
        return literal(utc.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3], String())


class _Columns:
    """The declared fields of one register as SQL expressions over its ``_registered`` rows."""

    def __init__(self, declared: Declaration, session: Session, where: list[ColumnElement[bool]],
                 now: datetime | None = None) -> None:
        postgres = session.get_bind().dialect.name == "postgresql"
        self.declared, self.now = declared, now
        self.rows = _registered(postgres, *where)
        self.json = _Json(postgres, self.rows.c.data)

    def value(self, item: Field) -> ColumnElement[Any]:
        """A field's value as the register shows it, its default standing in for what is missing."""
        if item.type == "list":
            return self.json.length(item.key)
        raw = self.json.number(item.key) if item.type == "number" else self.json.text(item.key)
        default = self.declared.initial if item.key == self.declared.status else item.default
        return raw if default is None else func.coalesce(raw, literal(default))

    def role(self, key: str | None) -> ColumnElement[Any]:
        item = self.declared.field(key)
        return self.value(item) if item is not None else null()

    def overdue(self) -> ColumnElement[bool] | None:
        """Past its deadline and not in a closed status; None when the register has no deadline."""
        if self.declared.deadline is None or self.now is None:
            return None
        # NULL (no readable deadline) counts as not overdue, so that NOT of this is its complement.
        moment = self.json.moment(self.declared.deadline)
        condition: ColumnElement[bool] = func.coalesce(moment < self.json.now_value(self.now), False)
        if self.declared.status is not None and self.declared.closed:
            condition = and_(self.role(self.declared.status).not_in(self.declared.closed), condition)
        return condition

    def flag(self) -> ColumnElement[Any]:
        condition = self.overdue()
        return case((condition, 1), else_=0) if condition is not None else literal(0)

    def condition(self, name: str, wanted: Any) -> ColumnElement[bool]:
        """The filter ``name`` (one the register offers) at the value ``wanted``."""
        if name == "open" and self.declared.status is not None and self.declared.closed:
            # Every register with closed statuses can be read for its open matters only (the dashboard's
            # counts of what is open link there): ``open=1`` — not in a closed status.
            still = func.coalesce(self.role(self.declared.status).not_in(self.declared.closed), True)
            return still if _flag(wanted, name) else not_(still)
        if name not in self.declared.filters:
            offered = ", ".join(self.declared.filters) or "none"
            raise InvalidInput(f"the register of '{self.declared.process_key}' has no filter '{name}' "
                               f"(offered: {offered})")
        if name == "overdue":
            condition = self.overdue()
            if condition is None:
                raise InvalidInput("overdue needs the time now")
            return condition if _flag(wanted, name) else not_(condition)
        item = self.declared.field(self.declared.filter_field(name))
        assert item is not None  # declarations are validated before they are deployed
        if item.type == "number":
            try:
                wanted = Decimal(str(wanted))
            except ArithmeticError as exc:
                raise InvalidInput(f"{name}: '{wanted}' is not a number") from exc
        equal: ColumnElement[bool] = self.value(item) == wanted
        return equal


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes"):
        return True
    if text in ("0", "false", "no"):
        return False
    raise InvalidInput(f"{name}: '{value}' is neither true nor false")


# -- the register ----------------------------------------------------------------------------


@dataclass
class Rate:
    """Instances in the counted statuses (``closed``) out of ``total``: 이행률, 달성률."""

    total: int = 0
    closed: int = 0

    @property
    def rate(self) -> float:
        return round(100 * self.closed / self.total, 1) if self.total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "closed": self.closed, "rate": self.rate}


@dataclass
class Register:
    """One register: figures over all its instances, and one page of the items that match the filters."""

    declaration: Declaration
    total: int = 0
    overall: Rate = field(default_factory=Rate)
    by_department: dict[str, Rate] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    overdue: int | None = None
    mean: float | None = None
    items: list[dict[str, Any]] = field(default_factory=list)
    matching: int = 0
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    @property
    def next_offset(self) -> int | None:
        following = self.offset + self.limit
        return following if self.limit and following < self.matching else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "register": self.declaration.as_dict(),
            "total": self.total,
            "overall": self.overall.as_dict(),
            "by_department": {name: rate.as_dict() for name, rate in self.by_department.items()},
            "by_status": self.by_status,
            "overdue": self.overdue,
            "mean": self.mean,
            "items": self.items,
            "matching": self.matching,
            "limit": self.limit,
            "offset": self.offset,
            "next_offset": self.next_offset,
        }


def register(
    session: Session,
    process_key: str,
    now: datetime | None = None,
    *,
    filters: Mapping[str, Any] | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    reader: Principal | None = None,
) -> Register:
    """The register ``process_key`` declares: counts by status and department, the rate, overdue
    and the mean over all its instances (cancelled ones aside), and a page of the items matching
    ``filters`` (name → value; empty values are ignored), newest first. With ``reader``, the items
    are those they may read (``engine.access``); the figures stay the city's.

    Four statements: the declaration, the figures (one GROUP BY), the number of matching items and
    their page (the last two only when ``limit`` > 0). Overdue needs ``now``.
    """
    if not 0 <= limit <= MAX_LIMIT or offset < 0:
        raise InvalidInput(f"limit must be 0–{MAX_LIMIT} and offset not negative")
    declared = declaration(session, process_key)
    columns = _Columns(declared, session, [Instance.process_key == process_key, Instance.status != "cancelled"], now)
    result = Register(declared, limit=limit, offset=offset, by_status=dict.fromkeys(declared.statuses, 0),
                      overdue=None if columns.overdue() is None else 0)
    _figures(session, columns, result)
    if limit:
        wanted = [columns.condition(name, value) for name, value in (filters or {}).items()
                  if value is not None and value != ""]
        if reader is not None:
            wanted.append(access.readable(reader, columns.rows.c.id))
        result.matching = session.execute(select(func.count()).select_from(columns.rows).where(*wanted)).scalar_one()
        result.items = _items(session, columns, wanted, limit, offset)
    return result


def _figures(session: Session, columns: _Columns, result: Register) -> None:
    """Every figure from one GROUP BY department and status; Python only adds up the groups."""
    declared = columns.declared
    measured_field = declared.field(declared.mean_of)
    mean = columns.value(measured_field) if measured_field is not None else cast(null(), Numeric())
    rows = select(
        columns.rows.c.id,  # the FROM of the figures even when the register declares no column of its own
        columns.role(declared.department).label("department"),
        columns.role(declared.status).label("status"),
        columns.flag().label("overdue"),
        mean.label("mean"),
    ).subquery()
    # Grouped over a sub-query's columns: PostgreSQL would not match the JSON expressions' parameters.
    groups = session.execute(
        select(rows.c.department, rows.c.status, func.count(), func.sum(rows.c.overdue), func.sum(rows.c.mean),
               func.count(rows.c.mean))
        .group_by(rows.c.department, rows.c.status)
    ).all()
    measured, summed = 0, 0.0
    for department, status, count, overdue, total, valued in groups:
        closed = count if status in declared.counted else 0
        result.total += count
        result.overall.total += count
        result.overall.closed += closed
        if declared.department is not None:
            rate = result.by_department.setdefault(str(department), Rate())
            rate.total += count
            rate.closed += closed
        if declared.status is not None:
            result.by_status[str(status)] = result.by_status.get(str(status), 0) + count
        if result.overdue is not None:
            result.overdue += int(overdue or 0)
        measured, summed = measured + valued, summed + float(total or 0)
    result.by_department = dict(sorted(result.by_department.items()))
    if declared.mean_of is not None:
        result.mean = round(summed / measured, 1) if measured else 0.0


def _items(
    session: Session, columns: _Columns, where: list[ColumnElement[bool]], limit: int, offset: int
) -> list[dict[str, Any]]:
    declared = columns.declared
    overdue = columns.overdue()
    shown = [columns.value(item).label(f"f{index}") for index, item in enumerate(declared.fields)]
    extra = [columns.flag().label("overdue")] if overdue is not None else []
    rows = columns.rows.c
    found = session.execute(
        select(rows.id, rows.status, *shown, *extra).where(*where)
        .order_by(rows.started_at.desc(), rows.id.desc()).limit(limit).offset(offset)
    ).all()
    items = []
    for row in found:
        item: dict[str, Any] = {"id": row[0], "instance_status": row[1]}
        item.update((f.key, _plain(row[2 + index])) for index, f in enumerate(declared.fields))
        if extra:
            item["overdue"] = bool(row[-1])
        items.append(item)
    return items


def _plain(value: Any) -> Any:
    """A database number as JSON shows it: whole numbers as int."""
    if isinstance(value, Decimal | float):
        return int(value) if value == int(value) else float(value)
    return value


# -- the dashboard's other figures -----------------------------------------------------------


@dataclass
class Waiting:
    """Open tasks of a process waiting for someone other than its initiator: how many, the oldest."""

    count: int
    oldest: list[dict[str, Any]]

    def __len__(self) -> int:
        return self.count


def waiting_tasks(
    session: Session, process_key: str, now: datetime, limit: int = 10, reader: Principal | None = None,
) -> Waiting:
    """Open tasks of a process, oldest first, with how long each has waited — leaving out those of
    whoever started the instance (a drafter's own 회수 or revision is no approval waiting). The
    title is the field the process's register names as ``title``, when it declares one. The count
    is the city's; the oldest shown are those ``reader`` may read."""
    actor = func.coalesce(OpenTask.claimed_by, OpenTask.assignee)
    scope = [OpenTask.process_key == process_key, OpenTask.standing.is_(False),
             or_(actor.is_(None), Instance.initiator.is_(None), actor != Instance.initiator)]
    joined = select(func.count()).select_from(OpenTask).join(Instance, Instance.id == OpenTask.instance_id)
    count = session.execute(joined.where(*scope)).scalar_one()
    try:
        title_key = declaration(session, process_key).title
    except ProcessNotFound:
        title_key = None
    title = func.nullif(Instance.data[title_key].as_string(), "") if title_key else null()
    readable = [access.readable(reader, Instance.id)] if reader is not None else []
    rows = session.execute(
        select(OpenTask, title).join(Instance, Instance.id == OpenTask.instance_id).where(*scope, *readable)
        .order_by(OpenTask.created_at, OpenTask.id).limit(limit)
    ).all()
    oldest = []
    for task, shown in rows:
        oldest.append({"id": task.id, "instance_id": task.instance_id, "name": task.name, "title": shown or "",
                       "waiting_days": (now - task.created_at).days, "assignee": task.claimed_by or task.assignee})
    return Waiting(count, oldest)


def open_by(session: Session, process_key: str, role: str = "category") -> dict[str, int]:
    """Running instances of a process counted by the field its register declares for ``role``
    (field reports open by category)."""
    declared = declaration(session, process_key)
    if role not in ROLES or getattr(declared, role) is None:
        raise InvalidInput(f"the register of '{process_key}' declares no {role}")
    columns = _Columns(declared, session, [Instance.process_key == process_key, Instance.status == "running"])
    rows = select(columns.role(getattr(declared, role)).label("value")).subquery()
    counted = session.execute(select(rows.c.value, func.count()).group_by(rows.c.value)).all()
    return dict(sorted((str(value), count) for value, count in counted))


@dataclass(frozen=True)
class Month:
    """One month of a process's cases: how many began and how many ended (closed, completed) in it."""

    month: str  # YYYY-MM, in city time
    started: int
    ended: int


def by_month(session: Session, process_key: str, now: datetime, zone: tzinfo, months: int = 12) -> list[Month]:
    """The last ``months`` months up to ``now`` (this one included), each with the cases of
    ``process_key`` started and ended in it, counted in the city's time (cancelled ones aside)."""
    local = now.astimezone(zone)
    first_year, first_month = divmod(local.year * 12 + local.month - 1 - (months - 1), 12)
    since = datetime(first_year, first_month + 1, 1, tzinfo=zone)
    labels = [f"{(first_year * 12 + first_month + n) // 12:04d}-{(first_month + n) % 12 + 1:02d}"
              for n in range(months)]
    started = dict.fromkeys(labels, 0)
    ended = dict.fromkeys(labels, 0)
    rows = session.execute(
        select(Instance.started_at, Instance.ended_at).where(
            Instance.process_key == process_key, Instance.status != "cancelled",
            or_(Instance.started_at >= since, Instance.ended_at >= since))
    ).all()
    for began, finished in rows:
        for moment, counts in ((began, started), (finished, ended)):
            if moment is None:
                continue
            key = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone).strftime("%Y-%m")
            if key in counts:
                counts[key] += 1
    return [Month(label, started[label], ended[label]) for label in labels]


# -- the two registers the city reads every day, by the names of their routes ----------------


def directives(session: Session, now: datetime, **filters: Any) -> Register:
    """The directive register (지시사항 관리대장): ``register`` of the process ``directive``."""
    return register(session, "directive", now, filters=filters)


def pledges(session: Session, **filters: Any) -> Register:
    """The pledge board (공약 이행현황): ``register`` of the process ``pledge``."""
    return register(session, "pledge", filters=filters)
