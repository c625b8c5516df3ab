"""현장 지시 in a real browser at phone size: the mayor, standing at the spot, writes what is to be
done, takes a photo, names the place and a department, and lands on the new directive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.context import EngineContext
from engine.db import Database
from tests.api.conftest import serving
from tests.api.test_browser import PHONE, browser, log_in  # noqa: F401 - the browser fixture
from tests.images import jpeg

SCREENSHOTS = Path("/tmp/cityflow-screens")


def test_on_a_phone_the_mayor_gives_a_directive_on_site_with_a_photo_and_lands_on_it(
    browser: Any, database: Database, ctx: EngineContext, settings: Any, app: Any, tmp_path: Path,  # noqa: F811
) -> None:
    photo = tmp_path / "골목.jpg"
    photo.write_bytes(jpeg(1200, 900))
    SCREENSHOTS.mkdir(exist_ok=True)
    with serving(app) as url:
        phone = browser.new_context(**PHONE)
        page = phone.new_page()
        log_in(page, url, "mayor")
        page.goto(f"{url}/directives")
        page.get_by_role("link", name="현장 지시").click()
        page.wait_for_url(f"{url}/directives/field")
        page.get_by_label("지시 내용").fill("행궁동 골목 가로등을 이번 달 안에 정비하세요.\n어두운 구간부터 하세요.")
        page.locator("input[type=file][name=photos]").set_input_files(str(photo))
        page.locator("input[name='location.address']").fill("수원시 팔달구 행궁동 골목")
        picker = page.locator("#f-lead_department").locator("xpath=..")
        picker.locator(".cf-picker-search").fill("도로")
        picker.locator(".cf-picker-option", has_text="도로과").first.click()
        page.screenshot(path=str(SCREENSHOTS / "field-directive-form-phone.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390  # nothing wider than the phone
        page.get_by_role("button", name="지시하기").click()
        page.wait_for_url(f"{url}/instances/**")
        assert page.get_by_text("지시했습니다. 기획조정실이 부서를 배정합니다.").is_visible()
        assert page.get_by_role("heading", name="행궁동 골목 가로등을 이번 달 안에 정비하세요.").count() >= 1 or \
            page.get_by_text("행궁동 골목 가로등을 이번 달 안에 정비하세요.").first.is_visible()
        assert page.locator("img[src*='/thumbnail']").count() >= 1 or page.locator("img").count() >= 1
        page.screenshot(path=str(SCREENSHOTS / "field-directive-case-phone.png"), full_page=True)
        phone.close()


def test_on_a_phone_the_dashboard_fits_and_a_number_leads_to_its_register(
    browser: Any, database: Database, ctx: EngineContext, settings: Any, app: Any,  # noqa: F811
) -> None:
    from fastapi.testclient import TestClient

    from tests.api.conftest import Api
    from tests.api.test_words import directive_to_classify

    directive_to_classify(Api(TestClient(app)))
    SCREENSHOTS.mkdir(exist_ok=True)
    with serving(app) as url:
        phone = browser.new_context(**PHONE)
        page = phone.new_page()
        log_in(page, url, "mayor")
        page.goto(f"{url}/dashboard")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
        assert page.locator(".cf-chart").count() >= 1  # the months drawn
        page.screenshot(path=str(SCREENSHOTS / "dashboard-phone.png"), full_page=True)
        page.locator("#directive-statuses a", has_text="추진중").first.click()
        page.wait_for_url(f"{url}/directives?status=**")
        assert page.locator(".cf-card", has_text="어두운 골목 가로등 정비").count() == 1
        phone.close()
