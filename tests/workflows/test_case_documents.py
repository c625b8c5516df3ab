"""Cases read as documents on the pages, as the demo city hall's people see them: a 전자결재 with its
문서번호 and 결재란, a withdrawn and a returned one, the print view and its PDF; a directive as the
mayor gave it; what staff never see (keys, None, True, escapes, logins) and what auditors do."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import lxml.html
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from engine import identity
from tests.api.test_pages import log_in
from tests.images import jpeg
from tests.workflows.conftest import City

BODY = "1. 목적\n시청 앞 보도의 파손 구간을 정비합니다.\n\n2. 내용\n- 구간: 시청 정문 ~ 중앙로 120m"
LOGINS = ("roads.staff", "roads.lead", "roads.chief", "traffic.chief", "welfare.chief", "safety.director", "mayor",
          "planning.staff", "auditor")
# Keys of the approval's data that people never read on a page (the view and the history use labels).
KEYS = ("doc_type", "document_number", "approval_kind", "step_index", "line_problems", "skipped_steps",
        "returned_by", "return_comment", "final_rank", "approval_marks", "step_approvers", "completed_by")


def step(kind: str, *users: str) -> dict[str, Any]:
    return {"kind": kind, "people": [{"user": user} for user in users]}


def submit(city: City, **changes: Any) -> str:
    # 예산 1,250만원: the delegation rules give the final approval to a 과장 (rank 3)
    document = {"title": "시청 앞 보도 정비 계획", "body": BODY, "doc_type": "예산", "amount": 12_500_000,
                "line": [step("검토", "roads.lead"), step("협조", "traffic.chief", "welfare.chief"),
                         step("검토", "roads.chief"), step("결재", "safety.director")]}
    instance_id: str = city.api.start("roads.staff", "approval", {**document, **changes})["id"]
    return instance_id


def approve_with_delegation(city: City) -> str:
    iid = submit(city)
    city.complete("roads.lead", iid, "review", {"decision": "승인", "comment": "구간을 확인했습니다.\n이상 없습니다."})
    city.complete("traffic.chief", iid, "concur", {"decision": "승인", "comment": "교통 통제에 협조하겠습니다."})
    city.complete("welfare.chief", iid, "concur", {"decision": "승인"})
    city.complete("roads.chief", iid, "approve", {"decision": "결재", "comment": "전결 처리합니다."})
    city.work()  # 결재일시 기록 runs in the worker
    return iid


class Browser:
    """The web pages as one person at a time (a session cookie, as a browser keeps it)."""

    def __init__(self, client: TestClient) -> None:
        self.client, self.who = client, ""

    def get(self, username: str, path: str) -> Any:
        if username != self.who:
            self.client.cookies.clear()
            assert log_in(self.client, username).status_code == 303  # type: ignore[attr-defined]
            self.who = username
        return self.client.get(path)

    def page(self, username: str, path: str) -> Any:
        answer = self.get(username, path)
        assert answer.status_code == 200, answer.text
        return lxml.html.fromstring(answer.text)


@pytest.fixture
def browser(city: City) -> Browser:
    return Browser(city.api.client)


def document(page: Any) -> Any:
    (found,) = page.xpath("//section[contains(@class, 'cf-document')]")
    return found


def seats(page: Any) -> list[tuple[str, str, str, bool, str]]:
    """The 결재란 as read: (position, name, action, stamped, date) of each signer, in order."""
    found = []
    for seat in document(page).xpath(".//li[contains(@class, 'cf-seat ')]"):
        def text(css: str, seat: Any = seat) -> str:
            return " ".join(" ".join(node.text_content().split()) for node in seat.xpath(f".//*[@class='{css}']"))
        found.append((text("cf-seat-position"), text("cf-seat-name"), text("cf-seat-action"),
                      bool(seat.xpath(".//*[contains(@class, 'cf-stamp')]")), text("cf-seat-date")))
    return found


def lines_of(node: Any) -> list[str]:
    """A text as the page breaks it into lines (<br>), blank lines left out."""
    html = lxml.html.tostring(node, encoding="unicode")
    parts = re.split(r"<br\s*/?>", html)
    return [" ".join(lxml.html.fromstring(f"<div>{part}</div>").text_content().split()) for part in parts
            if lxml.html.fromstring(f"<div>{part}</div>").text_content().strip()]


def readable_text(page: Any) -> str:
    """What a person reads on the page: the main part's text, without the diagram's drawing."""
    (main,) = page.xpath("//main")
    for drawn in main.xpath(".//svg | .//script | .//style"):
        drawn.getparent().remove(drawn)
    return str(main.text_content())


def assert_reads_as_words(text: str) -> None:
    for word in ("None", "True", "False", "\\u", "null", "[]", "{}"):
        assert word not in text, f"{word!r} on the page"
    for login in LOGINS:
        assert not re.search(rf"(?<![\w.]){re.escape(login)}(?![\w.])", text), f"the login {login} on the page"
    for key in KEYS:
        assert key not in text, f"the data key {key} on the page"


# -- the approved document ---------------------------------------------------------------------


def test_an_approved_document_shows_its_number_and_a_sign_off_box_with_the_chiefs_delegated_approval(
    city: City, browser: Browser
) -> None:
    iid = approve_with_delegation(city)
    number = city.instance(iid)["data"]["document_number"]
    page = browser.page("roads.staff", f"/instances/{iid}")
    shown = document(page).text_content()
    assert number in shown
    assert "12,500,000원" in shown
    assert seats(page) == [
        ("주무관", "김주무관", "기안", True, "12.07"),
        ("팀장", "김팀장", "검토", True, "12.07"),
        ("과장", "이과장", "협조", True, "12.07"),
        ("과장", "박과장", "협조", True, "12.07"),
        ("과장", "김과장", "전결", True, "12.07"),
        ("국장", "안전교통국장", "생략", False, ""),  # skipped after the 전결: no seal
    ]
    assert [" ".join(s.text_content().split()) for s in page.xpath("//*[contains(@class, 'cf-stamp')]")][:2] == [
        "김주무관", "김팀장"]
    (status,) = page.xpath("//p[@class='cf-meta']/span[contains(@class, 'cf-status')]")
    assert status.text_content().strip() == "결재 완료"
    assert "기안: 김주무관" in page.xpath("//p[@class='cf-meta']")[0].text_content()
    assert_reads_as_words(readable_text(page))


def test_the_body_keeps_its_lines_and_the_opinions_name_who_gave_them(city: City, browser: Browser) -> None:
    iid = approve_with_delegation(city)
    page = browser.page("roads.lead", f"/instances/{iid}")
    (body,) = document(page).xpath(".//section[@class='cf-doc-body']")
    assert lines_of(body) == ["1. 목적", "시청 앞 보도의 파손 구간을 정비합니다.", "2. 내용",
                              "- 구간: 시청 정문 ~ 중앙로 120m"]
    opinions = [" ".join(item.text_content().split()) for item in document(page).xpath(".//ol[@class='cf-doc-list']/li")]
    assert opinions[0].startswith("검토 · 김팀장 · 승인")
    assert opinions[0].endswith("구간을 확인했습니다. 이상 없습니다.")
    assert "전결 처리합니다." in opinions[-1]


def test_the_approved_document_reads_in_english_too(city: City, browser: Browser) -> None:
    iid = approve_with_delegation(city)
    page = browser.page("roads.staff", f"/instances/{iid}?lang=en")
    shown = " ".join(document(page).text_content().split())
    assert "Document no." in shown
    assert "Delegated approval" in shown
    assert "12,500,000원" in shown
    (status,) = page.xpath("//p[@class='cf-meta']/span[contains(@class, 'cf-status')]")
    assert status.text_content().strip() == "Approved"


# -- what staff read, and what auditors read besides ----------------------------------------------


def test_a_reviewer_reads_the_document_on_the_task_page_in_words_before_the_form(city: City, browser: Browser) -> None:
    iid = submit(city)
    task = city.task("roads.lead", iid, "review")
    page = browser.page("roads.lead", f"/tasks/{task['id']}")
    (main,) = page.xpath("//main")
    order = [element.get("class") for element in main.xpath("./section[contains(@class, 'cf-document')] | ./form")]
    assert order[0] == "cf-document"  # the document comes first, the form after it
    shown = document(page).text_content()
    assert "시청 앞 보도 정비 계획" in shown
    assert "결재 후 부여" in shown  # no number before the approval
    assert [s[:3] for s in seats(page)][:2] == [("주무관", "김주무관", "기안"), ("팀장", "김팀장", "대기")]
    assert not page.xpath("//details[contains(@class, 'cf-raw')]")
    assert_reads_as_words(readable_text(page))


def test_the_history_names_people_and_labels_what_changed_and_comments_name_their_author(
    city: City, browser: Browser
) -> None:
    iid = approve_with_delegation(city)
    city.api.call("POST", f"/api/instances/{iid}/comments", "roads.lead", json={"body": "수고하셨습니다."})
    page = browser.page("roads.staff", f"/instances/{iid}")
    history = [" ".join(item.text_content().split()) for item in page.xpath("//ol[@class='cf-history']/li")]
    assert "김주무관 시작" in history[0]
    assert "문서 종류: — → 예산" in history[0]
    assert any("결정: — → 승인" in line and "김팀장" in line for line in history)
    assert any("문서번호:" in line for line in history)
    assert len(history) < 30  # the engine's own steps (scripts, gateways) are left out for staff
    (comment,) = page.xpath("//article[@class='cf-comment']/p[@class='cf-meta']")
    assert comment.text_content().startswith("김팀장 ·")
    assert_reads_as_words(readable_text(page))


def test_an_auditor_sees_the_stored_data_folded_and_unescaped_and_staff_do_not(city: City, browser: Browser) -> None:
    iid = approve_with_delegation(city)
    audited = browser.page("auditor", f"/instances/{iid}")
    (raw,) = audited.xpath("//details[contains(@class, 'cf-raw')]")
    assert raw.get("open") is None  # folded
    stored = raw.xpath(".//pre")[0].text_content()
    assert '"document_number"' in stored
    assert "시청 앞 보도 정비 계획" in stored
    assert "\\u" not in stored
    history = " ".join(audited.xpath("//ol[@class='cf-history']")[0].text_content().split())
    assert "step_index" not in history  # the case's history reads the same for everyone …
    assert audited.xpath(f"//a[@href='/audit/cases/{iid}']")  # … and the whole trail is in the auditor's workspace
    staff = browser.page("roads.chief", f"/instances/{iid}")
    assert not staff.xpath("//details[contains(@class, 'cf-raw')]")
    assert '"document_number"' not in lxml.html.tostring(staff, encoding="unicode")


# -- documents that did not go through -----------------------------------------------------------


def test_a_withdrawn_document_says_it_was_withdrawn_not_completed(city: City, browser: Browser) -> None:
    iid = submit(city)
    city.complete("roads.staff", iid, "withdraw", {"confirm_withdraw": True, "withdraw_reason": "첨부 누락"})
    city.work()
    assert city.instance(iid)["status"] == "completed"
    page = browser.page("roads.staff", f"/instances/{iid}")
    (status,) = page.xpath("//p[@class='cf-meta']/span[contains(@class, 'cf-status')]")
    assert status.text_content().strip() == "회수"
    (banner,) = document(page).xpath(".//*[contains(@class, 'cf-doc-banner')]")
    assert " ".join(banner.text_content().split()) == "회수된 문서입니다 — 첨부 누락"
    assert "완료" not in status.text_content()


def test_a_returned_document_says_who_returned_it_and_why(city: City, browser: Browser) -> None:
    iid = submit(city)
    city.complete("roads.lead", iid, "review", {"decision": "반려", "comment": "예산 과목을 확인해 주세요.\n산출 근거도 붙여 주세요."})
    page = browser.page("roads.staff", f"/instances/{iid}")
    (status,) = page.xpath("//p[@class='cf-meta']/span[contains(@class, 'cf-status')]")
    assert status.text_content().strip() == "진행 중 · 반려"
    (banner,) = document(page).xpath(".//*[contains(@class, 'cf-doc-banner')]")
    assert lines_of(banner) == ["반려된 문서입니다 — 김팀장: 예산 과목을 확인해 주세요.", "산출 근거도 붙여 주세요."]
    assert seats(page)[1][:4] == ("팀장", "김팀장", "반려", False)


# -- print and PDF ------------------------------------------------------------------------------------


def test_the_print_view_is_an_a4_document_without_the_site_around_it(city: City, browser: Browser) -> None:
    iid = approve_with_delegation(city)
    answer = browser.get("roads.staff", f"/instances/{iid}/print")
    assert answer.status_code == 200
    assert "size: A4" in answer.text
    assert "@media print" in answer.text
    page = lxml.html.fromstring(answer.text)
    assert not page.xpath("//header[contains(@class, 'cf-header')] | //nav")
    assert city.instance(iid)["data"]["document_number"] in document_text(page)
    assert [s[2] for s in seats(page)] == ["기안", "검토", "협조", "협조", "전결", "생략"]
    case_page = browser.page("roads.staff", f"/instances/{iid}")
    links = {a.text_content().strip(): a.get("href") for a in case_page.xpath("//p[contains(@class, 'cf-print-links')]/a")}
    assert links == {"인쇄": f"/instances/{iid}/print", "PDF": f"/instances/{iid}/document.pdf"}


def document_text(page: Any) -> str:
    return " ".join(page.xpath("//main")[0].text_content().split())


def test_the_pdf_of_an_approved_document_carries_its_number_and_title(city: City, browser: Browser) -> None:
    iid = approve_with_delegation(city)
    number = city.instance(iid)["data"]["document_number"]
    answer = browser.get("roads.lead", f"/instances/{iid}/document.pdf")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)
    flat = "".join(text.split())
    assert number in flat
    assert "시청앞보도정비계획" in flat
    assert "전결" in flat


def test_only_those_who_may_read_the_case_print_it(city: City, browser: Browser) -> None:
    iid = submit(city)
    for path in (f"/instances/{iid}/print", f"/instances/{iid}/document.pdf"):
        assert browser.get("recycling.staff", path).status_code == 403
        assert browser.get("auditor", path).status_code == 200


# -- a directive -------------------------------------------------------------------------------------


def test_a_directive_reads_as_the_mayor_gave_it_on_its_task_pages(city: City, browser: Browser) -> None:
    iid = city.api.start("mayor", "directive", {"title": "횡단보도 조명 개선"})["id"]
    city.complete("mayor", iid, "register_directive", {
        "title": "횡단보도 조명 개선", "content": "야간에 시청 앞 횡단보도가 어둡습니다.\n조명을 보강하고 보고하세요.",
        "issuer": "mayor", "source": "현장", "issued_on": "2026-12-07"})
    task = city.task("planning.staff", iid, "classify_directive")
    page = browser.page("planning.staff", f"/tasks/{task['id']}")
    (body,) = document(page).xpath(".//section[@class='cf-doc-body']")
    assert lines_of(body) == ["야간에 시청 앞 횡단보도가 어둡습니다.", "조명을 보강하고 보고하세요."]
    shown = " ".join(document(page).text_content().split())
    (facts,) = document(page).xpath(".//dl[@class='cf-doc-meta']")
    told = dict(zip((dt.text_content().strip() for dt in facts.xpath("./dt")),
                    (dd.text_content().strip() for dd in facts.xpath("./dd")), strict=True))
    assert told == {"지시권자": "시장", "지시일": "2026-12-07"}  # the demo mayor is named 시장, never "mayor"
    assert "지시사항 처리 · 현장" in shown
    assert_reads_as_words(readable_text(page))


def test_a_document_whose_line_is_in_the_older_form_reads_the_same(city: City, browser: Browser) -> None:
    iid = submit(city)
    city.complete("roads.lead", iid, "review", {"decision": "승인"})
    older = [{"kind": "검토", "user": "roads.lead", "rank": 2}, {"kind": "협조", "users": ["traffic.chief", "welfare.chief"]},
             {"kind": "검토", "user": "roads.chief", "rank": 3}, {"kind": "결재", "user": "safety.director", "rank": 4}]
    edited = city.api.call("PATCH", f"/api/instances/{iid}/data", "admin", json={"line": older})
    assert edited.status_code == 200, edited.text
    page = browser.page("roads.staff", f"/instances/{iid}")
    assert [s[:3] for s in seats(page)] == [
        ("주무관", "김주무관", "기안"), ("팀장", "김팀장", "검토"), ("과장", "이과장", "대기"), ("과장", "박과장", "대기"),
        ("과장", "김과장", "대기"), ("국장", "안전교통국장", "대기")]


def test_a_deputys_act_shows_as_acting_approval_with_the_deputys_seal_and_the_post_review_after(
    city: City, browser: Browser
) -> None:
    now = datetime.now(UTC)
    with city.database.unit_of_work() as session:
        identity.add_absence(session, "roads.lead", "traffic.lead", "출장", now - timedelta(hours=1),
                             now + timedelta(days=2), actor="admin")
    iid = submit(city, doc_type="일반", amount=0, line=[step("검토", "roads.lead"), step("결재", "roads.chief")])
    city.complete("traffic.lead", iid, "review", {"decision": "승인", "comment": "팀장 부재로 대결합니다"})
    city.complete("roads.chief", iid, "approve", {"decision": "결재"})
    city.work()
    page = browser.page("roads.staff", f"/instances/{iid}")
    (_, lead, chief) = seats(page)
    assert lead[:4] == ("팀장", "김팀장", "검토 · 대결", True)
    (seat,) = document(page).xpath(".//li[contains(@class, 'cf-seat ')][2]")
    assert seat.xpath(".//*[contains(@class, 'cf-stamp')]")[0].text_content() == "이팀장"  # the deputy's seal
    notes = [" ".join(n.text_content().split()) for n in seat.xpath(".//*[@class='cf-seat-note']")]
    assert notes == ["대결: 이팀장"]
    assert chief[:3] == ("과장", "김과장", "결재")
    city.complete("roads.lead", iid, "post_review", {"post_review_answer": {"acknowledged": True, "note": "확인"}})
    page = browser.page("roads.staff", f"/instances/{iid}")
    (seat,) = document(page).xpath(".//li[contains(@class, 'cf-seat ')][2]")
    notes = [" ".join(n.text_content().split()) for n in seat.xpath(".//*[@class='cf-seat-note']")]
    assert notes == ["대결: 이팀장", "후결 12.07"]
    (status,) = page.xpath("//p[@class='cf-meta']/span[contains(@class, 'cf-status')]")
    assert status.text_content().strip() == "결재 완료"


# -- a field report --------------------------------------------------------------------------------


def test_a_field_report_reads_with_its_photo_and_place_and_its_pdf_carries_the_photo(
    city: City, browser: Browser
) -> None:
    iid = city.api.start("roads.staff", "field_report", {})["id"]
    uploaded = city.api.call("POST", f"/api/instances/{iid}/attachments", "roads.staff",
                             files={"file": ("pothole.jpg", jpeg(320, 240), "image/jpeg")})
    assert uploaded.status_code == 201, uploaded.text
    photo = f"attachment:{uploaded.json()['id']}"
    city.complete("roads.staff", iid, "file_report", {
        "photos_before": [photo], "location": {"lat": 37.2636, "lon": 127.0286, "address": "수원시 팔달구 효원로 241"},
        "category": "도로파손", "description": "보도블록이 깨져 있습니다.\n보행자가 넘어질 위험이 있습니다.", "urgency": "긴급"})
    city.work()
    task = city.task("roads.lead", iid, "acknowledge_report")
    page = browser.page("roads.lead", f"/tasks/{task['id']}")
    shown = document(page)
    assert shown.xpath(f".//img[@src='/api/attachments/{uploaded.json()['id']}/thumbnail']")
    assert "수원시 팔달구 효원로 241 (37.2636, 127.0286)" in " ".join(shown.text_content().split())
    (body,) = shown.xpath(".//section[@class='cf-doc-body']")
    assert lines_of(body) == ["보도블록이 깨져 있습니다.", "보행자가 넘어질 위험이 있습니다."]
    assert photo not in shown.text_content()
    assert_reads_as_words(readable_text(page))
    answer = browser.get("roads.lead", f"/instances/{iid}/document.pdf")
    assert answer.status_code == 200
    (pdf_page,) = PdfReader(io.BytesIO(answer.content)).pages
    assert len(pdf_page.images) == 1  # the photo's thumbnail, from the case's own files
    assert "효원로241" in "".join(pdf_page.extract_text().split())


def test_a_directive_past_its_deadline_says_it_is_overdue_on_its_page(city: City, browser: Browser) -> None:
    from tests.workflows.test_directive import DUE, MINUTE, classify, register

    iid = register(city)
    classify(city, iid)
    banner = " ".join(document(browser.page("mayor", f"/instances/{iid}")).xpath(
        ".//p[contains(@class, 'cf-doc-banner')]")[0].text_content().split())
    assert "기한 초과" not in banner
    city.clock.set(DUE + MINUTE)
    banner = " ".join(document(browser.page("mayor", f"/instances/{iid}")).xpath(
        ".//p[contains(@class, 'cf-doc-banner')]")[0].text_content().split())
    assert banner.startswith("추진중 · 기한 초과 · 처리기한 2026-12-31 18:00")
