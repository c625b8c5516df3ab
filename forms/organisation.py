"""People and departments chosen on a form, as the organisation knows them.

A browser sends only a person's username (or a department's name); what a form keeps is decided
by the organisation: ``normalize`` replaces each chosen person with the organisation's record of
them — ``{"user", "name", "position", "rank", "department"}``, so a rank or a name cannot be
forged — and refuses anyone it does not know (or who no longer works there) and any department
it does not have. The organisation comes from the caller (anything with the methods of
``Organisation``); this package reads no database.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any, Protocol

from forms.definition import DEFAULT_LOCALE, Field, Form
from forms.validation import FieldError

MESSAGES: dict[str, dict[str, str]] = {
    "person": {"ko": "조직도에 없는 사람입니다.", "en": "This person is not in the organisation."},
    "department": {"ko": "조직도에 없는 부서입니다.", "en": "This department is not in the organisation."},
    "twice": {"ko": "같은 사람을 두 번 고를 수 없습니다.", "en": "The same person is chosen twice."},
}


class Organisation(Protocol):
    """What a form asks of the organisation."""

    def persons(self, usernames: Collection[str]) -> Mapping[str, Mapping[str, Any]]:
        """The active people among ``usernames``, by username, as a form keeps them (``user``, ``name``,
        ``position``, ``rank``, ``department``); anyone else is left out. Asked once per form."""

    def has_department(self, name: str) -> bool: ...

    def people(self) -> Sequence[Mapping[str, Any]]:
        """Every active person, department by department, as ``person`` gives them."""

    def departments(self) -> Sequence[Mapping[str, Any]]:
        """Every department: ``name``, ``kind`` and ``parent`` (the bureau's name or None)."""


def username_of(value: object) -> str | None:
    """The username a person value names: ``{"user": "kim"}`` or plainly ``"kim"``."""
    if isinstance(value, Mapping):
        value = value.get("user")
    return value.strip() if isinstance(value, str) and value.strip() else None


def normalize(
    form: Form, data: Mapping[str, Any], organisation: Organisation, *, locale: str = DEFAULT_LOCALE
) -> tuple[dict[str, Any], list[FieldError]]:
    """``data`` with every person filled in from the organisation, and the fields naming someone
    or a department the organisation does not have. Values of any other shape are left for
    validation to report."""
    found: list[FieldError] = []
    named = set(_usernames(form.fields, data))
    known = organisation.persons(named) if named else {}
    kept = _walk(form.fields, dict(data), "", _Known(known, organisation), locale, found)
    return kept, list(dict.fromkeys(found))


class _Known:
    """The organisation as one form's check sees it: the people it names, read at once."""

    def __init__(self, people: Mapping[str, Mapping[str, Any]], organisation: Organisation) -> None:
        self.people, self.organisation = people, organisation

    def person(self, username: str) -> Mapping[str, Any] | None:
        return self.people.get(username)

    def has_department(self, name: str) -> bool:
        return self.organisation.has_department(name)


def _usernames(fields: Sequence[Field], data: Mapping[str, Any]) -> Iterator[str]:
    """Everyone the data names in the form's person fields, wherever they are (``_walk``'s way through it)."""
    for each in fields:
        value = data.get(each.name)
        if each.kind in ("object", "location") and isinstance(value, Mapping):
            yield from _usernames(each.fields, value)
        elif each.kind == "group" and isinstance(value, list):
            for row in value:
                if isinstance(row, Mapping):
                    yield from _usernames(each.fields, row)
        elif each.kind == "person":
            for chosen in value if each.multiple and isinstance(value, list) else [value]:
                if (username := username_of(chosen)) is not None:
                    yield username


def _message(kind: str, locale: str) -> str:
    texts = MESSAGES[kind]
    return texts.get(locale, texts[DEFAULT_LOCALE])


def _walk(
    fields: Sequence[Field], data: dict[str, Any], prefix: str, organisation: _Known, locale: str,
    found: list[FieldError],
) -> dict[str, Any]:
    for each in fields:
        if each.name not in data:
            continue
        path = f"{prefix}.{each.name}" if prefix else each.name
        value = data[each.name]
        if each.kind in ("object", "location") and isinstance(value, Mapping):
            data[each.name] = _walk(each.fields, dict(value), path, organisation, locale, found)
        elif each.kind == "group" and isinstance(value, list):
            data[each.name] = [
                _walk(each.fields, dict(row), f"{path}[{i}]", organisation, locale, found)
                if isinstance(row, Mapping) else row
                for i, row in enumerate(value)
            ]
        elif each.kind == "person":
            data[each.name] = _people(each, value, path, organisation, locale, found)
        elif each.kind == "department":
            names = value if each.multiple and isinstance(value, list) else [value]
            if any(isinstance(name, str) and not organisation.has_department(name) for name in names):
                found.append(FieldError(path, _message("department", locale)))
    return data


def _people(
    field: Field, value: Any, path: str, organisation: _Known, locale: str, found: list[FieldError]
) -> Any:
    chosen = value if field.multiple and isinstance(value, list) else [value]
    kept: list[Any] = []
    for each in chosen:
        username = username_of(each)
        if username is None:
            kept.append(each)  # not a person at all: validation names it
            continue
        person = organisation.person(username)
        if person is None:
            found.append(FieldError(path, _message("person", locale)))
            kept.append(each)
        else:
            kept.append(dict(person))
    if field.multiple and isinstance(value, list):
        users = [username_of(each) for each in kept if username_of(each)]
        if len(users) != len(set(users)):
            found.append(FieldError(path, _message("twice", locale)))
        return kept
    return kept[0]
