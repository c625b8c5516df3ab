"""A 전자결재 from 기안 to PDF in a real browser, at phone and desktop size, using only the pages, as the demo
city hall's people: roads.staff drafts it with a line of four steps (검토, 병렬협조, 검토 by the chief, 결재);
the team leader returns it with a reason; the drafter revises it from the prefilled form and resubmits; the
team leader and both concurrers approve; the chief's review is the final approval under the delegation rules
(전결), so the director's step is skipped; the finished document shows its number and 결재란, and its PDF
downloads. A screenshot of each step is kept with the test's output."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from engine.config import Settings
from engine.context import EngineContext
from engine.db import Database
from engine.worker import Worker
from tests.api.conftest import serving
from tests.api.test_browser import DESKTOP, PHONE, browser, log_in  # noqa: F401 - the browser fixture
from tests.api.test_browser_drafting import pick

TITLE = "시청 앞 보도 정비 계획"
BODY = "시청 앞 보도의 파손 구간을 정비합니다.\n1. 보도블록 교체\n2. 점자블록 보수"


class Journey:
    """One person at a time in their own browser context, each step photographed."""

    def __init__(self, chromium: Any, url: str, size: str, shots: Path) -> None:
        self.browser, self.url, self.size, self.shots, self.step = chromium, url, size, shots, 0
        self.context: Any = None

    def as_(self, username: str) -> Any:
        if self.context is not None:
            self.context.close()
        self.context = self.browser.new_context(**(PHONE if self.size == "phone" else DESKTOP), accept_downloads=True)
        page = self.context.new_page()
        log_in(page, self.url, username)
        return page

    def shoot(self, page: Any, what: str) -> None:
        self.step += 1
        page.screenshot(path=str(self.shots / f"{self.step:02d}-{what}-{self.size}.png"), full_page=True)

    def open_task(self, username: str, task_name: str) -> Any:
        """``username`` opens, from their inbox, the task of this document named ``task_name``."""
        page = self.as_(username)
        page.goto(f"{self.url}/")
        page.locator("a", has_text=TITLE).filter(has_text=task_name).first.click()
        page.wait_for_url(f"{self.url}/tasks/**")
        return page

    def decide(self, username: str, task_name: str, decision: str, comment: str, button: str) -> None:
        page = self.open_task(username, task_name)
        page.get_by_role("radio", name=re.compile(f"^{decision}")).check()
        page.get_by_role("textbox", name="의견", exact=True).fill(comment)
        self.shoot(page, f"{username}-{task_name}")
        page.get_by_role("button", name=button).click()
        page.wait_for_url(f"{self.url}/instances/**")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_document_is_drafted_returned_revised_approved_by_delegation_and_printed(
    size: str, browser: Any, app: Any, database: Database, ctx: EngineContext, settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    with serving(app) as url:
        journey = Journey(browser, url, size, tmp_path)
        page = journey.as_("roads.staff")
        page.goto(f"{url}/processes")
        page.get_by_role("link", name="기안하기").click()
        page.get_by_label("예산").check()
        page.get_by_label("제목").fill(TITLE)
        page.get_by_label("본문").fill(BODY)
        page.get_by_label("금액(원)").fill("12,500,000")  # a 예산 of this size is the 과장's to approve (전결)
        pick(page, 0, "도로 팀장", "김팀장")
        page.locator("[id='f-line[1]']").get_by_label("협조", exact=True).check()
        pick(page, 1, "교통정책", "이과장")
        pick(page, 1, "복지", "박과장")
        for row, (kind, words, name) in enumerate([("검토", "김과장", "김과장"), ("결재", "안전교통", "국장")], 2):
            page.get_by_role("button", name="결재선 행 추가").click()
            page.locator(f"[id='f-line[{row}]']").get_by_label(kind, exact=True).check()
            pick(page, row, words, name)
        journey.shoot(page, "draft")
        page.get_by_role("button", name="상신").click()
        page.wait_for_url(f"{url}/instances/**")
        case = page.url
        journey.shoot(page, "submitted")

        journey.decide("roads.lead", "검토", "반려", "구간 길이를 적어 주세요.", "검토 의견 보내기")
        page = journey.open_task("roads.staff", "반려 문서 처리")
        assert "구간 길이를 적어 주세요." in page.content()  # the reason, as the team leader wrote it
        chips = page.locator("[id='f-line[1]'] .cf-chip").all_inner_texts()
        assert [chip.split()[0] for chip in chips] == ["이과장", "박과장"]  # the line as it was, both concurrers
        page.get_by_role("radio", name="고쳐서 다시 상신").check()
        page.get_by_role("textbox", name="본문").fill(BODY + "\n3. 구간: 시청 정문 ~ 중앙로 120m")
        journey.shoot(page, "revise")
        page.get_by_role("button", name="처리").click()
        page.wait_for_url(f"{url}/instances/**")

        journey.decide("roads.lead", "검토", "승인", "확인했습니다.", "검토 의견 보내기")
        journey.decide("traffic.chief", "협조", "승인", "교통 통제에 협조하겠습니다.", "협조 의견 보내기")
        journey.decide("welfare.chief", "협조", "승인", "점자블록 기준을 지켜 주세요.", "협조 의견 보내기")
        journey.decide("roads.chief", "결재", "결재", "전결 처리합니다.", "결재 처리")
        Worker(database, ctx, settings).drain()  # the approval's time and its number, as the worker records them

        page = journey.as_("roads.staff")
        page.goto(case)
        journey.shoot(page, "approved")
        document = page.locator("section.cf-document")
        text = " ".join(document.inner_text().split())
        number = re.search(r"예산-\d{4}-\d+", text)
        assert number, "the approved document shows its 문서번호"
        assert "결재 완료" in text and "전결" in text
        seats = " ".join(document.locator(".cf-seat").all_inner_texts()).split()
        assert "전결" in seats and "생략" in seats  # the chief approved by delegation; the director's step skipped
        answer = page.request.get(url + page.get_by_role("link", name="PDF").get_attribute("href"))
        assert answer.headers["content-type"] == "application/pdf"
        pdf = answer.body()
        assert pdf.startswith(b"%PDF-")
        printed = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
        assert number.group(0) in printed
        journey.context.close()
