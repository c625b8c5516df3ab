"""A form as HTML for a phone: labelled inputs, errors next to their fields, values kept.

``render_form`` prepares one view per field (its path, the text its input shows,
its errors) and hands them to the templates in ``forms/templates``; everything a
user or a designer wrote reaches the page through Jinja2's autoescaping. Inputs
are named by the data path (``items[0].qty``) and have the id ``f-<path>``, which
the error summary links to. The page works without script; a small script adds
rows in place and fills a location from the phone's position.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from forms.datetimes import to_local_input
from forms.definition import DEFAULT_LOCALE, Field, Form, choice_token, walk_fields
from forms.organisation import Organisation, username_of
from forms.submission import ADD_ROW, REMOVE_ROW, ROW_MARK
from forms.validation import FieldError

TEXTS: dict[str, dict[str, str]] = {
    "ko": {
        "submit": "제출",
        "draft": "임시 저장",
        "required": "필수",
        "required_note": "표시는 필수 항목입니다.",
        "errors_title": "입력 내용을 확인해 주세요. 오류 {count}건",
        "yes": "예",
        "no": "아니오",
        "choose": "선택하세요",
        "add_row": "{label} 행 추가",
        "remove_row": "{row} 삭제",
        "kept_file": "첨부된 파일 유지: {name}",
        "file_n": "파일 {n}",
        "photo_n": "사진 {n}",
        "another_photo": "사진 더 찍기",
        "taken_photo": "찍은 사진: {name}",
        "remove_photo": "빼기",
        "locate": "현재 위치 입력",
        "locating": "위치를 찾는 중…",
        "located": "현재 위치를 입력했습니다.",
        "locate_failed": "위치를 찾지 못했습니다. 직접 입력해 주세요.",
        "chosen": "선택한 항목",
        "no_department": "소속 없음",
        "find_person": "이름, 부서, 직위로 찾기",
        "find_department": "부서 이름으로 찾기",
        "no_match": "찾는 결과가 없습니다.",
        "remove_chosen": "빼기: {name}",
        "searching": "찾는 중…",
    },
    "en": {
        "submit": "Submit",
        "draft": "Save draft",
        "required": "required",
        "required_note": "marks a required field.",
        "errors_title": "Please correct {count} problem(s)",
        "yes": "Yes",
        "no": "No",
        "choose": "Choose…",
        "add_row": "Add a row to {label}",
        "remove_row": "Remove {row}",
        "kept_file": "Keep attached file: {name}",
        "file_n": "file {n}",
        "photo_n": "photo {n}",
        "another_photo": "Take another photo",
        "taken_photo": "Photo taken: {name}",
        "remove_photo": "Remove",
        "locate": "Use my location",
        "locating": "Finding your location…",
        "located": "Your location was filled in.",
        "locate_failed": "Your location could not be found. Please enter it.",
        "chosen": "Chosen",
        "no_department": "No department",
        "find_person": "Find by name, department or position",
        "find_department": "Find a department by name",
        "no_match": "Nothing matches.",
        "remove_chosen": "Remove {name}",
        "searching": "Searching…",
    },
}

# The forms' script, for an app that serves it as a file (``render_form(script_src=...)``).
SCRIPT = Path(__file__).with_name("templates") / "form.js"


@dataclass(frozen=True, slots=True)
class Option:
    """One person or department a picker offers: the value posted, the label shown, a note beside it."""

    value: str
    label: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class OptionGroup:
    """Options under one heading (a department's people, a bureau's departments); no label: at the top."""

    label: str | None
    options: tuple[Option, ...]


@dataclass(frozen=True, slots=True)
class AttachedFile:
    """A file already attached to the case, as a form names it: its file name, and the address of its
    thumbnail when it is a photo (the form itself knows no addresses)."""

    name: str
    thumbnail: str | None = None


@dataclass(slots=True)
class FieldView:
    """One field as the template shows it, at one place in the data."""

    field: Field
    path: str
    text: str = ""  # what a text-like input shows
    selected: frozenset[str] = frozenset()  # tokens of the chosen answers (select, yes/no, multiselect)
    checked: bool = False
    files: list[str] = dataclasses.field(default_factory=list)  # references of files already attached
    errors: list[str] = dataclasses.field(default_factory=list)
    required: bool = False  # put the HTML ``required`` attribute on the input
    children: list[FieldView] = dataclasses.field(default_factory=list)
    rows: list[RowView] = dataclasses.field(default_factory=list)
    new_row: RowView | None = None  # the blank row the script copies
    next_index: int = 0
    index_mark: str = ""  # what the script replaces with the new row's index, and its number
    number_mark: str = ""
    options: list[OptionGroup] = dataclasses.field(default_factory=list)  # what a person or department picker offers

    @property
    def id(self) -> str:
        return f"f-{self.path}"

    @property
    def label(self) -> str:
        return self.field.label

    @property
    def describedby(self) -> str:
        ids = ([f"{self.id}/help"] if self.field.description else []) + ([f"{self.id}/error"] if self.errors else [])
        return " ".join(ids)


@dataclass(slots=True)
class RowView:
    """One row of a group."""

    path: str
    legend: str
    children: list[FieldView]
    errors: list[str] = dataclasses.field(default_factory=list)

    @property
    def id(self) -> str:
        return f"f-{self.path}"


def render_form(
    form: Form,
    data: Mapping[str, Any] | None = None,
    errors: Sequence[FieldError] | None = None,
    *,
    action: str,
    csrf_token: str,
    locale: str = DEFAULT_LOCALE,
    submit_label: str | None = None,
    extra_buttons: Sequence[str | tuple[str, str]] = (),
    script_nonce: str | None = None,
    script_src: str | None = None,
    zone: tzinfo,
    organisation: Organisation | None = None,
    attached: Mapping[str, AttachedFile] | None = None,
) -> Markup:
    """The HTML of ``form`` filled with ``data`` and showing ``errors``.

    ``extra_buttons`` adds secondary submit buttons named ``action``: ``"draft"`` is
    the "save draft" button; a ``(value, label)`` pair is any other. They skip the
    browser's own checks, as the "add row" buttons do. The form's script is inline, with
    ``script_nonce`` for a Content-Security-Policy that allows inline scripts by nonce, or loaded from
    ``script_src`` (where the app serves :data:`SCRIPT`) for one that allows none. Dates and times show in ``zone``
    (the city's). Person and department fields offer the people and departments of ``organisation``
    (without one, only those chosen already; a script searches the rest). ``attached`` names the files
    a file field keeps, by reference (``attachment:12``); without it they are "photo 1", "file 2".
    """
    form = form.localized(locale)
    texts = TEXTS.get(locale, TEXTS[DEFAULT_LOCALE])
    builder = _Builder(_errors_by_path(errors or ()), fresh=data is None, zone=zone,
                       pickers=_Pickers(organisation, texts))
    views = builder.fields(form.fields, "", data if isinstance(data, Mapping) else {}, inherited=True, depth=0)
    summary = [
        {
            "href": f"#f-{error.field}" if error.field in builder.labels else None,
            "label": builder.labels.get(error.field, form.title or ""),
            "message": error.message,
        }
        for error in errors or ()
    ]
    buttons = [
        (button, texts["draft"]) if button == "draft" else (button[0], button[1])
        for button in extra_buttons
        if button == "draft" or isinstance(button, tuple)
    ]
    kinds = {each.kind for each in walk_fields(form.fields)}
    return Markup(  # noqa: S704 - the template autoescapes everything it prints
        _environment()
        .get_template("form.html")
        .render(
            form=form,
            fields=views,
            summary=summary,
            t=texts,
            action=action,
            csrf_token=csrf_token,
            submit_label=submit_label or texts["submit"],
            buttons=buttons,
            multipart=form.has_files,
            needs_script=bool(kinds & {"group", "location"}) or any(
                each.capture and each.multiple for each in walk_fields(form.fields)  # more than one shot
            ),
            attached=attached or {},
            script_nonce=script_nonce,
            script_src=script_src,
            any_required=any(each.required for each in walk_fields(form.fields)),
            names={"add": ADD_ROW, "remove": REMOVE_ROW, "row": ROW_MARK},
        )
    )


@functools.cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("forms", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class _Builder:
    """Builds the views of a form's fields from its data; remembers each path's label for the summary."""

    def __init__(self, errors: Mapping[str, list[str]], *, fresh: bool, zone: tzinfo, pickers: _Pickers) -> None:
        self.errors = errors
        self.zone = zone
        self.pickers = pickers
        self.fresh = fresh  # a new form: show the schema's defaults
        self.labels: dict[str, str] = {}

    def fields(
        self,
        fields: Sequence[Field],
        prefix: str,
        data: Mapping[str, Any],
        *,
        inherited: bool,
        depth: int,
        trail: str = "",
    ) -> list[FieldView]:
        views = []
        for each in fields:
            path = f"{prefix}.{each.name}" if prefix else each.name
            value = data.get(each.name, each.schema.get("default") if self.fresh else None)
            views.append(self.field(each, path, value, inherited=inherited, depth=depth, trail=trail))
        return views

    def field(self, each: Field, path: str, value: Any, *, inherited: bool, depth: int, trail: str) -> FieldView:
        label = f"{trail} › {each.label}" if trail else each.label
        self.labels[path] = label
        view = FieldView(each, path, errors=self.errors.get(path, []))
        # the browser may insist only where the server would: not inside an optional object or a group's row
        view.required = inherited and each.required
        if each.kind in ("object", "location"):
            inner = value if isinstance(value, Mapping) else {}
            view.children = self.fields(each.fields, path, inner, inherited=view.required, depth=depth, trail=label)
        elif each.kind == "group":
            self.group(view, value, depth, label)
        elif each.kind == "file":
            attached = value if isinstance(value, list) else [value]
            view.files = [ref for ref in attached if isinstance(ref, str) and ref]
            view.required = view.required and not view.files
        elif each.kind == "select":
            view.selected = frozenset() if value is None else frozenset({choice_token(value)})
        elif each.kind == "multiselect":
            view.selected = frozenset(choice_token(v) for v in value) if isinstance(value, list) else frozenset()
        elif each.kind in ("person", "department"):
            chosen = value if isinstance(value, list) else [] if value is None else [value]
            view.options = self.pickers.options(each.kind, chosen)
            view.selected = frozenset(option.value for option in view.options[0].options) if chosen else frozenset()
        elif each.kind == "checkbox":
            view.checked = value is True
            view.selected = frozenset({"true"} if value is True else {"false"} if value is False else ())
            view.required = view.required and each.radios
        elif each.kind == "datetime":
            view.text = to_local_input(value, self.zone) or (value if isinstance(value, str) else "")
        else:
            view.text = _as_text(value)
        return view

    def group(self, view: FieldView, value: Any, depth: int, label: str) -> None:
        rows = [row if isinstance(row, Mapping) else {} for row in value] if isinstance(value, list) else []
        if not rows:
            minimum = view.field.schema.get("minItems")
            # a new group offers blank rows (dropped if left blank); a silly minItems does not make a silly page
            rows = [{}] * max(minimum if isinstance(minimum, int) and minimum <= 20 else 0, 1)
        view.rows = [
            self.row(view.field, f"{view.path}[{i}]", str(i + 1), row, depth, label) for i, row in enumerate(rows)
        ]
        view.next_index = len(rows)
        view.index_mark, view.number_mark = f"__i{depth}__", f"__n{depth}__"
        saved = self.labels
        self.labels = {}  # the blank row's paths are not on the page until the script copies it
        view.new_row = self.row(view.field, f"{view.path}[{view.index_mark}]", view.number_mark, {}, depth, label)
        self.labels = saved

    def row(self, group: Field, path: str, number: str, data: Mapping[str, Any], depth: int, label: str) -> RowView:
        self.labels[path] = f"{label} {number}"
        saved, self.fresh = self.fresh, False
        children = self.fields(group.fields, path, data, inherited=False, depth=depth + 1, trail=f"{label} {number}")
        self.fresh = saved
        return RowView(path, f"{group.label} {number}", children, self.errors.get(path, []))


class _Pickers:
    """What person and department fields offer: first the chosen ones, in their order, then the rest of
    the organisation under their departments (people) or bureaus (departments)."""

    def __init__(self, organisation: Organisation | None, texts: Mapping[str, str]) -> None:
        self.organisation = organisation
        self.texts = texts
        self._people: list[Mapping[str, Any]] | None = None
        self._departments: list[Mapping[str, Any]] | None = None

    def options(self, kind: str, chosen: Sequence[Any]) -> list[OptionGroup]:
        if kind == "person":
            if self._people is None:
                self._people = list(self.organisation.people()) if self.organisation is not None else []
            everyone = [(str(p.get("user")), p) for p in self._people if p.get("user")]
            picked = [username for each in chosen if (username := username_of(each))]
            known = dict(everyone)
            # someone chosen earlier keeps the name the case holds, even if they are gone from the organisation
            first = [self._person(known.get(u) or next((c for c in chosen if username_of(c) == u), {}), u)
                     for u in dict.fromkeys(picked)]
            rest = [(str(p.get("department") or self.texts["no_department"]), self._person(p, u))
                    for u, p in everyone if u not in picked]
        else:
            if self._departments is None:
                self._departments = list(self.organisation.departments()) if self.organisation is not None else []
            units = {str(d.get("name")): d for d in self._departments if d.get("name")}
            named = list(dict.fromkeys(c for c in chosen if isinstance(c, str) and c))
            first = [self._unit(units.get(name, {}), name) for name in named]
            rest = [(str(d.get("parent") or ""), self._unit(d, name)) for name, d in units.items() if name not in named]
        groups = [OptionGroup(self.texts["chosen"], tuple(first))] if first else []
        for label, options in _grouped(rest):
            groups.append(OptionGroup(label or None, tuple(options)))
        return groups or [OptionGroup(None, ())]

    @staticmethod
    def _person(person: Mapping[str, Any], username: str) -> Option:
        name, position = str(person.get("name") or username), person.get("position")
        shown = f"{name} · {position}" if position and not name.endswith(str(position)) else name
        return Option(username, shown, str(person.get("department") or ""))

    @staticmethod
    def _unit(unit: Mapping[str, Any], name: str) -> Option:
        return Option(name, name, str(unit.get("parent") or ""))


def _grouped(items: Sequence[tuple[str, Option]]) -> list[tuple[str, list[Option]]]:
    """Options under their headings, in the order the headings first come (no heading first)."""
    groups: dict[str, list[Option]] = {}
    for label, option in sorted(items, key=lambda item: item[0] != ""):
        groups.setdefault(label, []).append(option)
    return list(groups.items())


def _errors_by_path(errors: Sequence[FieldError]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for error in errors:
        found.setdefault(error.field, []).append(error.message)
    return found


def _as_text(value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, Mapping | list):
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)

