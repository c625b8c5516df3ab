"""A user task's form: a JSON Schema (draft 2020-12) plus UI hints, read into fields with widgets.

A form document is ``{"schema": {...}, "ui": {...}}``, or a bare object schema. The UI
hints are keyed by property name; each is an object with any of

    widget        "text", "textarea", "select", "radio", "checkbox", "file", "photo", "location",
                  "person" (someone from the organisation), "department" (one of its departments)
    label, help   a string, or texts by locale: {"ko": "...", "en": "..."}
    placeholder   likewise
    labels        labels of the choices of a select, by value: {"road": {"ko": "도로", "en": "Roads"}}
    fields        the hints of the properties of a nested object or of a group's rows (same shape as ``ui``)

A ``person`` field holds ``{"user", "name", "position", "rank", "department"}`` (a list of them
when its schema is an array: several people); the form keeps only the username the browser sends
and the organisation fills in the rest (``forms.organisation.normalize``). A ``department`` field
holds a department's name (a list of names when an array). ``ui["submit"]`` is the label of the
form's submit button (``Form.submit_label``).

and ``ui["order"]`` (also ``fields["order"]``) lists property names in the order to show them;
the properties it does not name follow in schema order.

A value inside the data is named by a path such as ``items[1].qty``: property names joined
with dots, row indexes in brackets. The same path names the HTML input and the field of a
validation error, which is why a property name may not contain spaces, dots, brackets or
slashes, nor start with ``__``; ``csrf_token`` and ``action`` are the form's own.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from jsonschema import Draft202012Validator, SchemaError

WidgetKind = Literal[
    "text",
    "textarea",
    "number",
    "integer",
    "checkbox",
    "select",
    "multiselect",
    "date",
    "datetime",
    "file",
    "location",
    "group",
    "object",
    "person",
    "department",
]

DEFAULT_LOCALE = "ko"
WIDGETS = frozenset({"text", "textarea", "select", "radio", "checkbox", "file", "photo", "location", "person",
                     "department"})
ORGANISATION_WIDGETS = frozenset({"person", "department"})
# names the rendered form posts besides the fields (names starting with "__" are reserved too)
RESERVED_NAMES = frozenset({"csrf_token", "action"})
TEXTAREA_OVER = 200  # a string allowed to be longer than this many characters gets a textarea

_BAD_NAME = re.compile(r"[\s.\[\]/]")
_PATH_PART = re.compile(r"\[([0-9]{1,9})\]|\.?([^.\[\]]+)", re.ASCII)


class FormError(Exception):
    """A form document that cannot be used as a form; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class Choice:
    """One answer of a select: the JSON value stored, the label shown, the token posted by the browser."""

    value: Any
    label: str

    @property
    def token(self) -> str:
        return choice_token(self.value)


@dataclass(frozen=True, slots=True)
class Field:
    """One property of the form with the widget that edits it.

    ``required`` is relative to the object holding the property. ``fields`` are the
    properties of a nested object, of a location (lat, lon and perhaps address) or of
    each row of a group.
    """

    name: str
    kind: WidgetKind
    label: str
    schema: Mapping[str, Any]
    description: str | None = None
    required: bool = False
    placeholder: str | None = None
    choices: tuple[Choice, ...] = ()
    fields: tuple[Field, ...] = ()
    radios: bool = False  # a select or yes/no shown as radio buttons
    multiple: bool = False  # a file, person or department field holding a list
    accept: str | None = None  # the file types a file input offers
    capture: bool = False  # a photo: open the camera on a phone
    input_type: str = "text"  # the HTML type of a text input: text, email or url


@dataclass(frozen=True, slots=True)
class Form:
    """A usable form: its schema and hints as given, and its fields in display order."""

    schema: Mapping[str, Any]
    ui: Mapping[str, Any]
    fields: tuple[Field, ...]
    title: str | None = None
    description: str | None = None
    locale: str = DEFAULT_LOCALE

    @classmethod
    def from_document(cls, document: Mapping[str, Any], *, locale: str = DEFAULT_LOCALE) -> Form:
        """Read a form document; raise ``FormError`` when it is not a usable form.

        Checking a schema takes milliseconds, so forms are remembered by their content:
        the form returned owns a copy of the document and may be shared (do not change it).
        """
        if not isinstance(document, Mapping):
            raise FormError("a form must be a JSON object")
        try:
            text = json.dumps(document, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise FormError(f"a form must be plain JSON: {exc}") from None
        except RecursionError:
            raise FormError("the form is nested too deeply to be read") from None
        try:
            return _read_document(text, locale)
        except RecursionError:
            raise FormError("the form is nested too deeply to be read") from None

    def localized(self, locale: str) -> Form:
        """The same form with its labels in ``locale``."""
        if locale == self.locale:
            return self
        return Form.from_document({"schema": self.schema, "ui": self.ui}, locale=locale)

    @property
    def submit_label(self) -> str | None:
        """What the submit button says, as the form names it (``ui["submit"]``) in its language; None
        when it does not (nor when a property is called "submit": those are its hints)."""
        if "submit" in (self.schema.get("properties") or {}):
            return None
        return pick_text(self.ui.get("submit"), self.locale)

    @property
    def has_files(self) -> bool:
        return any(field.kind == "file" for field in walk_fields(self.fields))

    def field_at(self, path: str | Sequence[str | int]) -> Field | None:
        """The field a path names (a row index is skipped over), or None."""
        parts = split_path(path) if isinstance(path, str) else list(path)
        fields, found = self.fields, None
        for part in parts:
            if isinstance(part, int):
                if found is None or found.kind != "group":
                    return None
                continue
            found = next((field for field in fields if field.name == part), None)
            if found is None:
                return None
            fields = found.fields
        return found


def walk_fields(fields: Sequence[Field]) -> list[Field]:
    """Every field, nested ones included, depth first."""
    return [each for field in fields for each in (field, *walk_fields(field.fields))]


def choice_token(value: Any) -> str:
    """How a choice travels in HTML: a string as itself, any other JSON value as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def join_path(parts: Sequence[str | int]) -> str:
    """``["items", 1, "qty"]`` → ``items[1].qty``."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def split_path(path: str) -> list[str | int]:
    """``items[1].qty`` → ``["items", 1, "qty"]``; the inverse of ``join_path``."""
    return [int(index) if index else name for index, name in _PATH_PART.findall(path)]


def pick_text(texts: object, locale: str) -> str | None:
    """A label in ``locale`` from a string or a ``{"ko": ..., "en": ...}`` object: else Korean, else any."""
    if isinstance(texts, str):
        return texts
    if not isinstance(texts, Mapping):
        return None
    strings = {key: value for key, value in texts.items() if isinstance(value, str)}
    return strings.get(locale) or strings.get(DEFAULT_LOCALE) or next(iter(strings.values()), None)


# -- reading a schema into fields ---------------------------------------------------------------

MAX_DEPTH = 8  # objects and groups nested deeper than this are a mistake (or a recursive schema)


@functools.lru_cache(maxsize=256)
def _read_document(text: str, locale: str) -> Form:
    document = json.loads(text)
    wrapped = "schema" in document
    schema, ui = (document["schema"], document.get("ui", {})) if wrapped else (document, {})
    if not isinstance(schema, Mapping):
        raise FormError("the form's schema must be a JSON object")
    if not isinstance(ui, Mapping):
        raise FormError("the form's ui hints must be a JSON object")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = join_path(list(exc.absolute_path)) or "the top"
        raise FormError(f"the form's schema is not a valid JSON Schema (at {where}): {exc.message}") from None
    return _build(schema, ui, locale)


def _build(schema: Mapping[str, Any], ui: Mapping[str, Any], locale: str) -> Form:
    reader = _Reader(schema, locale)
    for ref in _references(schema):
        reader.resolve({"$ref": ref}, "the form")  # so that validation never meets a reference it cannot follow
    root = reader.resolve(schema, "the form")
    if not (_type_of(root) == "object" or (_type_of(root) is None and "properties" in root)):
        raise FormError('the form\'s schema must describe an object: {"type": "object", "properties": {...}}')
    return Form(
        schema=schema,
        ui=ui,
        fields=reader.fields_of(root, ui, ""),
        title=_string(root.get("title")),
        description=_string(root.get("description")),
        locale=locale,
    )


class _Reader:
    """Turns the properties of an object schema into fields, resolving references inside the form."""

    def __init__(self, root: Mapping[str, Any], locale: str) -> None:
        self.root = root
        self.locale = locale

    def resolve(self, schema: Any, where: str) -> Mapping[str, Any]:
        for _ in range(MAX_DEPTH * 4):
            if schema is True:
                return {}
            if not isinstance(schema, Mapping):
                raise FormError(f"{where}: a schema must be an object")
            ref = schema.get("$ref")
            if not isinstance(ref, str):
                return schema
            if not ref.startswith("#"):
                raise FormError(f"{where}: only references inside the form ('#/...') are supported, not {ref!r}")
            target: Any = self.root
            for token in filter(None, ref[1:].split("/")):
                token = token.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, Mapping) or token not in target:
                    raise FormError(f"{where}: the reference {ref!r} points at nothing")
                target = target[token]
            siblings = {key: value for key, value in schema.items() if key != "$ref"}
            schema = {**target, **siblings} if siblings and isinstance(target, Mapping) else target
        raise FormError(f"{where}: references go round in a circle")

    def fields_of(self, schema: Mapping[str, Any], ui: Mapping[str, Any], path: str) -> tuple[Field, ...]:
        if path.count(".") + path.count("[") >= MAX_DEPTH:
            raise FormError(f"{path}: nested too deeply to be shown as a form (a recursive schema?)")
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        order = ui.get("order", [])
        if isinstance(order, Mapping) and "order" in properties:
            order = []  # the hints of a property called "order"
        if not isinstance(order, list) or not all(isinstance(name, str) for name in order):
            raise FormError(f"{path or 'ui'}: 'order' must be a list of property names")
        unknown = [name for name in order if name not in properties]
        if unknown:
            names = ", ".join(map(repr, unknown))
            raise FormError(f"{path or 'ui'}: 'order' names {names}, which the schema does not have")
        fields = []
        for name in dict.fromkeys([*order, *properties]):
            if properties[name] is not False:
                where = f"{path}.{name}" if path else name
                fields.append(self.field(name, properties[name], _hints(ui, name, where), name in required, where))
        return tuple(fields)

    def field(
        self, name: str, raw: Any, hints: Mapping[str, Any], required: bool, path: str, default_label: str | None = None
    ) -> Field:
        if not name or _BAD_NAME.search(name) or name.startswith("__") or (path == name and name in RESERVED_NAMES):
            raise FormError(
                f"{path}: {name!r} cannot name a form field "
                "(no spaces, '.', '[', ']' or '/', no leading '__', and not 'csrf_token' or 'action')"
            )
        schema = self.resolve(raw, path)
        widget = hints.get("widget")
        if widget is not None and widget not in WIDGETS:
            raise FormError(f"{path}: unknown widget {widget!r}; use one of {', '.join(sorted(WIDGETS))}")
        kind, options = self.widget_of(schema, hints, path)
        return Field(
            name=name,
            kind=kind,
            label=self.label(hints.get("label"), _string(schema.get("title")), default_label or name),
            schema=schema,
            description=pick_text(hints.get("help"), self.locale) or _string(schema.get("description")),
            required=required,
            placeholder=pick_text(hints.get("placeholder"), self.locale),
            **options,
        )

    def label(self, texts: object, title: str | None, fallback: str) -> str:
        """The hint's label in this locale, else the schema's title, else the hint in another language."""
        if isinstance(texts, str):
            return texts
        if isinstance(texts, Mapping) and isinstance(texts.get(self.locale), str) and texts[self.locale]:
            return str(texts[self.locale])
        return title or pick_text(texts, self.locale) or fallback

    def widget_of(
        self, schema: Mapping[str, Any], hints: Mapping[str, Any], path: str
    ) -> tuple[WidgetKind, dict[str, Any]]:
        widget = hints.get("widget")
        kind = _type_of(schema)
        if widget in ORGANISATION_WIDGETS:
            return self.organisation_widget(str(widget), schema, path)
        if kind == "array":
            items = self.resolve(schema.get("items", {}), f"{path}[]")
            if widget in ("file", "photo") or _is_file(items):
                return "file", {**_file_options(items, widget), "multiple": True}
            if _has_choices(items):
                return "multiselect", {"choices": self.choices(items, hints, path)}
            if _type_of(items) == "object" or (_type_of(items) is None and "properties" in items):
                return "group", {"fields": self.fields_of(items, _sub_ui(hints, path), f"{path}[0]")}
            raise FormError(f"{path}: a list must hold choices (enum) or objects (the rows of a group)")
        if widget in ("file", "photo") or _is_file(schema):
            return "file", _file_options(schema, widget)
        if widget == "location" or (kind in ("object", None) and _is_location(schema)):
            if kind not in ("object", None):
                raise FormError(f"{path}: a location must be an object with lat and lon")
            return "location", {"fields": self.location_parts(schema, _sub_ui(hints, path), path)}
        if kind == "object" or (kind is None and "properties" in schema):
            return "object", {"fields": self.fields_of(schema, _sub_ui(hints, path), path)}
        if _has_choices(schema):
            return "select", {"choices": self.choices(schema, hints, path), "radios": widget == "radio"}
        if kind == "boolean":
            return "checkbox", {"radios": widget == "radio"}
        if kind in ("number", "integer"):
            return ("integer" if kind == "integer" else "number"), {}
        if kind not in ("string", None):
            raise FormError(f"{path}: a field of type {kind!r} cannot be shown in a form")
        if schema.get("format") == "date":
            return "date", {}
        if schema.get("format") == "date-time":
            return "datetime", {}
        max_length = schema.get("maxLength")
        if widget == "textarea" or (isinstance(max_length, int) and max_length > TEXTAREA_OVER):
            return "textarea", {}
        input_type = {"email": "email", "uri": "url"}.get(str(schema.get("format")), "text")
        return "text", {"input_type": input_type}

    def organisation_widget(
        self, widget: str, schema: Mapping[str, Any], path: str
    ) -> tuple[WidgetKind, dict[str, Any]]:
        """A person or a department, or (an array) several: chosen from the organisation, not typed."""
        multiple = _type_of(schema) == "array"
        value = self.resolve(schema.get("items", {}), f"{path}[]") if multiple else schema
        if widget == "person" and _type_of(value) not in ("object", None):
            raise FormError(f'{path}: a person field holds {{"user": ...}} objects (or a list of them)')
        if widget == "department" and _type_of(value) not in ("string", None):
            raise FormError(f"{path}: a department field holds a department's name (or a list of names)")
        return ("person" if widget == "person" else "department"), {"multiple": multiple}

    def location_parts(self, schema: Mapping[str, Any], ui: Mapping[str, Any], path: str) -> tuple[Field, ...]:
        """Latitude and longitude, and the address when the schema has one (or says nothing of its properties)."""
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        names = ["lat", "lon", *(["address"] if "address" in properties or not properties else [])]
        return tuple(
            self.field(
                name,
                properties.get(name, {"type": "string" if name == "address" else "number"}),
                _hints(ui, name, f"{path}.{name}"),
                name in required,
                f"{path}.{name}",
                _LOCATION_LABELS[name].get(self.locale, _LOCATION_LABELS[name][DEFAULT_LOCALE]),
            )
            for name in names
        )

    def choices(self, schema: Mapping[str, Any], hints: Mapping[str, Any], path: str) -> tuple[Choice, ...]:
        labels = hints.get("labels", {})
        if not isinstance(labels, Mapping):
            raise FormError(f"{path}: 'labels' must map each choice to its label")
        found: list[tuple[Any, str | None]]
        if isinstance(schema.get("enum"), list):
            found = [(value, None) for value in schema["enum"]]
        else:
            options = schema.get("oneOf") or schema["anyOf"]
            found = [(option["const"], _string(option.get("title"))) for option in options]
        return tuple(
            Choice(value, self.label(labels.get(choice_token(value)), title, choice_token(value)))
            for value, title in found
        )


_LOCATION_LABELS: dict[str, dict[str, str]] = {
    "lat": {"ko": "위도", "en": "Latitude"},
    "lon": {"ko": "경도", "en": "Longitude"},
    "address": {"ko": "주소", "en": "Address"},
}


def _references(schema: object) -> list[str]:
    """Every ``$ref`` anywhere in a schema."""
    if isinstance(schema, Mapping):
        own = [schema["$ref"]] if isinstance(schema.get("$ref"), str) else []
        return own + [ref for value in schema.values() for ref in _references(value)]
    if isinstance(schema, list):
        return [ref for value in schema for ref in _references(value)]
    return []


def _string(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _type_of(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((each for each in kind if each != "null"), None)
    return kind if isinstance(kind, str) else None


def _hints(ui: Mapping[str, Any], name: str, path: str) -> Mapping[str, Any]:
    hints = ui.get(name, {})
    if name == "order" and isinstance(hints, list):
        return {}
    if not isinstance(hints, Mapping):
        raise FormError(f"{path}: the ui hints of a field must be an object")
    return hints


def _sub_ui(hints: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    sub = hints.get("fields", {})
    if not isinstance(sub, Mapping):
        raise FormError(f"{path}: 'fields' must hold the hints of the nested properties")
    return sub


def _has_choices(schema: Mapping[str, Any]) -> bool:
    if isinstance(schema.get("enum"), list):
        return True
    options = schema.get("oneOf") or schema.get("anyOf")
    return isinstance(options, list) and bool(options) and all(isinstance(o, Mapping) and "const" in o for o in options)


def _is_location(schema: Mapping[str, Any]) -> bool:
    properties = schema.get("properties", {})
    return all(
        isinstance(properties.get(name), Mapping) and _type_of(properties[name]) == "number" for name in ("lat", "lon")
    )


def _is_file(schema: Mapping[str, Any]) -> bool:
    return _type_of(schema) in ("string", None) and isinstance(schema.get("contentMediaType"), str)


def _file_options(schema: Mapping[str, Any], widget: object) -> dict[str, Any]:
    media_type = schema.get("contentMediaType")
    if widget == "photo":
        return {"accept": "image/*", "capture": True}
    if isinstance(media_type, str) and media_type.startswith("image/"):
        return {"accept": "image/*"}
    return {"accept": media_type if isinstance(media_type, str) else None}
