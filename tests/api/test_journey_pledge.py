"""A pledge's quarterly report, in a real browser at phone and desktop size, using only the pages to
act, as the demo city hall's people: when the quarter comes, 교통정책과 is asked for its report (told on
arrival), reports its progress with a milestone done; the planning office checks it and accepts it;
the pledge board and the pledge read the new progress. The pledge is registered beforehand and the
clock moved to the quarter — the setup, not the journey. A screenshot of each step is kept."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.form_check import check_form
from engine.clock import MovableClock
from engine.config import Settings
from engine.context import EngineContext
from engine.db import Database
from engine.worker import Worker
from tests.api.conftest import Api, seed, serving
from tests.api.test_browser import browser  # noqa: F401 - the browser fixture
from tests.api.test_journey_directive import KEPT
from tests.api.test_journey_directive import Journey as _Journey

TITLE = "시내버스 노선 개편"
PLEDGE = {"title": TITLE, "category": "교통", "bureau": "안전교통국", "department": "교통정책과", "target_year": 2028,
          "budget": 1_200_000_000, "milestones": [
              {"title": "노선 개편 용역", "year": 2027, "target": "용역 완료"},
              {"title": "시민 공청회", "year": 2027, "target": "2회 개최"},
              {"title": "새 노선 운행", "year": 2028, "target": "전 노선 운행"}]}


class Journey(_Journey):
    def open_task(self, username: str, task_name: str) -> Any:
        page = self.as_(username)
        page.goto(f"{self.url}/")
        page.locator("a", has_text=TITLE).filter(has_text=task_name).first.click()
        page.wait_for_url(f"{self.url}/tasks/**")
        return page


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_department_reports_a_pledges_quarter_and_the_planning_office_accepts_it(
    size: str, browser: Any, database: Database, settings: Settings, tmp_path: Path,  # noqa: F811
) -> None:
    clock = MovableClock(datetime(2026, 12, 10, 1, 0, tzinfo=UTC))
    ctx = dataclasses.replace(EngineContext.create(script_time_limit=2.0, clock=clock), form_check=check_form)
    seed(database)
    app = create_app(settings, database, ctx)
    worker = Worker(database, ctx, settings)
    pledge = Api(TestClient(app)).start("planning.staff", "pledge", PLEDGE)
    worker.drain()
    clock.set(datetime(2027, 1, 1, 0, 5, tzinfo=UTC))  # 09:05 on the first day of the quarter, in Seoul
    worker.drain()
    with serving(app) as url:
        journey = Journey(browser, url, size, tmp_path)
        page = journey.as_("traffic.lead")
        page.goto(f"{url}/notifications")
        assert "새 할 일: 분기 추진상황 보고" in page.inner_text("main")  # told when the quarter came

        page = journey.open_task("traffic.lead", "분기 추진상황 보고")
        assert "다음 보고 2026년 4분기 · 2027-01-01" in " ".join(page.inner_text("body").split())  # the quarter asked
        page.locator("textarea[name=progress_summary]").fill("노선 개편 용역을 마치고 공청회를 준비하고 있습니다.")
        page.locator("input[name='reported_milestones[0].done']").check()
        page.locator("input[name=budget_executed]").fill("150,000,000")
        journey.send(page, "보고", "department-reports")
        worker.drain()

        page = journey.open_task("planning.staff", "추진상황 검토")
        pending = " ".join(page.locator("section.cf-doc-pending").inner_text().split())  # the report to check
        assert pending.startswith("검토를 기다리는 보고 · 2026년 4분기") and "노선 개편 용역을 마치고" in pending
        assert "달성 보고: 노선 개편 용역" in pending and "150,000,000원" in pending
        page.get_by_role("radio", name="승인").check()
        journey.send(page, "검토 결과 보내기", "planning-accepts")
        worker.drain()

        page = journey.as_("mayor")
        page.goto(f"{url}/instances/{pledge['id']}")
        journey.shoot(page, "mayor-reads-pledge")
        document = " ".join(page.locator("section.cf-document").inner_text().split())
        assert "33%" in document and "노선 개편 용역을 마치고 공청회를 준비하고 있습니다." in document
        page.goto(f"{url}/pledges")
        journey.shoot(page, "pledge-board")
        row = " ".join(page.locator("tr, li", has_text=TITLE).first.inner_text().split())
        assert "33" in row and "정상추진" in row
        journey.context.close()
    assert clock.now - datetime(2027, 1, 1, tzinfo=UTC) < timedelta(hours=1)
    kept = KEPT / f"pledge-{size}"
    shutil.rmtree(kept, ignore_errors=True)
    shutil.copytree(tmp_path, kept, ignore=shutil.ignore_patterns("var"))
