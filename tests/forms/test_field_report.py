"""A field report (현장행정) from a phone, end to end: render, post, validate, show the errors, fix, complete."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from forms import FieldError, Form, UploadedFile, parse_submission, render_form, validate
from tests.forms.browser import Page

PHOTO = UploadedFile("IMG_0412.jpg", "image/jpeg", b"\xff\xd8\xff\xe0 a pothole")
STORED = "sha256:" + "3f" * 32

SEOUL = ZoneInfo("Asia/Seoul")  # the city's zone, as the app passes it


def render(
    form: Form, data: dict[str, Any] | None = None, errors: list[FieldError] | None = None, locale: str = "ko"
) -> Page:
    html = render_form(form, data, errors, action="/tasks/42", csrf_token="c5rf", locale=locale, extra_buttons=["draft"],
                       zone=SEOUL)
    return Page(str(html))


def test_the_report_form_asks_for_a_photo_a_place_a_category_a_description_and_urgency(field_report: Form) -> None:
    assert [(f.name, f.kind) for f in field_report.fields] == [
        ("photo", "file"),
        ("location", "location"),
        ("category", "select"),
        ("description", "textarea"),
        ("urgent", "checkbox"),
        ("observed_at", "datetime"),
        ("actions", "group"),
    ]
    page = render(field_report)
    assert page.by_id("f-photo").get("capture") == "environment"
    assert [page.label_of(page.by_id(i)) for i in ("f-category", "f-category/1")] == ["도로·보도", "가로등"]
    assert [page.label_of(page.by_id(i)) for i in ("f-urgent", "f-urgent/false")] == ["예", "아니오"]
    assert page.one("form").get("enctype") == "multipart/form-data"


def test_a_report_with_mistakes_comes_back_with_errors_beside_the_fields_and_every_value_kept(field_report: Form) -> None:
    first = render(field_report)
    posted = first.post(
        {
            "location.lat": "37.263573",
            "location.lon": "127.028601",
            "location.address": "수원시 팔달구 효원로 241 앞 보도",
            "category": "road",
            "description": "깨짐",
            "observed_at": "2025-03-14T08:05",
            "actions[0].task": "",
            "actions[0].cost": "삼만 원",
        }
    )
    submission = parse_submission(field_report, posted, {}, zone=SEOUL)
    assert submission.data == {
        "location": {"lat": 37.263573, "lon": 127.028601, "address": "수원시 팔달구 효원로 241 앞 보도"},
        "category": "road",
        "description": "깨짐",
        "observed_at": "2025-03-14T08:05:00+09:00",
        "actions": [{"cost": "삼만 원"}],
    }
    errors = validate(field_report, submission.data)
    assert errors == [
        FieldError("photo", "필수 항목입니다."),
        FieldError("description", "5자 이상 입력하세요."),
        FieldError("urgent", "필수 항목입니다."),
        FieldError("actions[0].task", "필수 항목입니다."),
        FieldError("actions[0].cost", "정수를 입력하세요."),
    ]

    again = render(field_report, submission.data, errors)
    for error in errors:
        assert again.by_id(f"f-{error.field}/error").text == error.message
        assert again.by_id(f"f-{error.field}").get("aria-invalid") == "true"
    summary = [(a.get("href"), " ".join(a.text.split())) for a in again.find("a")]
    assert summary[0] == ("#f-photo", "사진: 필수 항목입니다.")
    assert summary[3] == ("#f-actions[0].task", "조치 항목 1 › 조치 내용: 필수 항목입니다.")
    assert again.value_of("location.lat") == "37.263573"
    assert again.value_of("location.address") == "수원시 팔달구 효원로 241 앞 보도"
    assert again.value_of("category") == ["road"]
    assert again.value_of("description") == "깨짐"
    assert again.value_of("observed_at") == "2025-03-14T08:05"
    assert again.value_of("actions[0].cost") == "삼만 원"


def test_a_corrected_report_with_its_photo_stored_is_valid(field_report: Form) -> None:
    data = {"location": {"lat": 37.263573, "lon": 127.028601}, "category": "road", "description": "깨짐"}
    page = render(field_report, data, validate(field_report, data))
    posted = page.post(
        {
            "description": "보도블록 세 장이 깨져 걸려 넘어질 위험이 있음",
            "urgent": "true",
            "actions[0].task": "보도블록 교체",
            "actions[0].due": "2025-03-21",
            "actions[0].cost": "150,000",
        }
    )
    submission = parse_submission(field_report, posted, {"photo": [PHOTO]}, zone=SEOUL)
    assert submission.files == {"photo": [PHOTO]}
    submission.attach("photo", [STORED])
    assert validate(field_report, submission.data) == []
    assert submission.data == {
        "photo": STORED,
        "location": {"lat": 37.263573, "lon": 127.028601},
        "category": "road",
        "description": "보도블록 세 장이 깨져 걸려 넘어질 위험이 있음",
        "urgent": True,
        "actions": [{"task": "보도블록 교체", "due": "2025-03-21", "cost": 150000}],
    }
    # shown again (say, on the instance page), the stored photo is noted and kept
    shown = render(field_report, submission.data)
    assert shown.value_of("photo") == [STORED]
    assert parse_submission(field_report, shown.post(), {}, zone=SEOUL).data == submission.data


def test_adding_an_action_row_without_script_posts_back_and_shows_one_more_row(field_report: Form) -> None:
    page = render(field_report, {"actions": [{"task": "현장 확인"}]})
    posted = page.post({"description": "가로등 두 개 꺼짐"}, press=("__add__", "actions"))
    submission = parse_submission(field_report, posted, {}, zone=SEOUL)
    assert submission.add_row
    again = render(field_report, submission.data)
    assert again.value_of("actions[0].task") == "현장 확인"
    assert again.value_of("actions[1].task") == ""
    assert again.value_of("description") == "가로등 두 개 꺼짐"
    assert again.one("fieldset", class_="cf-field cf-group").get("data-cf-next") == "2"


def test_removing_a_row_drops_it(field_report: Form) -> None:
    page = render(field_report, {"actions": [{"task": "현장 확인"}, {"task": "보수"}]})
    submission = parse_submission(field_report, page.post({"actions[0].__remove__": "1"}), {}, zone=SEOUL)
    assert submission.data["actions"] == [{"task": "보수"}]


def test_the_report_in_english(field_report: Form) -> None:
    errors = validate(field_report, {}, locale="en")
    page = render(field_report, {}, errors, locale="en")
    assert page.label_of(page.by_id("f-photo")).startswith("Photo")
    assert page.label_of(page.by_id("f-category")) == "Roads and pavements"
    assert page.label_of(page.by_id("f-location.lat")).startswith("Latitude")
    assert page.label_of(page.by_id("f-actions[0].task")).startswith("Action")
    assert page.by_id("f-photo/error").text == "This field is required."
    assert page.by_id("f-photo/help").text == "Show the problem."
