"""Validation: every problem named by the path of the field to correct, in words staff understand."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest

from forms import FieldError, Form, parse_submission, validate

ROW = {"type": "object", "required": ["task"], "properties": {"task": {"type": "string"}, "qty": {"type": "integer"}}}

SEOUL = ZoneInfo("Asia/Seoul")  # the city's zone, as the app passes it


def form_of(properties: dict[str, Any], required: list[str] | None = None, **schema: Any) -> Form:
    return Form.from_document({"type": "object", "properties": properties, "required": required or [], **schema})


def test_valid_data_has_no_errors() -> None:
    form = form_of({"title": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}}, ["title"])
    assert validate(form, {"title": "가로등 고장", "qty": 2}) == []


def test_required_errors_name_the_missing_field_not_the_object_holding_it() -> None:
    form = form_of(
        {
            "title": {"type": "string"},
            "site": {"type": "object", "required": ["lat", "lon"], "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}},
            "items": {"type": "array", "items": ROW},
        },
        ["title", "site"],
    )
    errors = validate(form, {"site": {"lat": 37.2}, "items": [{"task": "정비"}, {"qty": 1}]})
    assert [error.field for error in errors] == ["title", "site.lon", "items[1].task"]
    assert {error.message for error in errors} == {"필수 항목입니다."}


def test_numbers_typed_as_text_give_a_field_error_not_an_exception() -> None:
    form = form_of({"amount": {"type": "number"}, "count": {"type": "integer"}, "items": {"type": "array", "items": ROW}})
    posted = {"amount": ["천 원"], "count": ["3개"], "items[0].task": ["정비"], "items[0].qty": ["두 개"]}
    errors = validate(form, parse_submission(form, posted, zone=SEOUL).data)
    assert errors == [
        FieldError("amount", "숫자를 입력하세요."),
        FieldError("count", "정수를 입력하세요."),
        FieldError("items[0].qty", "정수를 입력하세요."),
    ]


@pytest.mark.parametrize(
    ("schema", "value", "korean", "english"),
    [
        ({"type": "integer"}, "x", "정수를 입력하세요.", "Enter a whole number."),
        ({"type": "number", "minimum": 0}, -1, "0 이상이어야 합니다.", "Must be at least 0."),
        ({"type": "number", "maximum": 100.0}, 101, "100 이하여야 합니다.", "Must be at most 100."),
        ({"type": "number", "exclusiveMinimum": 0}, 0, "0보다 커야 합니다.", "Must be more than 0."),
        ({"type": "string", "minLength": 5}, "짧음", "5자 이상 입력하세요.", "Enter at least 5 characters."),
        ({"type": "string", "maxLength": 3}, "너무 김", "3자 이하로 입력하세요.", "Enter at most 3 characters."),
        ({"enum": ["도로", "환경"]}, "기타", "목록에 있는 값을 선택하세요.", "Choose one of the listed values."),
        ({"oneOf": [{"const": 1}, {"const": 2}]}, 3, "목록에 있는 값을 선택하세요.", "Choose one of the listed values."),
        ({"type": "string", "format": "date"}, "2025-02-30", "날짜를 YYYY-MM-DD 형식으로 입력하세요.", "Enter a date as YYYY-MM-DD."),
        ({"type": "string", "format": "date-time"}, "어제", "날짜와 시간을 입력하세요.", "Enter a date and time."),
        ({"type": "string", "pattern": "^[0-9]{3}-[0-9]{4}$"}, "1234", "입력 형식이 올바르지 않습니다.", "This value is not in the expected form."),
        ({"type": "array", "items": {"enum": ["a", "b"]}, "minItems": 2}, ["a"], "2개 이상 입력하세요.", "Give at least 2."),
    ],
)
def test_common_problems_are_explained_in_korean_and_in_english(
    schema: dict[str, Any], value: Any, korean: str, english: str
) -> None:
    form = form_of({"x": schema})
    assert validate(form, {"x": value}) == [FieldError("x", korean)]
    assert validate(form, {"x": value}, locale="en") == [FieldError("x", english)]


def test_a_problem_without_a_message_of_its_own_keeps_the_validators_text() -> None:
    form = form_of({"a": {"type": "string"}, "b": {"type": "string"}}, dependentRequired={"a": ["b"]})
    assert validate(form, {"a": "x"}) == [FieldError("", "'b' is a dependency of 'a'")]


def test_dates_and_times_are_checked_as_the_browser_and_rfc_3339_write_them() -> None:
    form = form_of({"day": {"type": "string", "format": "date"}, "at": {"type": "string", "format": "date-time"}})
    assert validate(form, {"day": "2025-03-14", "at": "2025-03-14T09:30:00+09:00"}) == []
    assert [e.field for e in validate(form, {"day": "20250314", "at": "2025-03-14T09:30"})] == ["day", "at"]


def test_an_error_inside_a_list_of_choices_is_reported_at_the_field() -> None:
    form = form_of({"tags": {"type": "array", "items": {"enum": ["a", "b"]}}})
    assert validate(form, {"tags": ["a", "z"]}) == [FieldError("tags", "목록에 있는 값을 선택하세요.")]


def test_unknown_fields_are_reported_for_the_whole_form() -> None:
    form = form_of({"a": {"type": "string"}}, additionalProperties=False)
    assert validate(form, {"a": "x", "hack": 1}) == [FieldError("", "알 수 없는 항목이 있습니다: hack")]


def test_errors_come_in_the_order_the_fields_are_shown() -> None:
    form = Form.from_document(
        {
            "schema": {
                "type": "object",
                "required": ["a", "b", "c"],
                "properties": {"a": {"type": "string"}, "b": {"type": "string"}, "c": {"type": "string"}},
            },
            "ui": {"order": ["c", "a"]},
        }
    )
    assert [error.field for error in validate(form, {})] == ["c", "a", "b"]


def test_validation_never_raises_on_data_of_the_wrong_shape() -> None:
    form = form_of({"items": {"type": "array", "items": ROW}, "day": {"type": "string", "format": "date"}}, ["items"])
    junks: list[object] = [None, [], "x", 1, {"items": "x"}, {"items": [None, 1]}, {"day": 20250314}]
    for junk in junks:
        assert validate(form, junk)
