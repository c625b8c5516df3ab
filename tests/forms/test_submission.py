"""Parsing a posted form: browser text becomes typed data, rows are rebuilt, files come back apart."""

from __future__ import annotations

import itertools
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from forms import Form, UploadedFile, parse_submission, validate

ROW = {
    "type": "object",
    "properties": {"task": {"type": "string"}, "qty": {"type": "integer"}, "done": {"type": "boolean"}},
}
PHOTO = UploadedFile("pothole.jpg", "image/jpeg", b"\xff\xd8\xff\xe0 jpeg")


def form_of(properties: dict[str, Any], ui: dict[str, Any] | None = None, required: list[str] | None = None) -> Form:
    schema = {"type": "object", "properties": properties, "required": required or []}
    return Form.from_document({"schema": schema, "ui": ui or {}})


SEOUL = ZoneInfo("Asia/Seoul")


def parsed(form: Form, **fields: str | list[str]) -> dict[str, Any]:
    posted = {name: [value] if isinstance(value, str) else value for name, value in fields.items()}
    return parse_submission(form, posted, None, zone=SEOUL).data


def test_numbers_and_integers_are_typed_with_separators_and_full_width_digits_allowed() -> None:
    form = form_of({"amount": {"type": "number"}, "count": {"type": "integer"}, "rate": {"type": "number"}})
    assert parsed(form, amount="1,234,000", count="１２", rate="0.5") == {"amount": 1234000, "count": 12, "rate": 0.5}
    assert parsed(form, amount="-3e2", count="7.0") == {"amount": -300.0, "count": 7}


@pytest.mark.parametrize("text", ["열두", "12개", "1.5.2", "nan", "inf", "1e999", "0x1f", "--1", "9" * 5000])
def test_text_that_is_no_number_stays_text_for_validation_to_report(text: str) -> None:
    form = form_of({"amount": {"type": "number"}, "count": {"type": "integer"}})
    assert parsed(form, amount=text, count=text) == {"amount": text, "count": text}


def test_an_integer_field_refuses_a_fraction() -> None:
    assert parsed(form_of({"count": {"type": "integer"}}), count="2.5") == {"count": "2.5"}


def test_an_unticked_checkbox_is_false_and_unanswered_yes_no_radios_stay_missing() -> None:
    form = form_of({"agree": {"type": "boolean"}, "urgent": {"type": "boolean"}}, {"urgent": {"widget": "radio"}})
    assert parsed(form) == {"agree": False}
    assert parsed(form, agree="true", urgent="false") == {"agree": True, "urgent": False}
    assert parsed(form, urgent="true") == {"agree": False, "urgent": True}
    assert parsed(form, urgent="maybe") == {"agree": False, "urgent": "maybe"}


def test_empty_strings_are_dropped_and_textarea_line_ends_normalised() -> None:
    form = form_of({"title": {"type": "string"}, "memo": {"type": "string"}, "day": {"type": "string", "format": "date"}})
    assert parsed(form, title="", memo="   ", day="") == {}
    assert parsed(form, title="포트홀", memo="첫 줄\r\n둘째 줄", day="2025-03-14") == {
        "title": "포트홀",
        "memo": "첫 줄\n둘째 줄",
        "day": "2025-03-14",
    }


def test_choices_come_back_as_their_json_values_and_unknown_ones_as_text() -> None:
    form = form_of(
        {
            "grade": {"enum": [1, 2, 3]},
            "kind": {"enum": ["도로", "환경"]},
            "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}},
        }
    )
    assert parsed(form, grade="2", kind="환경", tags=["c", "a", "c"]) == {"grade": 2, "kind": "환경", "tags": ["c", "a"]}
    assert parsed(form, grade="9", kind="", tags=[]) == {"grade": "9"}


def test_a_date_and_time_from_the_browser_becomes_rfc3339_in_the_city_time_zone() -> None:
    form = form_of({"at": {"type": "string", "format": "date-time"}})
    assert parsed(form, at="2025-03-14T09:30") == {"at": "2025-03-14T09:30:00+09:00"}
    in_lisbon = parse_submission(form, {"at": ["2025-07-14T09:30"]}, None, zone=ZoneInfo("Europe/Lisbon")).data
    assert in_lisbon == {"at": "2025-07-14T09:30:00+01:00"}  # summer time there
    assert parsed(form, at="2025-03-14T09:30:15Z") == {"at": "2025-03-14T09:30:15+00:00"}
    assert parsed(form, at="어제 저녁") == {"at": "어제 저녁"}


def test_a_location_becomes_latitude_longitude_and_address() -> None:
    form = form_of({"site": {"type": "object"}}, {"site": {"widget": "location"}})
    posted = {"site.lat": "37.263573", "site.lon": "127.028601", "site.address": "경기도 수원시 팔달구 효원로 241"}
    assert parsed(form, **posted) == {"site": {"lat": 37.263573, "lon": 127.028601, "address": "경기도 수원시 팔달구 효원로 241"}}
    assert parsed(form, **{"site.lat": "", "site.lon": ""}) == {}


def test_a_required_object_left_empty_is_kept_so_its_own_fields_are_reported() -> None:
    form = form_of({"site": {"type": "object"}}, {"site": {"widget": "location"}}, required=["site"])
    assert parsed(form) == {"site": {}}


def test_rows_are_rebuilt_in_order_and_removed_or_empty_rows_are_dropped() -> None:
    form = form_of({"items": {"type": "array", "items": ROW}})
    data = parsed(
        form,
        **{
            "items[10].task": "보도 정비",
            "items[10].__row__": "",
            "items[2].task": "안내판 설치",
            "items[2].qty": "3",
            "items[2].done": "true",
            "items[2].__row__": "",
            "items[5].task": "철거",
            "items[5].__remove__": "1",
            "items[7].task": "",
            "items[7].qty": "",
            "items[7].__row__": "",
        },
    )
    assert data == {
        "items": [{"task": "안내판 설치", "qty": 3, "done": True}, {"task": "보도 정비", "done": False}],
    }


def test_the_add_row_button_keeps_every_row_adds_a_blank_one_and_asks_for_the_form_again() -> None:
    form = form_of({"items": {"type": "array", "items": ROW}, "memo": {"type": "string"}})
    posted = {"items[0].task": [""], "items[0].__row__": [""], "memo": ["메모"], "__add__": ["items"]}
    submission = parse_submission(form, posted, None, zone=SEOUL)
    assert submission.add_row
    assert submission.data == {"items": [{"done": False}, {}], "memo": "메모"}


def test_a_row_can_be_added_to_a_group_inside_a_row() -> None:
    inner = {"type": "array", "items": {"type": "object", "properties": {"part": {"type": "string"}}}}
    form = form_of({"rooms": {"type": "array", "items": {"type": "object", "properties": {"parts": inner}}}})
    posted = {"rooms[0].parts[0].part": ["문"], "__add__": ["rooms[0].parts"]}
    assert parse_submission(form, posted, zone=SEOUL).data == {"rooms": [{"parts": [{"part": "문"}, {}]}]}


def test_uploads_come_back_by_the_path_of_their_field_and_attach_stores_their_references() -> None:
    form = form_of(
        {
            "photo": {"type": "string", "contentMediaType": "image/jpeg"},
            "items": {"type": "array", "items": {"type": "object", "properties": {"after": {"type": "string"}}}},
        },
        {"items": {"fields": {"after": {"widget": "photo"}}}},
    )
    posted = {"items[0].__remove__": ["1"], "items[0].__row__": [""], "items[1].__row__": [""]}
    files = {"photo": [PHOTO], "items[1].after": [PHOTO], "unknown": [PHOTO]}
    submission = parse_submission(form, posted, files, zone=SEOUL)
    # the removed first row shifts the second one into its place, its file with it
    assert submission.files == {"photo": [PHOTO], "items[0].after": [PHOTO]}
    for path in submission.files:
        submission.attach(path, ["sha256:" + "0" * 64])
    assert submission.data == {"photo": "sha256:" + "0" * 64, "items": [{"after": "sha256:" + "0" * 64}]}


def test_files_already_attached_are_kept_and_a_list_of_photos_grows() -> None:
    form = form_of({"photos": {"type": "array", "items": {"type": "string"}}}, {"photos": {"widget": "photo"}})
    submission = parse_submission(form, {"photos": ["sha256:aa"]}, {"photos": [PHOTO, PHOTO]}, zone=SEOUL)
    assert submission.data == {"photos": ["sha256:aa"]}
    assert submission.files == {"photos": [PHOTO, PHOTO]}
    submission.attach("photos", ["sha256:bb", "sha256:cc"])
    assert submission.data == {"photos": ["sha256:aa", "sha256:bb", "sha256:cc"]}


def test_a_file_input_left_empty_is_no_upload() -> None:
    form = form_of({"photo": {"type": "string", "contentMediaType": "image/png"}})
    assert parse_submission(form, {}, {"photo": [UploadedFile("", "application/octet-stream", b"")]}, zone=SEOUL).files == {}


def test_the_button_pressed_is_the_action() -> None:
    form = form_of({"memo": {"type": "string"}})
    assert parse_submission(form, {"action": ["draft"]}, zone=SEOUL).is_draft
    assert parse_submission(form, {"action": ["submit"]}, zone=SEOUL).action == "submit"
    assert parse_submission(form, {}, zone=SEOUL).action is None


GARBAGE_TEXT = ["", " ", "\x00", "<script>", "1e999999", "-", "９" * 50, "[]", "{}", "true", "null", "💥" * 100, "a" * 10_000]
GARBAGE_NAMES = [
    "items[",
    "items[]",
    "items[-1].task",
    "items[x].task",
    "items[99999999999999999999].task",
    "items[0]",
    "items[0].",
    "items[0].__remove__",
    "items[0].nope.deeper[3]",
    "site.lat",
    "site",
    "__add__",
    "tags",
    "photo",
    "at",
    "",
    "[0]",
    "..",
]


def test_parse_never_raises_on_garbage() -> None:
    form = form_of(
        {
            "n": {"type": "number"},
            "i": {"type": "integer"},
            "b": {"type": "boolean"},
            "yn": {"type": "boolean"},
            "s": {"enum": [1, None, "x"]},
            "tags": {"type": "array", "items": {"enum": ["a", "b"]}},
            "at": {"type": "string", "format": "date-time"},
            "site": {"type": "object"},
            "photo": {"type": "string", "contentMediaType": "image/png"},
            "items": {"type": "array", "items": ROW},
        },
        {"yn": {"widget": "radio"}, "site": {"widget": "location"}},
    )
    names = [*GARBAGE_NAMES, "n", "i", "b", "yn", "s", "items[0].qty", "items[3].done"]
    for name, text in itertools.product(names, GARBAGE_TEXT):
        submission = parse_submission(form, {name: [text, text]}, {name: [PHOTO]}, zone=SEOUL)
        validate(form, submission.data)  # whatever was posted, the data can be checked
    odd_inputs: list[Any] = [
        {},
        {"n": "12"},  # a bare string instead of a list
        {"n": [None, 3, b"4"]},
        {"n": None},
        {1: ["x"]},
        {"items[0].task": {"a": 1}},
        {"__add__": ["nope[0].x"]},
        {"__add__": ["items[5].task"]},
        {"__add__": [""]},
    ]
    odd_files: Any = {"photo": ["not a file", None]}
    for fields in odd_inputs:
        parse_submission(form, fields, odd_files, zone=SEOUL)
    parse_submission(form, None, None, zone=SEOUL)  # type: ignore[arg-type]
