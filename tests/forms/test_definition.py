"""Form definitions: a JSON Schema with UI hints becomes fields with the right widgets, or a clear FormError."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from forms import Form, FormError

ROOT = Path(__file__).resolve().parents[2]


def form_of(properties: dict[str, Any], ui: dict[str, Any] | None = None, **schema: Any) -> Form:
    return Form.from_document({"schema": {"type": "object", "properties": properties, **schema}, "ui": ui or {}})


def only_field(schema: dict[str, Any], hints: dict[str, Any] | None = None) -> Any:
    return form_of({"x": schema}, {"x": hints} if hints else {}).fields[0]


@pytest.mark.parametrize(
    ("schema", "hints", "kind", "details"),
    [
        ({"type": "string"}, None, "text", {}),
        ({"type": "string", "format": "email"}, None, "text", {"input_type": "email"}),
        ({"type": "string"}, {"widget": "textarea"}, "textarea", {}),
        ({"type": "string", "maxLength": 201}, None, "textarea", {}),
        ({"type": "string", "maxLength": 200}, None, "text", {}),
        ({"type": "number"}, None, "number", {}),
        ({"type": "integer"}, None, "integer", {}),
        ({"type": "boolean"}, None, "checkbox", {"radios": False}),
        ({"type": "boolean"}, {"widget": "radio"}, "checkbox", {"radios": True}),
        ({"type": "string", "enum": ["a", "b"]}, None, "select", {"radios": False}),
        ({"type": "string", "enum": ["a", "b"]}, {"widget": "radio"}, "select", {"radios": True}),
        ({"oneOf": [{"const": 1, "title": "하나"}, {"const": 2, "title": "둘"}]}, None, "select", {}),
        ({"type": "array", "items": {"enum": ["a", "b"]}}, None, "multiselect", {}),
        ({"type": "string", "format": "date"}, None, "date", {}),
        ({"type": "string", "format": "date-time"}, None, "datetime", {}),
        ({"type": "string", "contentMediaType": "image/png"}, None, "file", {"accept": "image/*", "capture": False}),
        ({"type": "string", "contentMediaType": "application/pdf"}, None, "file", {"accept": "application/pdf"}),
        ({"type": "string"}, {"widget": "file"}, "file", {"accept": None}),
        ({"type": "string"}, {"widget": "photo"}, "file", {"accept": "image/*", "capture": True}),
        ({"type": "array", "items": {"type": "string"}}, {"widget": "photo"}, "file", {"multiple": True}),
        ({"type": "object"}, {"widget": "location"}, "location", {}),
        (
            {"type": "object", "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}},
            None,
            "location",
            {},
        ),
        ({"type": "array", "items": {"type": "object", "properties": {"q": {"type": "integer"}}}}, None, "group", {}),
        ({"type": "object", "properties": {"q": {"type": "integer"}}}, None, "object", {}),
        ({"type": ["integer", "null"]}, None, "integer", {}),
    ],
)
def test_each_kind_of_schema_gets_its_widget(
    schema: dict[str, Any], hints: dict[str, Any] | None, kind: str, details: dict[str, Any]
) -> None:
    field = only_field(schema, hints)
    assert field.kind == kind
    assert {name: getattr(field, name) for name in details} == details


def test_a_wrapped_document_and_a_bare_schema_give_the_same_fields() -> None:
    schema = {"type": "object", "title": "검토", "properties": {"a": {"type": "string", "title": "의견"}}}
    wrapped, bare = Form.from_document({"schema": schema}), Form.from_document(schema)
    assert wrapped.fields == bare.fields
    assert (bare.title, bare.fields[0].label) == ("검토", "의견")


def test_fields_follow_the_ui_order_then_the_schema_order() -> None:
    form = form_of({name: {"type": "string"} for name in "abcd"}, {"order": ["c", "a"]})
    assert [field.name for field in form.fields] == ["c", "a", "b", "d"]


def test_a_field_knows_its_label_description_and_whether_it_is_required() -> None:
    form = form_of(
        {"amount": {"type": "number", "title": "금액", "description": "원 단위"}, "memo": {"type": "string"}},
        required=["amount"],
    )
    amount, memo = form.fields
    assert (amount.label, amount.description, amount.required) == ("금액", "원 단위", True)
    assert (memo.label, memo.description, memo.required) == ("memo", None, False)


def test_bilingual_labels_pick_the_locale_and_fall_back_to_another_language() -> None:
    document = {
        "schema": {
            "type": "object",
            "properties": {
                "both": {"type": "string"},
                "korean_title": {"type": "string", "title": "사진"},
                "english_only": {"type": "string"},
            },
        },
        "ui": {
            "both": {"label": {"ko": "분류", "en": "Category"}, "help": {"ko": "하나를 고르세요", "en": "Pick one"}},
            "korean_title": {"label": {"en": "Photo"}},
            "english_only": {"label": {"en": "Remarks"}},
        },
    }
    korean = Form.from_document(document)
    english = Form.from_document(document, locale="en")
    assert [f.label for f in korean.fields] == ["분류", "사진", "Remarks"]
    assert [f.label for f in english.fields] == ["Category", "Photo", "Remarks"]
    assert (korean.fields[0].description, english.fields[0].description) == ("하나를 고르세요", "Pick one")
    assert korean.localized("en").fields == english.fields


def test_choices_have_labels_from_one_of_titles_and_translated_hints() -> None:
    schema = {"oneOf": [{"const": "road", "title": "도로"}, {"const": "light", "title": "가로등"}]}
    ui = {"x": {"labels": {"road": {"en": "Roads"}}}}
    korean = form_of({"x": schema}, ui).fields[0]
    english = Form.from_document({"schema": {"type": "object", "properties": {"x": schema}}, "ui": ui}, locale="en")
    assert [(c.value, c.label) for c in korean.choices] == [("road", "도로"), ("light", "가로등")]
    assert [c.label for c in english.fields[0].choices] == ["Roads", "가로등"]


def test_a_location_has_latitude_longitude_and_an_address() -> None:
    location = only_field({"type": "object"}, {"widget": "location"})
    assert [(f.name, f.kind, f.label) for f in location.fields] == [
        ("lat", "number", "위도"),
        ("lon", "number", "경도"),
        ("address", "text", "주소"),
    ]


def test_group_rows_and_nested_objects_carry_their_own_fields_and_hints() -> None:
    form = form_of(
        {
            "items": {
                "type": "array",
                "items": {"type": "object", "required": ["qty"], "properties": {"qty": {"type": "integer"}}},
            },
            "owner": {"type": "object", "properties": {"name": {"type": "string"}, "note": {"type": "string"}}},
        },
        {"items": {"fields": {"qty": {"label": "수량"}}}, "owner": {"fields": {"order": ["note", "name"]}}},
    )
    items, owner = form.fields
    assert [(f.name, f.label, f.required) for f in items.fields] == [("qty", "수량", True)]
    assert [f.name for f in owner.fields] == ["note", "name"]
    assert form.field_at("items[3].qty") is items.fields[0]
    assert form.field_at("owner.nothing") is None


def test_local_references_are_followed() -> None:
    form = Form.from_document(
        {
            "type": "object",
            "$defs": {"money": {"type": "integer", "minimum": 0, "title": "금액"}},
            "properties": {"budget": {"$ref": "#/$defs/money"}},
        }
    )
    assert (form.fields[0].kind, form.fields[0].label) == ("integer", "금액")


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ([], "must be a JSON object"),
        ({"type": "string"}, "must describe an object"),
        ({"schema": {"type": "object", "properties": {"a": {"type": "strnig"}}}}, "not a valid JSON Schema"),
        ({"schema": {"type": "object", "properties": {"a": {"pattern": "(unclosed"}}}}, "not a valid JSON Schema"),
        ({"schema": {"type": "object"}, "ui": []}, "ui hints must be a JSON object"),
        ({"schema": {"type": "object", "properties": {"a": {}}}, "ui": {"a": {"widget": "slider"}}}, "unknown widget"),
        ({"schema": {"type": "object", "properties": {"a": {}}}, "ui": {"order": ["b"]}}, "'order' names 'b'"),
        ({"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}}}}, "tags: a list"),
        ({"type": "object", "properties": {"a b": {"type": "string"}}}, "cannot name a form field"),
        ({"type": "object", "properties": {"csrf_token": {"type": "string"}}}, "cannot name a form field"),
        ({"type": "object", "properties": {"a": {"$ref": "https://example.org/s.json"}}}, "only references inside"),
        ({"type": "object", "allOf": [{"$ref": "#/$defs/missing"}]}, "points at nothing"),
        (
            {
                "type": "object",
                "$defs": {"node": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}},
                "properties": {"tree": {"$ref": "#/$defs/node"}},
            },
            "nested too deeply",
        ),
    ],
)
def test_a_document_that_is_no_usable_form_raises_a_form_error_saying_why(document: Any, says: str) -> None:
    with pytest.raises(FormError, match=re.escape(says)):
        Form.from_document(document)


def test_the_forms_of_the_sample_workflows_are_usable_forms() -> None:
    documents = sorted((ROOT / "workflows").glob("*/forms/*.json"))
    assert documents
    for path in documents:
        form = Form.from_document(json.loads(path.read_text(encoding="utf-8")))
        assert form.fields, path


def test_a_form_read_twice_is_read_once_and_keeps_its_own_copy_of_the_document() -> None:
    document = {"type": "object", "properties": {"memo": {"type": "string", "title": "메모"}}}
    form = Form.from_document(document)
    assert Form.from_document(json.loads(json.dumps(document))) is form
    document["properties"]["memo"]["title"] = "바뀐 제목"
    assert form.fields[0].label == form.schema["properties"]["memo"]["title"] == "메모"


def test_a_hostile_document_nested_ten_thousand_deep_is_a_form_error_too() -> None:
    deep: dict[str, Any] = {"type": "object"}
    for _ in range(10_000):
        deep = {"type": "object", "properties": {"a": deep}}
    with pytest.raises(FormError):
        Form.from_document(deep)
