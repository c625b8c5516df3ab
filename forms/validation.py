"""Checking a submission against its form, with messages a member of staff can act on.

``validate`` runs the form's JSON Schema (draft 2020-12, with the ``date`` and
``date-time`` formats checked) and names each problem by the path of the field
to correct: ``items[1].qty``, or ``""`` for the form as a whole. A missing
required value is reported at the missing field, not at the object holding it.
Messages are Korean unless ``locale="en"``; a kind of problem without a message
of its own keeps the validator's English text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from jsonschema import Draft202012Validator, FormatChecker, ValidationError

from forms.datetimes import is_date, is_datetime
from forms.definition import DEFAULT_LOCALE, Form, join_path, split_path

MESSAGES: dict[str, dict[str, str]] = {
    "required": {"ko": "필수 항목입니다.", "en": "This field is required."},
    "type:integer": {"ko": "정수를 입력하세요.", "en": "Enter a whole number."},
    "type:number": {"ko": "숫자를 입력하세요.", "en": "Enter a number."},
    "type:boolean": {"ko": "예 또는 아니오를 선택하세요.", "en": "Choose yes or no."},
    "type:string": {"ko": "글자로 입력하세요.", "en": "Enter text."},
    "type": {"ko": "입력 형식이 올바르지 않습니다.", "en": "This value has the wrong type."},
    "minimum": {"ko": "{limit} 이상이어야 합니다.", "en": "Must be at least {limit}."},
    "maximum": {"ko": "{limit} 이하여야 합니다.", "en": "Must be at most {limit}."},
    "exclusiveMinimum": {"ko": "{limit}보다 커야 합니다.", "en": "Must be more than {limit}."},
    "exclusiveMaximum": {"ko": "{limit}보다 작아야 합니다.", "en": "Must be less than {limit}."},
    "multipleOf": {"ko": "{limit}의 배수여야 합니다.", "en": "Must be a multiple of {limit}."},
    "minLength": {"ko": "{limit}자 이상 입력하세요.", "en": "Enter at least {limit} characters."},
    "maxLength": {"ko": "{limit}자 이하로 입력하세요.", "en": "Enter at most {limit} characters."},
    "minItems": {"ko": "{limit}개 이상 입력하세요.", "en": "Give at least {limit}."},
    "maxItems": {"ko": "{limit}개까지만 입력할 수 있습니다.", "en": "Give at most {limit}."},
    "uniqueItems": {"ko": "같은 값을 두 번 넣을 수 없습니다.", "en": "Each value may appear only once."},
    "enum": {"ko": "목록에 있는 값을 선택하세요.", "en": "Choose one of the listed values."},
    "const": {"ko": "허용되지 않는 값입니다.", "en": "This value is not allowed."},
    "format:date": {"ko": "날짜를 YYYY-MM-DD 형식으로 입력하세요.", "en": "Enter a date as YYYY-MM-DD."},
    "format:date-time": {"ko": "날짜와 시간을 입력하세요.", "en": "Enter a date and time."},
    "format:email": {"ko": "전자우편 주소 형식이 아닙니다.", "en": "Enter an email address."},
    "format": {"ko": "형식({limit})이 올바르지 않습니다.", "en": "This is not a valid {limit}."},
    "pattern": {"ko": "입력 형식이 올바르지 않습니다.", "en": "This value is not in the expected form."},
    "additionalProperties": {"ko": "알 수 없는 항목이 있습니다: {limit}", "en": "Unknown fields: {limit}"},
}


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with a submission: the path of the field to correct (``""``: the whole form) and what to do."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


def validate(form: Form, data: object, *, locale: str = DEFAULT_LOCALE) -> list[FieldError]:
    """Every problem of ``data`` against ``form``, in the order the fields are shown, each once."""
    validator = Draft202012Validator(form.schema, format_checker=_FORMAT_CHECKER)
    found: dict[tuple[str, str], tuple[int, ...]] = {}
    for error in validator.iter_errors(data):
        for path, message in _explain(error, locale):
            field = join_path(_shown_part(form, path))
            found.setdefault((field, message), _position(form, field))
    return [FieldError(field, message) for (field, message), _ in sorted(found.items(), key=lambda item: item[1])]


def in_form_order(form: Form, errors: Sequence[FieldError]) -> list[FieldError]:
    """``errors`` (each once) in the order their fields are shown on the form."""
    return sorted(dict.fromkeys(errors), key=lambda error: _position(form, error.field))


def message_for(kind: str, locale: str = DEFAULT_LOCALE, limit: object = "") -> str:
    """A message of ``MESSAGES`` in ``locale`` (Korean if there is none), with its limit filled in."""
    texts = MESSAGES[kind]
    return texts.get(locale, texts[DEFAULT_LOCALE]).format(limit=_number(limit))


def _explain(error: ValidationError, locale: str) -> list[tuple[list[str | int], str]]:
    path = [part for part in error.absolute_path if isinstance(part, str | int)]
    kind = str(error.validator)
    value = error.validator_value
    if kind == "required" and isinstance(error.instance, Mapping) and isinstance(value, list):
        return [([*path, name], message_for("required", locale)) for name in value if name not in error.instance]
    if kind == "type":
        types = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        key = f"type:{next((t for t in types if t != 'null'), '')}"
        return [(path, message_for(key if key in MESSAGES else "type", locale))]
    if kind == "format":
        key = f"format:{value}"
        return [(path, message_for(key, locale) if key in MESSAGES else message_for("format", locale, value))]
    if kind in ("oneOf", "anyOf") and _all_constants(value):
        return [(path, message_for("enum", locale))]
    if kind == "additionalProperties" and isinstance(error.instance, Mapping):
        known = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
        extra = ", ".join(str(name) for name in error.instance if name not in known)
        return [(path, message_for(kind, locale, extra))]
    if kind in MESSAGES:
        return [(path, message_for(kind, locale, value))]
    return [(path, error.message)]


def _all_constants(options: object) -> bool:
    return isinstance(options, list) and all(isinstance(o, Mapping) and "const" in o for o in options)


def _shown_part(form: Form, path: Sequence[str | int]) -> list[str | int]:
    """The longest start of ``path`` that is a field on the page: an error inside a list of choices,
    attachments or an unknown property is shown at the field that holds it."""
    shown: list[str | int] = []
    fields = form.fields
    group = False
    for part in path:
        if isinstance(part, int):
            if not group:
                break
            group = False
        else:
            field = next((each for each in fields if each.name == part), None)
            if field is None:
                break
            fields, group = field.fields, field.kind == "group"
        shown.append(part)
    return shown


def _position(form: Form, field: str) -> tuple[int, ...]:
    """Where a field comes on the page, for sorting: its index among its siblings at each level."""
    position: list[int] = []
    fields = form.fields
    for part in split_path(field):
        if isinstance(part, int):
            position.append(part)
            continue
        index = next((i for i, each in enumerate(fields) if each.name == part), len(fields))
        position.append(index)
        fields = fields[index].fields if index < len(fields) else ()
    return tuple(position)


def _number(limit: object) -> object:
    if isinstance(limit, float) and limit.is_integer() and abs(limit) < 1e15:
        return int(limit)
    return limit


def _checks_dates() -> FormatChecker:
    checker = FormatChecker()
    checker.checks("date")(is_date)
    checker.checks("date-time")(is_datetime)
    return checker


_FORMAT_CHECKER = _checks_dates()
