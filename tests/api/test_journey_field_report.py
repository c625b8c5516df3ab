"""A field report from the street to its closing, in a real browser at phone and desktop size, using only
the pages, as the demo city hall's people: a welfare officer on a walk reports a broken pavement with a
photo and the place; 도로과 is told, acknowledges it (접수) and fixes it with a photo after; the reporter
is told of the 접수 and of the fix, and reads the report closed. A screenshot of each step is kept."""

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
from tests.api.test_browser import browser  # noqa: F401 - the browser fixture
from tests.api.test_journey_directive import KEPT
from tests.api.test_journey_directive import Journey as _Journey
from tests.images import jpeg

TITLE = "시청 앞 보도블록 파손"


class Journey(_Journey):
    def open_task(self, username: str, task_name: str) -> Any:
        page = self.as_(username)
        page.goto(f"{self.url}/")
        page.locator("a", has_text=TITLE).filter(has_text=task_name).first.click()
        page.wait_for_url(f"{self.url}/tasks/**")
        return page


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_field_report_is_filed_with_a_photo_and_place_acknowledged_fixed_and_the_reporter_told(
    size: str, browser: Any, app: Any, database: Database, ctx: EngineContext, settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    (tmp_path / "before.jpg").write_bytes(jpeg(1200, 900, (120, 110, 100)))
    (tmp_path / "after.jpg").write_bytes(jpeg(1200, 900, (150, 150, 150)))
    worker = Worker(database, ctx, settings)
    with serving(app) as url:
        journey = Journey(browser, url, size, tmp_path)
        page = journey.as_("welfare.staff")
        page.goto(f"{url}/processes")
        page.locator("#title-field_report").fill(TITLE)
        page.get_by_role("button", name="보고하기").click()
        page.wait_for_url(f"{url}/tasks/**")
        page.locator("input[data-cf-camera]:visible").set_input_files(str(tmp_path / "before.jpg"))
        page.locator("input[name='location.address']").fill("수원시 팔달구 효원로 241 시청 정문 앞")
        page.locator("input[name=category][value=도로파손]").check()
        page.locator("textarea[name=description]").fill("보도블록 네 장이 깨져 유모차가 지나가기 어렵습니다.")
        page.locator("input[name=urgency][value=보통]").check()
        journey.send(page, "보고", "reporter-files")
        case = page.url.split("?")[0]
        worker.drain()  # the time it was received, as the worker stamps it

        page = journey.open_task("roads.lead", "접수 확인")
        assert "보도블록 네 장이 깨져" in page.inner_text("body") and "도로파손" in page.inner_text("body")
        page.locator("textarea[name=acknowledge_note]").fill("내일 오전 보수반이 나갑니다.")
        journey.send(page, "접수 확인", "department-acknowledges")
        worker.drain()

        page = journey.as_("welfare.staff")
        page.goto(f"{url}/notifications")
        journey.shoot(page, "reporter-told-received")
        assert f"현장 보고 접수: {TITLE}" in page.inner_text("main")

        page = journey.open_task("roads.staff", "조치 완료 보고")
        page.locator("input[type=file][name=photo_after]").set_input_files(str(tmp_path / "after.jpg"))
        page.locator("textarea[name=resolution]").fill("깨진 보도블록 네 장을 새것으로 교체했습니다.")
        journey.send(page, "조치 완료", "department-fixes")
        worker.drain()

        page = journey.as_("welfare.staff")
        page.goto(case)
        journey.shoot(page, "reporter-reads-closed")
        document = " ".join(page.locator("section.cf-document").inner_text().split())
        assert "처리완료" in document and "도로과" in document and "깨진 보도블록 네 장을 새것으로 교체했습니다." in document
        assert page.locator("section[aria-labelledby=attachments] img").count() == 2  # before and after
        page.goto(f"{url}/notifications")
        told = page.inner_text("main")
        assert f"현장 보고 처리 완료: {TITLE}" in told and f"현장 보고 접수: {TITLE}" in told
        journey.context.close()
    kept = KEPT / f"field-report-{size}"
    shutil.rmtree(kept, ignore_errors=True)
    shutil.copytree(tmp_path, kept, ignore=shutil.ignore_patterns("*.jpg", "var"))
