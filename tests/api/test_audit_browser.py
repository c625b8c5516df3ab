"""The auditor's journey in a real browser, on a desk and on a phone: find a case by its title, read its
timeline (the system's steps folded, then shown), export its trail (a download with the CLI's fields)."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine import audit
from tests.api.conftest import Api, serving
from tests.api.test_browser import DESKTOP, PHONE, browser, log_in

__all__ = ["browser"]  # the fixture, shared with the other browser tests

SCREENSHOTS = Path("/tmp/h8")


def shot(page: Any, folder: Path, name: str) -> None:
    """A full-page screenshot in the test's folder, and a copy where people look at them."""
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SCREENSHOTS / path.name)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_an_auditor_finds_a_case_by_its_title_reads_its_timeline_and_exports_it(
    browser: Any, app: Any, tmp_path: Path, size: str
) -> None:
    api = Api(TestClient(app))
    case = api.start("roads.staff", "suggestion", {"title": "버스정류장 그늘막 설치", "supporters": 40})
    api.start("welfare.staff", "suggestion", {"title": "경로당 겨울 난방비 지원", "supporters": 12})
    review = api.only_task(case)
    done = api.call("POST", f"/api/tasks/{review['id']}/complete", "planning.staff",
                    json={"data": {"accepted": True, "category": "도로", "review_comment": "현장 확인 후 채택"}})
    assert done.status_code == 200, done.text

    with serving(app) as url:
        context = browser.new_context(**(PHONE if size == "phone" else DESKTOP), accept_downloads=True)
        page = context.new_page()
        log_in(page, url, "auditor")
        if size == "phone":
            page.get_by_role("button", name="메뉴").click()
        page.get_by_role("link", name="감사").click()
        page.wait_for_url(f"{url}/audit")
        page.get_by_label("건", exact=True).fill("그늘막")
        page.get_by_role("button", name="찾기").click()
        page.wait_for_url(f"{url}/audit?**")
        assert page.locator(".cf-audit-row").count() > 0
        assert "경로당" not in page.locator(".cf-audit-list").inner_text()
        shot(page, tmp_path, f"audit-search-{size}")

        page.locator(".cf-audit-row a", has_text="버스정류장 그늘막 설치").first.click()
        page.wait_for_url(f"{url}/audit/cases/{case['id']}**")
        timeline = page.locator(".cf-timeline")
        assert timeline.get_by_text("제안 검토 · 처리").is_visible()
        assert timeline.get_by_text("정책기획 주무관 (기획조정실)").first.is_visible()
        assert page.get_by_text("모두 검증되었습니다").is_visible()
        assert "채택?" not in timeline.inner_text()  # a gateway: the system's step, folded
        if size == "phone":
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the timeline is {width}px wide on a 390px phone"
        shot(page, tmp_path, f"audit-case-{size}")

        page.get_by_role("link", name="시스템 처리 단계도 보기", exact=False).click()
        page.wait_for_url(f"{url}/audit/cases/{case['id']}?steps=all")
        assert page.locator(".cf-timeline").get_by_text("채택?").first.is_visible()
        shot(page, tmp_path, f"audit-case-all-steps-{size}")

        with page.expect_download() as download:
            page.locator(".cf-audit-tools").get_by_role("link", name="CSV").click()
        saved = download.value.path()
        assert download.value.suggested_filename == f"cityflow-case-{case['id']}.csv"
        table = list(csv.reader(io.StringIO(Path(saved).read_text(encoding="utf-8-sig"))))
        assert tuple(table[0]) == audit.EXPORT_FIELDS
        chain = audit.EXPORT_FIELDS.index("chain")
        assert {row[chain] for row in table[1:]} == {case["id"]}
        assert table[-1][audit.EXPORT_FIELDS.index("action")] == "case.viewed"  # this export, on record
        context.close()
