"""One real browser, phone-sized: log in, fill in a form, and see the task leave the inbox."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.context import EngineContext
from engine.db import Database
from tests.api.conftest import Api, serving

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Offline machine: no background traffic, no first-run dialogs.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


@pytest.fixture
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed: .ci/run installs Debian's chromium for this test")
        pytest.skip("Chromium is not installed here (apt-get install chromium); CI runs this test")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


def test_on_a_phone_a_reviewer_completes_the_form_and_the_task_leaves_the_inbox(
    browser: Any, database: Database, ctx: EngineContext, settings: Any, app: Any, tmp_path: Path
) -> None:
    with serving(app) as url:
        from fastapi.testclient import TestClient

        api = Api(TestClient(app))
        api.start("roads.staff", "suggestion", {"title": "횡단보도 조명 개선", "supporters": 12})
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                    locale="ko-KR", device_scale_factor=2)
        page = phone.new_page()
        page.goto(f"{url}/")
        assert "/login" in page.url
        page.get_by_label("아이디").fill("planning.staff")
        page.get_by_label("비밀번호").fill("cityflow-demo")
        page.get_by_role("button", name="로그인").click()
        page.wait_for_url(f"{url}/")
        page.get_by_role("link", name="제안 검토").click()
        page.get_by_label("분야").select_option("도로")
        page.get_by_label("채택").check()
        page.get_by_label("검토 의견").fill("주민 안전에 필요합니다.")
        page.screenshot(path=str(tmp_path / "task.png"), full_page=True)
        page.get_by_role("button", name="완료", exact=True).click()
        page.wait_for_url(f"{url}/instances/**")
        assert page.get_by_text("업무를 완료했습니다.").is_visible()
        page.screenshot(path=str(tmp_path / "instance.png"), full_page=True)
        page.goto(f"{url}/")
        assert page.get_by_role("link", name="제안 검토").count() == 0
        assert page.get_by_text("부서에 처리할 업무가 없습니다.").is_visible()
        phone.close()
