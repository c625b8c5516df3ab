"""People and departments on a form: chosen from the organisation, posted as a username or a name,
kept as the organisation says they are."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import lxml.html
import pytest

from forms import FieldError, Form, FormError, parse_submission, render_form
from forms.organisation import normalize

SEOUL = ZoneInfo("Asia/Seoul")


class City:
    """A small organisation: two departments of one bureau, and a mayor's office."""

    PEOPLE: ClassVar[list[dict[str, Any]]] = [
        {"user": "roads.chief", "name": "김과장", "position": "과장", "rank": 3, "department": "도로과"},
        {"user": "roads.lead", "name": "김팀장", "position": "팀장", "rank": 2, "department": "도로과"},
        {"user": "traffic.chief", "name": "이과장", "position": "과장", "rank": 3, "department": "교통정책과"},
        {"user": "mayor", "name": "홍길동", "position": "시장", "rank": 6, "department": "시장실"},
    ]
    UNITS: ClassVar[list[dict[str, Any]]] = [{"name": "시장실", "kind": "실", "parent": None}, {"name": "안전교통국", "kind": "국", "parent": None},
             {"name": "교통정책과", "kind": "과", "parent": "안전교통국"}, {"name": "도로과", "kind": "과", "parent": "안전교통국"}]

    def persons(self, usernames: Collection[str]) -> Mapping[str, Mapping[str, Any]]:
        return {p["user"]: p for p in self.PEOPLE if p["user"] in usernames}

    def has_department(self, name: str) -> bool:
        return any(u["name"] == name for u in self.UNITS)

    def people(self) -> Sequence[Mapping[str, Any]]:
        return self.PEOPLE

    def departments(self) -> Sequence[Mapping[str, Any]]:
        return self.UNITS


PERSON = {"type": "object", "required": ["user"], "properties": {"user": {"type": "string"}}}
FORM = Form.from_document({
    "schema": {"type": "object", "properties": {
        "reviewer": PERSON,
        "lead": {"type": "string"},
        "support": {"type": "array", "items": {"type": "string"}},
        "line": {"type": "array", "items": {"type": "object", "properties": {
            "kind": {"type": "string", "enum": ["검토", "협조"]},
            "people": {"type": "array", "items": PERSON}}}},
    }},
    "ui": {"reviewer": {"widget": "person", "label": "검토자"}, "lead": {"widget": "department", "label": "주관부서"},
           "support": {"widget": "department"}, "line": {"fields": {"people": {"widget": "person", "label": "결재자"}}},
           "submit": {"ko": "상신", "en": "Submit for approval"}},
})


def fields_of(form: Form) -> list[tuple[str, str, bool]]:
    found = []
    for field in form.fields:
        found.append((field.name, field.kind, field.multiple))
        found += [(f"{field.name}.{sub.name}", sub.kind, sub.multiple) for sub in field.fields]
    return found


def test_person_and_department_fields_are_read_as_pickers_one_or_several() -> None:
    assert fields_of(FORM) == [("reviewer", "person", False), ("lead", "department", False),
                               ("support", "department", True), ("line", "group", False),
                               ("line.kind", "select", False), ("line.people", "person", True)]
    assert (FORM.submit_label, FORM.localized("en").submit_label) == ("상신", "Submit for approval")


@pytest.mark.parametrize(("widget", "schema"), [
    ("person", {"type": "string"}), ("person", {"type": "array", "items": {"type": "integer"}}),
    ("department", {"type": "object", "properties": {}}), ("department", {"type": "array", "items": PERSON}),
])
def test_a_picker_over_values_it_cannot_hold_is_no_usable_form(widget: str, schema: dict[str, Any]) -> None:
    with pytest.raises(FormError, match=widget):
        Form.from_document({"schema": {"type": "object", "properties": {"who": schema}},
                            "ui": {"who": {"widget": widget}}})


def test_a_browser_posts_usernames_and_names_and_the_order_chosen_is_kept() -> None:
    posted = {"reviewer": ["roads.lead"], "lead": ["도로과"], "support": ["교통정책과", "도로과", "교통정책과"],
              "line[0].__row__": [""], "line[0].kind": ["협조"], "line[0].people": ["traffic.chief", "roads.chief"],
              "line[1].__row__": [""], "line[1].kind": [""], "line[1].people": []}
    data = parse_submission(FORM, posted, zone=SEOUL).data
    assert data == {"reviewer": {"user": "roads.lead"}, "lead": "도로과", "support": ["교통정책과", "도로과"],
                    "line": [{"kind": "협조", "people": [{"user": "traffic.chief"}, {"user": "roads.chief"}]}]}


def test_the_organisation_fills_in_who_was_chosen_so_a_forged_rank_or_name_is_replaced() -> None:
    sent = {"reviewer": {"user": "roads.lead", "rank": 6, "name": "시장"}, "lead": "도로과",
            "line": [{"kind": "협조", "people": ["traffic.chief", {"user": "roads.chief", "rank": 9}]}]}
    kept, errors = normalize(FORM, sent, City())
    assert errors == []
    assert kept["reviewer"] == City.PEOPLE[1]
    assert kept["line"][0]["people"] == [City.PEOPLE[2], City.PEOPLE[0]]
    assert sent["reviewer"] == {"user": "roads.lead", "rank": 6, "name": "시장"}, "what was sent is left alone"


def test_someone_or_a_department_the_organisation_does_not_have_is_refused_at_its_field() -> None:
    sent = {"reviewer": {"user": "somebody"}, "lead": "교통과", "support": ["도로과", "없는과"],
            "line": [{"kind": "협조", "people": [{"user": "roads.lead"}, {"user": "roads.lead"}]},
                     {"kind": "검토", "people": [{"user": "gone.person"}]}]}
    kept, errors = normalize(FORM, sent, City(), locale="ko")
    assert errors == [FieldError("reviewer", "조직도에 없는 사람입니다."), FieldError("lead", "조직도에 없는 부서입니다."),
                      FieldError("support", "조직도에 없는 부서입니다."),
                      FieldError("line[0].people", "같은 사람을 두 번 고를 수 없습니다."),
                      FieldError("line[1].people", "조직도에 없는 사람입니다.")]
    assert kept["reviewer"] == {"user": "somebody"}
    english = normalize(FORM, {"lead": "교통과"}, City(), locale="en")[1]
    assert english == [FieldError("lead", "This department is not in the organisation.")]


def test_without_script_a_person_is_chosen_from_the_organisation_department_by_department() -> None:
    data = {"reviewer": {"user": "traffic.chief", "name": "이과장", "position": "과장", "department": "교통정책과"},
            "lead": "도로과"}
    html = str(render_form(FORM, data, action="/start", csrf_token="t", zone=SEOUL, organisation=City()))
    page = lxml.html.fromstring(html)
    reviewer = page.xpath("//select[@name='reviewer']")[0]
    assert reviewer.get("data-cf-picker") == "person"
    assert [(g.get("label"), g.xpath("option/text()")) for g in reviewer.xpath("optgroup")] == [
        ("선택한 항목", ["이과장"]), ("도로과", ["김과장", "김팀장"]), ("시장실", ["홍길동 · 시장"])]
    assert reviewer.xpath("optgroup/option[@selected]/@value") == ["traffic.chief"]
    lead = page.xpath("//select[@name='lead']")[0]
    assert lead.xpath("option/text()") == ["선택하세요", "시장실", "안전교통국"]
    assert [(g.get("label"), g.xpath("option/text()")) for g in lead.xpath("optgroup")] == [
        ("선택한 항목", ["도로과"]), ("안전교통국", ["교통정책과"])]
    assert "roads" not in " ".join(page.xpath("//select//text()")), "people by name, never by login"


def test_without_the_organisation_at_hand_the_chosen_ones_are_kept_and_a_script_finds_the_rest() -> None:
    line = [{"kind": "협조", "people": [City.PEOPLE[2], {"user": "left.city", "name": "최주무관"}]}]
    page = lxml.html.fromstring(str(render_form(FORM, {"line": line}, action="/t", csrf_token="t", zone=SEOUL)))
    people = page.xpath("//select[@name='line[0].people']")[0]
    assert people.get("multiple") is not None
    assert people.xpath(".//option[@selected]/text()") == ["이과장", "최주무관"]  # a name that says the position once
    assert people.xpath(".//option/@value") == ["traffic.chief", "left.city"]
