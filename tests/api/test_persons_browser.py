"""인물 in a real browser on a phone: a member of staff sees who a person is and no way to their contacts;
the 비서실's aide chooses a purpose and reads them, and the reading is listed on the page."""

from __future__ import annotations

from typing import Any

from engine.context import EngineContext
from engine.db import Database
from tests.api.conftest import Api, serving
from tests.api.test_browser import PHONE, browser, log_in  # noqa: F401 - browser is the Chromium fixture
from tests.api.test_persons import EMAIL, registered
from tests.api.test_persons import PHONE as PHONE_NUMBER


def test_on_a_phone_the_aide_reads_a_persons_contacts_for_a_purpose_and_staff_do_not(
    browser: Any, database: Database, ctx: EngineContext, settings: Any, app: Any,  # noqa: F811
) -> None:
    with serving(app) as url:
        from fastapi.testclient import TestClient

        person = registered(Api(TestClient(app)))
        staff = browser.new_context(**PHONE)
        page = staff.new_page()
        log_in(page, url, "roads.staff")
        page.goto(f"{url}/persons")
        page.get_by_role("link", name="김정숙").click()
        page.wait_for_url(f"{url}/persons/{person['id']}")
        assert page.get_by_role("heading", name="김정숙").is_visible()
        assert page.get_by_label("열람 목적").count() == 0 and PHONE_NUMBER not in page.content()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
        staff.close()

        aide = browser.new_context(**PHONE)
        page = aide.new_page()
        log_in(page, url, "mayor.aide")
        page.goto(f"{url}/persons/{person['id']}")
        page.get_by_label("열람 목적").select_option("일정 조율")
        page.get_by_role("button", name="열람").click()
        assert page.get_by_role("link", name=PHONE_NUMBER).get_attribute("href") == f"tel:{PHONE_NUMBER}"
        assert page.get_by_role("link", name=EMAIL).is_visible()
        assert "윤대외 · 주무관 · 일정 조율" in " ".join(page.locator("#views").inner_text().split())
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        aide.close()
