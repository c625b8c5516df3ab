"""From what a browser posts to the JSON data of a form.

A browser posts every value as text, under the names ``render_form`` gave the inputs
(``items[0].qty``, ``site.lat``). ``parse_submission`` types them per the schema and
never raises: text that is no number stays text, so that ``validate`` reports it at
its field. Uploaded files are not stored here; they come back in ``Submission.files``
under the path of their field, for the caller to store and then ``attach`` as
references (``"sha256:<hex>"``) before validating.

Names the rendered form posts besides the fields: ``<group>[i].__row__`` (one per row,
so that a row with nothing in it still counts), ``<group>[i].__remove__`` (the row is
deleted), ``__add__=<group path>`` (add a row and show the form again) and
``action`` (``submit``, ``draft`` or another button's value). A person field posts usernames
and becomes ``{"user": ...}`` (a list of them when it holds several), a department field posts
names: the organisation fills in and checks them (``forms.organisation``).
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from forms.datetimes import to_rfc3339
from forms.definition import Field, Form, split_path

ADD_ROW = "__add__"
ROW_MARK = "__row__"
REMOVE_ROW = "__remove__"
CHECKED = frozenset({"true", "on", "1", "yes"})

_MISSING: Any = object()
_INDEX = re.compile(r"\[([0-9]{1,9})\]", re.ASCII)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?", re.ASCII)
_INTEGER = re.compile(r"[+-]?[0-9]+(?:\.0*)?", re.ASCII)


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file as posted, independent of any web framework."""

    filename: str
    content_type: str
    data: bytes


@dataclass(slots=True)
class Submission:
    """The typed data of a posted form, the files uploaded with it, and what the user asked for.

    ``add_row`` means a group's "add row" button was pressed without script: show the
    form again with ``data`` rather than completing the task.
    """

    data: dict[str, Any]
    files: dict[str, list[UploadedFile]] = field(default_factory=dict)
    add_row: bool = False
    action: str | None = None

    @property
    def is_draft(self) -> bool:
        return self.action == "draft"

    def attach(self, path: str, references: Sequence[str], *, as_list: bool = False) -> None:
        """Put the references of stored uploads at ``path``: replacing a single file, adding to a list
        (``as_list``: the field holds several files, so even one upload is a list)."""
        parts = split_path(path)
        holder = _parent_of(self.data, parts)
        last = parts[-1] if parts else None
        if holder is None or not isinstance(last, str) or not references:
            return
        if as_list or isinstance(holder.get(last), list):
            holder[last] = [*(holder.get(last) or []), *references]
        else:
            holder[last] = references[0] if len(references) == 1 else list(references)


def parse_submission(
    form: Form,
    fields: Mapping[str, Sequence[str]],
    files: Mapping[str, Sequence[UploadedFile]] | None = None,
    *,
    zone: tzinfo,
) -> Submission:
    """Posted names and values (a multi-dict, as from a browser) as the data of ``form``; a date and
    time posted without a zone is wall-clock time in ``zone`` (the city's)."""
    posted = _Posted(fields, files or {}, zone)
    adding = [value for value in posted.values(ADD_ROW) if value]
    submission = Submission(data={}, add_row=bool(adding), action=next(iter(posted.values("action")), None))
    posted.keep_blank_rows = bool(adding)
    _read_fields(form.fields, "", "", posted, submission.data, submission.files)
    for path in adding[:1]:
        _add_row(form, submission.data, path)
    return submission


class _Posted:
    """The posted values, cleaned of anything that is not text, with the row indexes of every group."""

    def __init__(
        self, fields: Mapping[str, Sequence[str]], files: Mapping[str, Sequence[UploadedFile]], zone: tzinfo
    ) -> None:
        self.zone = zone
        self.fields: dict[str, list[str]] = {}
        self.files: dict[str, list[UploadedFile]] = {}
        self.keep_blank_rows = False
        self.rows: dict[str, set[str]] = defaultdict(set)
        for name, values in _items(fields):
            texts = [values] if isinstance(values, str) else _iterate(values)
            self.fields[name] = [value for value in texts if isinstance(value, str)]
        for name, uploads in _items(files):
            chosen = [u for u in _iterate(uploads) if isinstance(u, UploadedFile) and (u.filename or u.data)]
            if chosen:
                self.files[name] = chosen
        self.filled: set[str] = set()  # the rows (``items[0]``) something was entered in
        for name in [*self.fields, *self.files]:
            entered = name in self.files or any(value.strip() for value in self.fields.get(name, []))
            for index in _INDEX.finditer(name):
                self.rows[name[: index.start()]].add(index.group(1))
                if entered and name[index.end() :].startswith("."):
                    self.filled.add(name[: index.end()])

    def values(self, name: str) -> list[str]:
        return self.fields.get(name, [])

    def text(self, name: str) -> str:
        """The first non-blank value posted under ``name``, or ``""``."""
        return next((value for value in self.values(name) if value.strip()), "")

    def is_blank(self, row: str) -> bool:
        """Nothing entered in a row (``items[0]``): every value blank, no file."""
        return row not in self.filled


def _read_fields(
    fields: Sequence[Field],
    source: str,
    target: str,
    posted: _Posted,
    out: dict[str, Any],
    files: dict[str, list[UploadedFile]],
) -> None:
    """Read ``fields`` from the names under ``source`` into ``out``; rows removed before ``target``
    shift the indexes, so the data's path (and a file's) can differ from the posted name."""
    for each in fields:
        name = f"{source}.{each.name}" if source else each.name
        path = f"{target}.{each.name}" if target else each.name
        value = _read_field(each, name, path, posted, files)
        if value is not _MISSING:
            out[each.name] = value


def _read_field(each: Field, name: str, path: str, posted: _Posted, files: dict[str, list[UploadedFile]]) -> Any:
    if each.kind in ("object", "location"):
        inner: dict[str, Any] = {}
        _read_fields(each.fields, name, path, posted, inner, files)
        return inner if inner or each.required else _MISSING
    if each.kind == "group":
        return _read_rows(each, name, path, posted, files)
    if each.kind == "file":
        uploads = posted.files.get(name, [])
        if uploads:
            files[path] = uploads if each.multiple else uploads[:1]
        kept = [value.strip() for value in posted.values(name) if value.strip()]
        if each.multiple:
            return kept or _MISSING
        return kept[0] if kept else _MISSING
    if each.kind in ("person", "department"):
        # the browser names someone by username, a department by name; the organisation fills in the rest
        chosen = list(dict.fromkeys(value.strip() for value in posted.values(name) if value.strip()))
        values: list[Any] = [{"user": v} for v in chosen] if each.kind == "person" else chosen
        if each.multiple:
            return values or _MISSING
        return values[0] if values else _MISSING
    if each.kind == "multiselect":
        chosen = [_choice(each, value) for value in posted.values(name) if value != ""]
        unique = list({repr(value): value for value in chosen}.values())
        return unique or _MISSING
    if each.kind == "checkbox" and not each.radios:
        return any(value.strip().lower() in CHECKED for value in posted.values(name))
    text = posted.text(name)
    if not text:
        return _MISSING
    if each.kind == "checkbox":
        return {"true": True, "false": False}.get(text.strip().lower(), text)
    if each.kind == "select":
        return _choice(each, text)
    if each.kind == "number":
        return _number(text)
    if each.kind == "integer":
        return _integer(text)
    if each.kind == "datetime":
        return to_rfc3339(text, posted.zone) or text
    if each.kind == "date":
        return text.strip()
    return text.replace("\r\n", "\n")


def _read_rows(group: Field, name: str, path: str, posted: _Posted, files: dict[str, list[UploadedFile]]) -> Any:
    rows: list[dict[str, Any]] = []
    for index in sorted(posted.rows.get(name, ()), key=lambda token: (int(token), token)):
        source = f"{name}[{index}]"
        if any(value.strip() for value in posted.values(f"{source}.{REMOVE_ROW}")):
            continue
        if posted.is_blank(source) and not posted.keep_blank_rows:
            continue  # a row offered but left empty
        row: dict[str, Any] = {}
        _read_fields(group.fields, source, f"{path}[{len(rows)}]", posted, row, files)
        rows.append(row)
    return rows or _MISSING


def _add_row(form: Form, data: dict[str, Any], path: str) -> None:
    """Append an empty row to the group at ``path`` (``items`` or ``items[0].parts``) if there is one."""
    parts = split_path(path)
    group = form.field_at(parts)
    if group is None or group.kind != "group" or not isinstance(parts[-1], str):
        return
    holder = _parent_of(data, parts)
    rows = holder.setdefault(parts[-1], []) if holder is not None else None
    if isinstance(rows, list):
        rows.append({})


def _parent_of(data: dict[str, Any], parts: list[str | int]) -> dict[str, Any] | None:
    """The object that holds the last part of a path: objects on the way are created, rows must exist."""
    holder: Any = data
    for part, following in itertools.pairwise(parts):
        if isinstance(holder, dict) and isinstance(part, str):
            holder = holder.setdefault(part, [] if isinstance(following, int) else {})
        elif isinstance(holder, list) and isinstance(part, int) and part < len(holder):
            holder = holder[part]
        else:
            return None
    return holder if isinstance(holder, dict) else None


def _choice(each: Field, token: str) -> Any:
    """The JSON value of the choice posted as ``token``; unknown text stays text for validation to report."""
    return next((choice.value for choice in each.choices if choice.token == token), token)


def _number(text: str) -> Any:
    """``"1,234.5"`` → 1234.5 and ``"12"`` → 12; text that is no finite number is returned as it is."""
    cleaned = unicodedata.normalize("NFKC", text).replace(",", "").replace(" ", "").strip()
    if not _NUMBER.fullmatch(cleaned) or len(cleaned) > 4000:
        return text
    if "." not in cleaned and "e" not in cleaned.lower():
        return int(cleaned)
    number = float(cleaned)
    return number if math.isfinite(number) else text


def _integer(text: str) -> Any:
    cleaned = unicodedata.normalize("NFKC", text).replace(",", "").replace(" ", "").strip()
    if not _INTEGER.fullmatch(cleaned) or len(cleaned) > 4000:
        return text
    return int(cleaned.split(".")[0])


def _items(mapping: object) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in mapping.items() if isinstance(k, str)] if isinstance(mapping, Mapping) else []


def _iterate(values: object) -> list[object]:
    return list(values) if isinstance(values, Iterable) and not isinstance(values, str | bytes | Mapping) else []
