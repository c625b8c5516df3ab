"""Rendering: labelled, phone-friendly inputs that keep what was entered and show errors where they are."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest

from forms import FieldError, Form, render_form
from tests.forms.browser import Page

REFERENCE = "sha256:" + "ab" * 32

SEOUL = ZoneInfo("Asia/Seoul")  # the city's zone, as the app passes it


def page_of(
    properties: dict[str, Any],
    ui: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    errors: list[FieldError] | None = None,
    required: list[str] | None = None,
    **options: Any,
) -> Page:
    schema = {"type": "object", "title": "시험", "properties": properties, "required": required or []}
    form = Form.from_document({"schema": schema, "ui": ui or {}})
    return Page(str(render_form(form, data, errors, action="/tasks/7", csrf_token="t0k3n", **options, zone=SEOUL)))


ROW = {"type": "object", "properties": {"q": {"type": "integer", "title": "수량"}}}


@pytest.mark.parametrize(
    ("schema", "hints", "value", "control", "label", "shown"),
    [
        ({"type": "string"}, None, "보도블록 파손", "f-x", "항목", "보도블록 파손"),
        ({"type": "string"}, {"widget": "textarea"}, "첫 줄\n둘째 줄", "f-x", "항목", "첫 줄\n둘째 줄"),
        ({"type": "number"}, None, 12.5, "f-x", "항목", "12.5"),
        ({"type": "integer"}, None, 3000, "f-x", "항목", "3000"),
        ({"type": "boolean"}, None, True, "f-x", "항목", ["true"]),
        ({"type": "boolean"}, {"widget": "radio"}, False, "f-x", "예", ["false"]),
        ({"enum": ["a", "b", "c"]}, None, "b", "f-x", "항목", "b"),
        ({"enum": ["a", "b", "c"]}, {"widget": "radio"}, "c", "f-x", "a", ["c"]),
        ({"oneOf": [{"const": 1, "title": "하나"}, {"const": 2, "title": "둘"}]}, None, 2, "f-x", "항목", "2"),
        ({"type": "array", "items": {"enum": ["a", "b", "c"]}}, None, ["a", "c"], "f-x", "a", ["a", "c"]),
        ({"type": "string", "format": "date"}, None, "2025-03-14", "f-x", "항목", "2025-03-14"),
        ({"type": "string", "format": "date-time"}, None, "2025-03-14T00:30:00Z", "f-x", "항목", "2025-03-14T09:30"),
        ({"type": "string"}, {"widget": "photo"}, REFERENCE, "f-x", "항목", [REFERENCE]),
        ({"type": "object"}, {"widget": "location"}, {"lat": 37.2636, "lon": 127.0286}, "f-x.lat", "위도", "37.2636"),
        ({"type": "array", "items": ROW}, None, [{"q": 1}, {"q": 2}], "f-x[1].q", "수량", "2"),
        (ROW, None, {"q": 7}, "f-x.q", "수량", "7"),
    ],
)
def test_every_widget_kind_renders_with_its_label_and_keeps_its_value(
    schema: dict[str, Any], hints: dict[str, Any] | None, value: Any, control: str, label: str, shown: Any
) -> None:
    page = page_of({"x": {**schema, "title": "항목"}}, {"x": hints} if hints else {}, {"x": value})
    assert page.label_of(page.by_id(control)).startswith(label)
    assert page.value_of(control.removeprefix("f-")) == shown
    # the field's own label or legend is on the page too
    assert any(e.tag in ("label", "legend") and e.text.strip().startswith("항목") for e in page.live())


def test_every_control_has_a_label_and_no_id_is_used_twice(field_report: Form) -> None:
    page = Page(str(render_form(field_report, action="/t", csrf_token="x", zone=SEOUL)))
    ids = [e.get("id") for e in page.live() if e.get("id")]
    assert len(ids) == len(set(ids))
    for control in page.controls():
        assert page.label_of(control)


def test_required_fields_are_marked_for_eyes_screen_readers_and_the_browser() -> None:
    page = page_of({"title": {"type": "string", "title": "제목"}, "memo": {"type": "string"}}, required=["title"])
    title, memo = page.by_id("f-title"), page.by_id("f-memo")
    assert title.has("required") and title.get("aria-required") == "true"
    assert not memo.has("required") and not memo.has("aria-required")
    assert "*" in page.one("label", for_="f-title").text
    assert page.find("p", class_="cf-note")


def test_a_required_checkbox_is_not_forced_to_be_ticked_but_required_yes_no_radios_are() -> None:
    page = page_of(
        {"agree": {"type": "boolean"}, "urgent": {"type": "boolean"}}, {"urgent": {"widget": "radio"}}, required=["agree", "urgent"]
    )
    assert not page.by_id("f-agree").has("required")
    assert page.by_id("f-urgent").has("required")


def test_phones_get_the_right_keyboard_and_pickers() -> None:
    page = page_of(
        {
            "amount": {"type": "number"},
            "count": {"type": "integer"},
            "day": {"type": "string", "format": "date"},
            "at": {"type": "string", "format": "date-time"},
            "mail": {"type": "string", "format": "email"},
        }
    )
    assert (page.by_id("f-amount").get("type"), page.by_id("f-amount").get("inputmode")) == ("text", "decimal")
    assert page.by_id("f-count").get("inputmode") == "numeric"
    assert page.by_id("f-day").get("type") == "date"
    assert page.by_id("f-at").get("type") == "datetime-local"
    assert page.by_id("f-mail").get("type") == "email"


def test_a_photo_field_opens_the_camera_and_makes_the_form_multipart() -> None:
    page = page_of({"photo": {"type": "string"}}, {"photo": {"widget": "photo"}})
    photo = page.by_id("f-photo")
    assert (photo.get("type"), photo.get("accept"), photo.get("capture")) == ("file", "image/*", "environment")
    assert page.one("form").get("enctype") == "multipart/form-data"


def test_a_form_without_files_posts_plainly_with_its_csrf_token() -> None:
    page = page_of({"memo": {"type": "string"}})
    form = page.one("form")
    assert (form.get("method"), form.get("action"), form.get("enctype")) == ("post", "/tasks/7", None)
    assert page.one("input", name="csrf_token").attrs == {"type": "hidden", "name": "csrf_token", "value": "t0k3n"}
    assert "cf-form" in (form.get("class") or "")


def test_already_uploaded_files_are_noted_and_kept_unless_unticked() -> None:
    page = page_of(
        {"photos": {"type": "array", "items": {"type": "string", "contentMediaType": "image/jpeg"}}},
        data={"photos": [REFERENCE, "sha256:" + "cd" * 32]},
        required=["photos"],
    )
    assert page.value_of("photos") == [REFERENCE, "sha256:" + "cd" * 32]
    assert page.label_of(page.by_id("f-photos/kept0")) == "첨부된 파일 유지: 사진 1"  # never its reference
    upload = page.by_id("f-photos")
    assert upload.has("multiple") and not upload.has("required")  # a new upload is not needed any more


def test_errors_are_shown_next_to_their_field_and_summarised_at_the_top_with_links() -> None:
    errors = [FieldError("count", "정수를 입력하세요."), FieldError("items[1].q", "0 이상이어야 합니다.")]
    page = page_of(
        {"count": {"type": "integer", "title": "건수"}, "items": {"type": "array", "title": "품목", "items": ROW}},
        data={"count": "열두", "items": [{"q": 1}, {"q": -5}]},
        errors=errors,
    )
    count = page.by_id("f-count")
    assert count.get("aria-invalid") == "true"
    assert count.get("aria-describedby") == "f-count/error"
    assert page.by_id("f-count/error").text == "정수를 입력하세요."
    assert page.value_of("count") == "열두"
    assert page.by_id("f-items[1].q/error").text == "0 이상이어야 합니다."
    assert page.by_id("f-items[0].q").get("aria-invalid") is None

    summary = page.one("div", class_="cf-errors")
    assert summary.get("role") == "alert"
    links = [(e.get("href"), " ".join(e.text.split())) for e in page.live() if e.tag == "a"]
    assert links == [("#f-count", "건수: 정수를 입력하세요."), ("#f-items[1].q", "품목 2 › 수량: 0 이상이어야 합니다.")]
    assert all(page.by_id((href or "")[1:]) for href, _ in links)


def test_an_error_about_the_whole_form_is_summarised_without_a_link() -> None:
    page = page_of({"memo": {"type": "string"}}, errors=[FieldError("", "알 수 없는 항목이 있습니다: extra")])
    assert "알 수 없는 항목이 있습니다: extra" in page.one("div", class_="cf-errors").text
    assert not page.find("a")


def test_hostile_values_and_titles_are_escaped() -> None:
    hostile = '<script>alert("x")</script>'
    schema = {"type": "object", "title": hostile, "properties": {"memo": {"type": "string", "title": hostile}}}
    form = Form.from_document({"schema": schema, "ui": {"memo": {"widget": "textarea"}}})
    html = str(
        render_form(
            form,
            {"memo": hostile},
            [FieldError("memo", hostile)],
            action='/t"><script>',
            csrf_token='"><script>',
            submit_label=hostile,
            zone=SEOUL,
        )
    )
    assert "<script>alert" not in html
    # title, label, textarea, inline error, the summary's label and message, submit button
    assert html.count("&lt;script&gt;alert") == 7
    page = Page(html)
    assert page.one("form").get("action") == '/t"><script>'
    assert page.one("input", name="csrf_token").get("value") == '"><script>'
    assert page.value_of("memo") == hostile  # escaped, yet the user sees exactly what they typed


def test_the_save_draft_button_and_other_buttons_skip_the_browsers_checks() -> None:
    page = page_of({"memo": {"type": "string"}}, extra_buttons=["draft", ("hold", "보류")], submit_label="상신")
    buttons = [(b.get("name"), b.get("value"), b.text, b.has("formnovalidate")) for b in page.find("button")]
    assert buttons == [("action", "submit", "상신", False), ("action", "draft", "임시 저장", True), ("action", "hold", "보류", True)]


def test_english_pages_say_everything_in_english() -> None:
    schema = {"type": "object", "required": ["urgent"], "properties": {"urgent": {"type": "boolean", "title": "긴급"}}}
    form = Form.from_document({"schema": schema, "ui": {"urgent": {"widget": "radio", "label": {"en": "Urgent"}}}})
    page = Page(str(render_form(form, action="/t", csrf_token="x", locale="en", extra_buttons=["draft"], zone=SEOUL)))
    assert [page.label_of(page.by_id(i)) for i in ("f-urgent", "f-urgent/false")] == ["Yes", "No"]
    assert "Urgent" in page.one("legend").text
    assert [b.text for b in page.find("button")] == ["Submit", "Save draft"]


def test_a_group_shows_its_rows_a_blank_row_for_the_script_and_an_add_button_that_works_without_it() -> None:
    page = page_of({"items": {"type": "array", "title": "품목", "items": ROW}}, data={"items": [{"q": 1}, {"q": 2}]})
    rows = page.find("fieldset", class_="cf-row")
    assert [" ".join(row.text.split()).startswith(f"품목 {n}") for n, row in enumerate(rows, 1)] == [True, True]
    assert page.find("input", name="items[1].__remove__", type="checkbox")
    add = page.one("button", name="__add__")
    assert (add.get("value"), add.get("type"), add.has("formnovalidate")) == ("items", "submit", True)
    assert page.one("fieldset", class_="cf-field cf-group").get("data-cf-next") == "2"
    blank = [e for e in page.elements if e.in_template and e.get("name") == "items[__i0__].q"]
    assert len(blank) == 1
    assert page.find("script")


def test_a_new_form_offers_one_blank_row_and_the_schemas_defaults() -> None:
    page = page_of(
        {"items": {"type": "array", "items": ROW}, "city": {"type": "string", "default": "수원시"}},
    )
    assert page.value_of("items[0].q") == ""
    assert page.value_of("city") == "수원시"


def test_a_location_has_a_hidden_button_the_script_shows_when_the_phone_can_locate() -> None:
    page = page_of({"site": {"type": "object"}}, {"site": {"widget": "location"}})
    button = page.one("button", type="button")
    assert button.has("data-cf-locate") and button.has("hidden")
    assert page.by_id("f-site.lat").has("data-cf-lat") and page.by_id("f-site.lon").has("data-cf-lon")
    assert page.by_id("f-site.lat").get("inputmode") == "decimal"


def test_a_script_nonce_is_put_on_the_script() -> None:
    page = page_of({"items": {"type": "array", "items": ROW}}, script_nonce="n0nce")
    assert page.one("script").get("nonce") == "n0nce"


def test_rendering_survives_data_of_the_wrong_shape() -> None:
    properties = {
        "items": {"type": "array", "items": ROW},
        "site": {"type": "object"},
        "tags": {"type": "array", "items": {"enum": ["a"]}},
        "photo": {"type": "string", "contentMediaType": "image/png"},
        "at": {"type": "string", "format": "date-time"},
        "n": {"type": "number"},
    }
    ui = {"site": {"widget": "location"}}
    for junk in (None, 0, "x", [], {}, [None], {"a": 1}, float("nan")):
        page = page_of(properties, ui, data=dict.fromkeys(properties, junk))
        assert page.find("form")
