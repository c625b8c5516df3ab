"""A process's view of its cases (view.html) runs in a sandbox; a process without one reads in its
labels; a case stopped by an error can be cancelled from its page and leaves the inbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lxml.html
import pytest
from fastapi.testclient import TestClient

from engine import definitions
from engine.db import Database
from tests.api.conftest import Api
from tests.api.test_pages import hidden, log_in

NOTE_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="note_definitions" targetNamespace="http://cityflow.test">
  <bpmn:process id="{key}" name="업무 메모" isExecutable="true">
    <bpmn:startEvent id="noted"><bpmn:outgoing>to_check</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check_note" name="메모 확인" camunda:formKey="forms/check_note.json">
      <bpmn:incoming>to_check</bpmn:incoming><bpmn:outgoing>to_end</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="done"><bpmn:incoming>to_end</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="to_check" sourceRef="noted" targetRef="check_note" />
    <bpmn:sequenceFlow id="to_end" sourceRef="check_note" targetRef="done" />
  </bpmn:process>
</bpmn:definitions>
"""
NOTE_FORM = """{"schema": {"type": "object", "properties": {
  "checked": {"type": "boolean", "title": "확인함"},
  "urgency": {"type": "string", "title": "긴급도", "enum": ["high", "low"]}}},
 "ui": {"checked": {"label": {"ko": "확인함", "en": "Checked"}},
        "urgency": {"label": {"ko": "긴급도", "en": "Urgency"},
                    "labels": {"high": {"ko": "높음", "en": "High"}, "low": {"ko": "낮음", "en": "Low"}}}}}"""
NOTE_LABELS = """{"fields": {"memo": {"ko": "메모 내용", "en": "Memo"}, "due": {"ko": "기한", "en": "Due"},
  "owner": {"ko": "담당자", "en": "Owner"}, "steps": {"ko": "할 일", "en": "To do"}}}"""
BROKEN_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="broken_definitions"
    targetNamespace="http://cityflow.test">
  <bpmn:process id="broken" name="고장 난 계산" isExecutable="true">
    <bpmn:startEvent id="begun"><bpmn:outgoing>to_sum</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="sum_up" name="합계 계산" scriptFormat="python">
      <bpmn:incoming>to_sum</bpmn:incoming><bpmn:outgoing>to_end</bpmn:outgoing>
      <bpmn:script>total = missing + 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="ended"><bpmn:incoming>to_end</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="to_sum" sourceRef="begun" targetRef="sum_up" />
    <bpmn:sequenceFlow id="to_end" sourceRef="sum_up" targetRef="ended" />
  </bpmn:process>
</bpmn:definitions>
"""
MEMO = {"memo": "첫 줄\n둘째 줄", "due": "2026-12-07T09:30:00+00:00", "owner": "roads.lead", "urgent": True,
        "steps": ["현장 확인", "보고"], "internal_code": "X-17"}


def deploy(database: Database, folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    with database.unit_of_work() as session:
        checked = definitions.check(definitions.read_source(folder))
        assert not checked.problems, checked.problems
        definitions.deploy(session, checked, "designer")


def note_process(database: Database, tmp_path: Path, view: str | None) -> None:
    files = {"note.bpmn": NOTE_BPMN.format(key="note"), "forms/check_note.json": NOTE_FORM, "labels.json": NOTE_LABELS}
    if view is not None:
        files["view.html"] = view
    deploy(database, tmp_path / "note", files)


def page_of(client: TestClient, username: str, path: str) -> Any:
    client.cookies.clear()
    assert log_in(client, username).status_code == 303  # type: ignore[attr-defined]
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    return lxml.html.fromstring(answer.text)


def document_of(page: Any) -> Any:
    (found,) = page.xpath("//section[contains(@class, 'cf-document')]")
    return found


def facts(node: Any) -> dict[str, str]:
    (found,) = node.xpath(".//dl[@class='cf-data']")
    return dict(zip((" ".join(dt.text_content().split()) for dt in found.xpath("./dt")),
                    (" ".join(dd.text_content().split()) for dd in found.xpath("./dd")), strict=True))


# -- the sandbox ---------------------------------------------------------------------------------


@pytest.mark.parametrize("escape", [
    "{{ ''.__class__.__mro__ }}",
    "{{ data.__class__ }}",
    "{{ person.__call__.__globals__ }}",
    "{% set _ = data.update({'memo': 'changed'}) %}",
    "{{ data.steps.append('more') }}",
])
def test_a_view_cannot_reach_python_internals_and_the_page_still_reads(
    api: Api, client: TestClient, database: Database, tmp_path: Path, escape: str
) -> None:
    note_process(database, tmp_path, "<p>{{ data.memo }}</p>\n" + escape + "\n")
    instance = api.start("roads.staff", "note", MEMO)
    for username, shows_detail in (("admin", True), ("auditor", True), ("roads.staff", False)):
        page = page_of(client, username, f"/instances/{instance['id']}")
        shown = document_of(page)
        problem = shown.xpath(".//*[contains(@class, 'cf-view-problem')]")
        if shows_detail:
            (told,) = problem
            assert "workflows/note/view.html:2:" in told.text_content()
            assert "refused by the sandbox" in told.text_content() or "SecurityError" in told.text_content()
        else:
            assert not problem
            assert "기본 보기" in shown.text_content()
        assert facts(shown)["메모 내용"] == "첫 줄 둘째 줄"  # the readable default instead
    assert api.call("GET", f"/api/instances/{instance['id']}", "auditor").json()["data"]["memo"] == MEMO["memo"]


def test_a_view_with_a_syntax_error_is_named_with_its_line(
    api: Api, client: TestClient, database: Database, tmp_path: Path
) -> None:
    note_process(database, tmp_path, "<p>{{ data.memo }}</p>\n<p>{% if data.memo %}</p>\n")
    instance = api.start("roads.staff", "note", MEMO)
    page = page_of(client, "admin", f"/instances/{instance['id']}")
    (told,) = document_of(page).xpath(".//*[contains(@class, 'cf-view-problem')]")
    assert "workflows/note/view.html:" in told.text_content()
    assert "endif" in told.text_content()


def test_a_view_has_helpers_for_people_times_labels_lines_and_stamps(
    api: Api, client: TestClient, database: Database, tmp_path: Path
) -> None:
    view = """<h2 class="t">{{ label('memo') }}</h2><div class="memo">{{ data.memo|lines }}</div>
<p class="owner">{{ person(data.owner) }}</p><p class="due">{{ local(data.due, '%Y-%m-%d %H:%M') }}</p>
<p class="won">{{ 12500000|won }}</p><p class="stamp">{{ stamp(name(data.owner)) }}</p>
<p class="lang">{{ t('한국어', 'English') }}</p><p class="missing">[{{ data.nothing_here.deeper }}]</p>
<p class="value">{{ value('urgency', 'high') }}</p><p class="escaped">{{ '<b>bold</b>' }}</p>"""
    note_process(database, tmp_path, view)
    instance = api.start("roads.staff", "note", MEMO)
    page = page_of(client, "roads.staff", f"/instances/{instance['id']}")
    shown = document_of(page)

    def text(css: str) -> str:
        return " ".join(shown.xpath(f".//*[@class='{css}']")[0].text_content().split())

    assert text("t") == "메모 내용"
    assert len(shown.xpath(".//div[@class='memo']/br")) == 1
    assert text("owner") == "김팀장"
    assert text("due") == "2026-12-07 18:30"  # Seoul
    assert text("won") == "12,500,000원"
    assert shown.xpath(".//p[@class='stamp']/span[contains(@class, 'cf-stamp')]")[0].text_content() == "김팀장"
    assert text("lang") == "한국어"
    assert text("missing") == "[]"
    assert text("value") == "높음"
    assert text("escaped") == "<b>bold</b>"  # autoescaped: shown, never markup


def test_a_process_without_a_view_reads_in_its_labels_with_values_in_words(
    api: Api, client: TestClient, database: Database, tmp_path: Path
) -> None:
    note_process(database, tmp_path, None)
    instance = api.start("roads.staff", "note", MEMO)
    page = page_of(client, "roads.staff", f"/instances/{instance['id']}")
    told = facts(document_of(page))
    assert told == {"메모 내용": "첫 줄 둘째 줄", "기한": "2026-12-07 18:30", "담당자": "김팀장", "할 일": "현장 확인, 보고"}
    (memo,) = [dd for dd in document_of(page).xpath(".//dd") if "첫 줄" in dd.text_content()]
    assert len(memo.xpath("./br")) == 1  # the text keeps its line break
    task = api.only_task(instance)
    api.call("POST", f"/api/tasks/{task['id']}/complete", "roads.staff", json={"data": {"checked": True, "urgency": "high"}})
    page = page_of(client, "roads.staff", f"/instances/{instance['id']}?lang=en")
    told = facts(document_of(page))
    assert told["Checked"] == "Yes"
    assert told["Urgency"] == "High"
    assert "internal_code" not in lxml.html.tostring(page, encoding="unicode")  # no label: not shown to staff


# -- errors and endings --------------------------------------------------------------------------------


def test_a_case_stopped_by_an_error_is_cancelled_from_its_page_and_leaves_the_inbox(
    api: Api, client: TestClient, database: Database, tmp_path: Path
) -> None:
    deploy(database, tmp_path / "broken", {"broken.bpmn": BROKEN_BPMN})
    broken = api.start("roads.staff", "broken", {"title": "고장 난 계산 건"})
    assert broken["status"] == "error"
    running = api.start("roads.staff", "suggestion", {"title": "공원 벤치 추가", "supporters": 3})
    inbox = page_of(client, "roads.staff", "/")
    started = [" ".join(a.text_content().split()) for a in inbox.xpath("//section[@aria-labelledby='started']//a")]
    assert any("고장 난 계산 건" in item and "오류" in item for item in started)  # its state is said
    assert any("공원 벤치 추가" in item for item in started)

    case = client.get(f"/instances/{broken['id']}")
    form = lxml.html.fromstring(case.text).xpath(f"//form[@action='/instances/{broken['id']}/cancel']")
    assert form, "an errored case offers its starter the cancel form"
    cancelled = client.post(f"/instances/{broken['id']}/cancel", data={"csrf_token": hidden(case.text),
                                                                        "reason": "잘못된 절차"},
                            follow_redirects=False)
    assert cancelled.status_code == 303
    assert api.call("GET", f"/api/instances/{broken['id']}", "roads.staff").json()["status"] == "cancelled"
    page = lxml.html.fromstring(client.get(f"/instances/{broken['id']}").text)
    assert page.xpath("//span[contains(@class, 'cf-status')]")[0].text_content().strip() == "취소"
    assert not page.xpath("//p[@class='cf-errors']")  # a cancelled case no longer says it is stopped

    inbox = lxml.html.fromstring(client.get("/").text)
    started = [" ".join(a.text_content().split()) for a in inbox.xpath("//section[@aria-labelledby='started']//a")]
    assert not any("고장 난 계산 건" in item for item in started)
    assert any("공원 벤치 추가" in item for item in started)
    assert running["status"] == "running"


def test_someone_who_did_not_start_a_case_is_not_offered_its_cancel_form(
    api: Api, client: TestClient, database: Database, tmp_path: Path
) -> None:
    deploy(database, tmp_path / "broken", {"broken.bpmn": BROKEN_BPMN})
    broken = api.start("roads.staff", "broken", {"title": "고장 난 계산 건"})
    page = page_of(client, "auditor", f"/instances/{broken['id']}")
    assert not page.xpath(f"//form[@action='/instances/{broken['id']}/cancel']")
