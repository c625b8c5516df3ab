"""A directive from the mayor's phone to its closing, in a real browser at phone and desktop size,
using only the pages, as the demo city hall's people: the mayor gives it with a photo from the camera
and a place; the planning office assigns it to 도로과 with a deadline; the department accepts it,
plans, reports progress and files its completion report; the planning office closes it; the mayor
sees it 종결 and has been told. A screenshot of each step is kept with the test's output."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from engine.config import Settings
from engine.context import EngineContext
from engine.db import Database
from engine.worker import Worker
from tests.api.conftest import serving
from tests.api.test_browser import DESKTOP, PHONE, browser, log_in  # noqa: F401 - the browser fixture
from tests.images import jpeg

TITLE = "행궁동 골목 가로등 정비"
KEPT = Path("/tmp/journeys")


class Journey:
    """One person at a time in their own browser context, each step photographed."""

    def __init__(self, chromium: Any, url: str, size: str, shots: Path) -> None:
        self.browser, self.url, self.size, self.shots, self.step = chromium, url, size, shots, 0
        self.context: Any = None

    def as_(self, username: str) -> Any:
        if self.context is not None:
            self.context.close()
        self.context = self.browser.new_context(**(PHONE if self.size == "phone" else DESKTOP))
        page = self.context.new_page()
        log_in(page, self.url, username)
        return page

    def shoot(self, page: Any, what: str) -> None:
        self.step += 1
        page.screenshot(path=str(self.shots / f"{self.step:02d}-{what}-{self.size}.png"), full_page=True)

    def open_task(self, username: str, task_name: str) -> Any:
        page = self.as_(username)
        page.goto(f"{self.url}/")
        page.locator("a", has_text=TITLE).filter(has_text=task_name).first.click()
        page.wait_for_url(f"{self.url}/tasks/**")
        return page

    def send(self, page: Any, button: str, what: str) -> None:
        self.shoot(page, what)
        page.get_by_role("button", name=button, exact=True).click()
        page.wait_for_url(f"{self.url}/instances/**")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_mayor_gives_a_directive_with_a_photo_and_a_place_and_it_is_carried_out_and_closed(
    size: str, browser: Any, app: Any, database: Database, ctx: EngineContext, settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    (tmp_path / "alley.jpg").write_bytes(jpeg(1200, 900, (70, 80, 110)))
    with serving(app) as url:
        journey = Journey(browser, url, size, tmp_path)
        page = journey.as_("mayor")
        page.goto(f"{url}/processes")
        page.locator("#title-directive").fill(TITLE)
        page.get_by_role("button", name="지시하기").click()
        page.wait_for_url(f"{url}/tasks/**")
        page.locator("#f-content").fill("행궁동 골목 가로등이 어둡습니다.\n이번 달 안에 모두 정비하세요.")
        page.locator("input[name=issuer][value=mayor]").check()
        page.locator("input[name=source][value=현장]").check()
        page.locator("input[name=issued_on]").fill("2026-11-27")
        page.locator("input[data-cf-camera]:visible").set_input_files(str(tmp_path / "alley.jpg"))
        assert page.locator(".cf-taken-photo").count() == 1
        page.locator("input[name='location.address']").fill("수원시 팔달구 행궁동 골목")
        page.locator("input[name='location.lat']").fill("37.2821")
        page.locator("input[name='location.lon']").fill("127.0135")
        journey.send(page, "지시 등록", "mayor-gives")
        case = page.url.split("?")[0]
        assert page.locator("section[aria-labelledby=attachments] img").count() == 1  # the photo, kept
        assert "수원시 팔달구 행궁동 골목" in page.locator("section.cf-document").inner_text()  # and the place

        page = journey.open_task("planning.staff", "지시 분류·배정")
        assert "행궁동 골목 가로등이 어둡습니다." in page.inner_text("body")  # the directive on top, as given
        page.get_by_role("radio", name="단기").check()
        field = page.locator("div.cf-picker-field", has=page.locator("select[name=lead_department]"))
        field.locator(".cf-picker-search").fill("도로")
        field.locator(".cf-picker-option", has_text="도로과").first.click()
        page.locator("input[name=deadline]").fill("2026-12-31T18:00")
        journey.send(page, "배정", "planning-assigns")

        page = journey.open_task("roads.chief", "지시 접수")
        page.get_by_role("radio", name="접수").check()
        journey.send(page, "결정 보내기", "department-accepts")

        page = journey.open_task("roads.lead", "이행계획")
        page.locator("textarea[name=action_plan]").fill("구역별 점검 후 LED 가로등으로 교체합니다.")
        page.locator("input[name=plan_target_on]").fill("2026-12-20")
        journey.send(page, "이행계획 제출", "department-plans")

        page = journey.open_task("roads.staff", "추진상황")
        page.locator("textarea[name=progress_report]").fill("12개 가운데 12개 교체를 마쳤습니다.")
        page.locator("input[name=progress_rate]").fill("100")
        page.locator("input[name=finished]").check()
        journey.send(page, "보고", "department-reports")

        page = journey.open_task("roads.staff", "완료보고")
        page.locator("textarea[name=completion_report]").fill("행궁동 골목 가로등 12개를 모두 교체했습니다.")
        journey.send(page, "완료보고", "department-completes")

        page = journey.open_task("planning.staff", "검토")
        page.get_by_role("radio", name="종결").check()
        page.locator("textarea[name=review_comment]").fill("완료를 확인했습니다.")
        journey.send(page, "검토 결과 보내기", "planning-closes")
        Worker(database, ctx, settings).drain()  # the closing notice goes out as a job

        page = journey.as_("mayor")
        page.goto(case)
        journey.shoot(page, "mayor-reads-closed")
        document = " ".join(page.locator("section.cf-document").inner_text().split())
        assert "종결" in document and "도로과" in document and "행궁동 골목 가로등 12개를 모두 교체했습니다." in document
        assert page.locator("section[aria-labelledby=attachments] img").count() == 1
        page.goto(f"{url}/notifications")
        journey.shoot(page, "mayor-told")
        assert f"[지시사항 종결] {TITLE}" in page.inner_text("main")
        journey.context.close()
    kept = KEPT / f"directive-{size}"
    shutil.rmtree(kept, ignore_errors=True)
    shutil.copytree(tmp_path, kept, ignore=shutil.ignore_patterns("*.jpg", "var"))
