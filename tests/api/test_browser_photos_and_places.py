"""In a real browser: the mayor gives a directive on a phone with photos from the camera and a place
tapped on the map (tiles from the city's tile server); the case shows the photos as thumbnails that
open the picture. Without a tile server there is no map, and the form works all the same."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image

from api.app import create_app
from api.web.media import place_html
from engine.config import Settings
from engine.context import EngineContext
from engine.db import Database
from tests.api import test_browser
from tests.api.conftest import Api, serving
from tests.api.test_browser import DESKTOP, PHONE, log_in
from tests.images import jpeg, png

browser = test_browser.browser  # the one Chromium of the browser tests

TILES = "http://tiles.test/{z}/{x}/{y}.png"
CITY_HALL = (37.2636, 127.0286)


def tile() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), (236, 233, 224)).save(out, "PNG")
    return out.getvalue()


def mapped_app(database: Database, ctx: EngineContext, settings: Settings) -> Any:
    return create_app(Settings(**{**settings.model_dump(), "map_tiles": TILES}), database, ctx)


def serve_tiles(context: Any) -> list[str]:
    """The tile server, answered by the browser itself: every tile asked for is a plain 256 px PNG."""
    asked: list[str] = []
    body = tile()

    def answer(route: Any) -> None:
        asked.append(route.request.url)
        route.fulfill(status=200, body=body, content_type="image/png")

    context.route("http://tiles.test/**", answer)
    return asked


def directive_task(app: Any, title: str) -> tuple[str, str]:
    case = Api(TestClient(app)).start("mayor", "directive", {"title": title})
    return case["id"], case["tasks"][0]["id"]


def fill_the_directive(page: Any) -> None:
    page.locator("#f-content").fill("행궁동 골목 가로등이 어둡습니다. 이번 달 안에 정비하세요.")
    page.locator("input[name=issuer][value=mayor]").check()
    page.locator("input[name=source][value=현장]").check()
    page.locator("input[name=issued_on]").fill("2026-11-28")


def loaded_thumbnails(page: Any) -> list[int]:
    return page.locator("#attachments ~ * img, section[aria-labelledby=attachments] img").evaluate_all(
        "images => images.map(image => image.complete ? image.naturalWidth : 0)")


def test_on_a_phone_the_mayor_gives_a_directive_with_camera_photos_and_a_place_tapped_on_the_map(
    browser: Any, database: Database, ctx: EngineContext, settings: Settings, app: Any, tmp_path: Path
) -> None:
    mapped = mapped_app(database, ctx, settings)
    case_id, task_id = directive_task(mapped, "행궁동 골목 가로등 정비")
    (tmp_path / "street.jpg").write_bytes(jpeg(1200, 900, (90, 120, 160)))
    (tmp_path / "alley.png").write_bytes(png(900, 1200, (160, 120, 60)))
    with serving(mapped) as url:
        phone = browser.new_context(**PHONE)
        asked = serve_tiles(phone)
        page = phone.new_page()
        log_in(page, url, "mayor")
        page.goto(f"{url}/tasks/{task_id}")

        picker = page.locator(".cf-location .cf-map-picker")
        page.wait_for_function("() => [...document.querySelectorAll('.cf-map-picker img')]"
                               ".some(image => image.complete && image.naturalWidth === 256)")
        assert asked and all(u.startswith("http://tiles.test/15/") for u in asked)  # around the city hall
        picker.scroll_into_view_if_needed()
        box = picker.bounding_box()
        page.touchscreen.tap(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.75)
        lat = float(page.locator("input[name='location.lat']").input_value())
        lon = float(page.locator("input[name='location.lon']").input_value())
        assert CITY_HALL[0] - 0.01 < lat < CITY_HALL[0]  # below the middle: south of the city hall
        assert CITY_HALL[1] - 0.01 < lon < CITY_HALL[1]  # left of it: west
        assert page.locator(".cf-map-picker .cf-map-marker").is_visible()
        page.get_by_role("button", name="확대").click()
        assert page.locator(".cf-map-picker img[src^='http://tiles.test/16/']").count() > 0
        page.locator("input[name='location.address']").fill("수원시 팔달구 행궁동 골목")

        page.locator("input[data-cf-camera]:visible").set_input_files(str(tmp_path / "street.jpg"))
        page.locator("input[data-cf-camera]:visible").set_input_files(str(tmp_path / "alley.png"))
        assert page.locator(".cf-taken-photo").count() == 2
        assert page.locator("input[data-cf-camera]:visible").get_attribute("aria-label") == "사진 더 찍기"
        fill_the_directive(page)
        page.screenshot(path=str(tmp_path / "directive-form.png"), full_page=True)
        page.locator("button[type=submit][value=submit]").click()
        page.wait_for_url(f"{url}/instances/{case_id}**")

        page.locator("section[aria-labelledby=attachments]").scroll_into_view_if_needed()
        page.wait_for_function("() => [...document.querySelectorAll('section[aria-labelledby=attachments] img')]"
                               ".filter(image => image.complete && image.naturalWidth > 0).length === 2")
        page.screenshot(path=str(tmp_path / "case.png"), full_page=True)
        page.locator("section[aria-labelledby=attachments] a.cf-photo").first.click()
        page.wait_for_url("**/inline")
        assert page.evaluate("document.contentType") == "image/jpeg"  # shown, not downloaded
        phone.close()


def test_on_a_wide_screen_without_a_tile_server_there_is_no_map_and_an_address_will_do(
    browser: Any, database: Database, ctx: EngineContext, settings: Settings, app: Any, tmp_path: Path
) -> None:
    case_id, task_id = directive_task(app, "시청 앞 광장 그늘막")
    (tmp_path / "square.jpg").write_bytes(jpeg(800, 600))
    with serving(app) as url:
        desktop = browser.new_context(**DESKTOP)
        page = desktop.new_page()
        log_in(page, url, "mayor")
        page.goto(f"{url}/tasks/{task_id}")
        assert page.locator(".cf-map, .cf-map-picker, script[src='/static/map.js']").count() == 0
        page.locator("input[name='location.address']").fill("시청 앞 광장")
        page.locator("input[data-cf-camera]").set_input_files(str(tmp_path / "square.jpg"))
        fill_the_directive(page)
        page.screenshot(path=str(tmp_path / "directive-form.png"), full_page=True)
        page.locator("button[type=submit][value=submit]").click()
        page.wait_for_url(f"{url}/instances/{case_id}**")
        page.locator("section[aria-labelledby=attachments]").scroll_into_view_if_needed()  # thumbnails load lazily
        page.wait_for_function("() => [...document.querySelectorAll('section[aria-labelledby=attachments] img')]"
                               ".some(image => image.complete && image.naturalWidth > 0)")
        page.screenshot(path=str(tmp_path / "case.png"), full_page=True)
        desktop.close()


def test_a_place_shown_on_a_page_gets_a_small_map_around_its_point(
    browser: Any, database: Database, ctx: EngineContext, settings: Settings, app: Any, tmp_path: Path
) -> None:
    mapped = mapped_app(database, ctx, settings)
    with serving(mapped) as url:
        desktop = browser.new_context(**DESKTOP)
        asked = serve_tiles(desktop)
        page = desktop.new_page()
        log_in(page, url, "mayor")
        shown = str(place_html({"lat": 37.263573, "lon": 127.028601, "address": "수원시 팔달구 효원로 241"}, "ko"))
        page.evaluate("html => document.querySelector('main').insertAdjacentHTML('afterbegin', html)", shown)
        page.wait_for_function("() => document.querySelectorAll('.cf-place .cf-map img').length > 0")
        assert page.locator(".cf-place .cf-map").is_visible()
        assert all(u.startswith("http://tiles.test/16/") for u in asked)
        marker = page.locator(".cf-place .cf-map-marker").bounding_box()
        map_box = page.locator(".cf-place .cf-map").bounding_box()
        assert abs(marker["x"] + marker["width"] / 2 - (map_box["x"] + map_box["width"] / 2)) < 12  # the point mid-map
        page.locator(".cf-place").screenshot(path=str(tmp_path / "place.png"))
        desktop.close()
