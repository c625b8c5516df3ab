"""One real browser: on a phone, log in, fill in a form and see the task leave the inbox; the top bar
fits one row (a menu on a phone, the sections themselves on a wide screen); the case diagram fits the
box's width and zooms."""

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


PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "locale": "ko-KR",
         "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1366, "height": 900}, "locale": "ko-KR"}


def log_in(page: Any, url: str, username: str) -> None:
    page.goto(f"{url}/")
    assert "/login" in page.url
    page.get_by_label("아이디").fill(username)
    page.get_by_label("비밀번호").fill("cityflow-demo")
    page.get_by_role("button", name="로그인").click()
    page.wait_for_url(f"{url}/")


def header_height(page: Any) -> float:
    box = page.locator("header.cf-header").bounding_box()
    assert box is not None
    return float(box["height"])


def diagram_width(page: Any) -> tuple[int, int]:
    """The diagram box's visible width and the width of what scrolls inside it."""
    width, scrolled = page.locator(".cf-diagram-view").evaluate("view => [view.clientWidth, view.scrollWidth]")
    return int(width), int(scrolled)


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
        log_in(page, url, "planning.staff")
        page.get_by_role("link", name="제안 검토").click()
        page.get_by_label("분야").select_option("도로")
        page.get_by_label("채택").check()
        page.get_by_label("검토 의견").fill("주민 안전에 필요합니다.")
        page.screenshot(path=str(tmp_path / "task.png"), full_page=True)
        page.get_by_role("button", name="검토 결과 보내기", exact=True).click()
        page.wait_for_url(f"{url}/instances/**")
        assert page.get_by_text("업무를 완료했습니다.").is_visible()
        page.screenshot(path=str(tmp_path / "instance.png"), full_page=True)
        page.goto(f"{url}/")
        assert page.get_by_role("link", name="제안 검토").count() == 0
        assert page.get_by_text("부서에 처리할 업무가 없습니다.").is_visible()
        phone.close()


def test_on_a_phone_the_top_bar_is_one_row_and_the_sections_are_in_its_menu(
    browser: Any, database: Database, ctx: EngineContext, settings: Any, app: Any, tmp_path: Path
) -> None:
    with serving(app) as url:
        phone = browser.new_context(**PHONE)
        page = phone.new_page()
        log_in(page, url, "planning.staff")
        assert header_height(page) <= 64
        directives = page.get_by_role("link", name="지시사항")
        assert not directives.is_visible()
        menu = page.get_by_role("button", name="메뉴")
        assert menu.get_attribute("aria-expanded") in (None, "false")
        menu.click()
        assert directives.is_visible()
        assert page.get_by_role("link", name="부재·대결").get_attribute("href") == "/absences"
        assert page.locator("nav [aria-current='page']").inner_text() == "내 업무"
        assert page.get_by_role("button", name="로그아웃").is_visible()
        assert page.get_by_role("link", name="English").is_visible()
        page.screenshot(path=str(tmp_path / "menu.png"))
        directives.click()
        page.wait_for_url(f"{url}/directives")
        assert header_height(page) <= 64
        page.get_by_role("button", name="메뉴").click()
        assert page.locator("nav [aria-current='page']").inner_text() == "지시사항"
        page.get_by_role("button", name="로그아웃").click()
        page.wait_for_url(f"{url}/login**")
        phone.close()


def test_on_a_wide_screen_the_sections_show_in_the_top_bar_without_a_menu(
    browser: Any, database: Database, ctx: EngineContext, settings: Any, app: Any
) -> None:
    with serving(app) as url:
        desktop = browser.new_context(**DESKTOP)
        page = desktop.new_page()
        log_in(page, url, "planning.staff")
        assert header_height(page) <= 64
        assert not page.get_by_role("button", name="메뉴").is_visible()
        for name in ("내 업무", "한눈에 보기", "지시사항", "시민약속사업", "업무 절차", "부재·대결", "알림", "English"):
            assert page.get_by_role("link", name=name).is_visible(), name
        page.get_by_role("link", name="지시사항").click()
        page.wait_for_url(f"{url}/directives")
        assert page.locator("nav [aria-current='page']").inner_text() == "지시사항"
        desktop.close()


def test_on_a_phone_the_case_diagram_fits_the_width_and_zooms(
    browser: Any, database: Database, ctx: EngineContext, settings: Any, app: Any, tmp_path: Path
) -> None:
    with serving(app) as url:
        from fastapi.testclient import TestClient

        instance = Api(TestClient(app)).start("roads.staff", "suggestion", {"title": "버스정류장 그늘막", "supporters": 3})
        phone = browser.new_context(**PHONE)
        page = phone.new_page()
        log_in(page, url, "planning.staff")
        page.goto(f"{url}/instances/{instance['id']}")
        width, scrolled = diagram_width(page)
        assert scrolled <= width + 1  # fit to the box's width at first
        svg_width = page.locator(".cf-diagram-view svg").bounding_box()["width"]
        assert abs(svg_width - width) <= 2
        page.screenshot(path=str(tmp_path / "fit.png"), full_page=True)
        page.get_by_role("button", name="확대").click()
        page.get_by_role("button", name="확대").click()
        width, scrolled = diagram_width(page)
        assert scrolled > width * 1.4
        page.get_by_role("button", name="축소").click()
        assert diagram_width(page)[1] < scrolled
        page.screenshot(path=str(tmp_path / "zoomed.png"))
        page.get_by_role("button", name="폭에 맞춤").click()
        width, scrolled = diagram_width(page)
        assert scrolled <= width + 1
        history = page.locator("details", has=page.locator("ol.cf-history"))
        assert history.get_attribute("open") is None  # folded on a phone
        page.get_by_role("heading", name="처리 이력").click()
        assert page.locator("ol.cf-history li").first.is_visible()
        phone.close()
