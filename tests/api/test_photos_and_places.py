"""Photos and places: a photo is decoded when it is stored and shown as a thumbnail that opens the
picture; anything else is a download; a place reads as its address and coordinates, with a map only
where the city has a tile server."""

from __future__ import annotations

import io
import re
import time
from typing import Any

import lxml.html
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from api.app import create_app
from api.web.media import photo_html, place_html
from engine.config import Settings
from engine.context import EngineContext
from engine.db import Database
from engine.models import Attachment
from tests.api.conftest import Api
from tests.api.test_pages import log_in
from tests.images import jpeg, png, png_claiming

SUGGESTION = {"title": "버스정류장 그늘막", "supporters": 40}
TILES = "https://tiles.city.example/{z}/{x}/{y}.png"
PLACE = {"lat": 37.263573, "lon": 127.028601, "address": "수원시 팔달구 효원로 241"}


def upload(api: Api, instance_id: str, name: str, content: bytes, content_type: str = "image/png",
           username: str = "roads.staff") -> Any:
    return api.call("POST", f"/api/instances/{instance_id}/attachments", username,
                    files={"file": (name, content, content_type)})


def uploaded(api: Api, instance_id: str, name: str, content: bytes, content_type: str = "image/png") -> dict[str, Any]:
    answer = upload(api, instance_id, name, content, content_type)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def picture(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


# -- verified images ---------------------------------------------------------------------------


def test_an_uploaded_png_becomes_a_verified_image_with_a_small_thumbnail(api: Api) -> None:
    case = api.start("roads.staff", "suggestion", SUGGESTION)
    photo = uploaded(api, case["id"], "정류장.png", png(1200, 800))
    assert photo["verified_image"] is True
    assert photo["content_type"] == "image/png"

    thumbnail = api.call("GET", f"/api/attachments/{photo['id']}/thumbnail", "roads.staff")
    assert thumbnail.status_code == 200
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert picture(thumbnail.content).size == (320, 213)  # the long side 320 px, the shape kept
    shown = api.call("GET", f"/api/attachments/{photo['id']}/inline", "roads.staff")
    assert shown.content == png(1200, 800)  # the picture itself, as uploaded
    assert shown.headers["content-type"] == "image/png"
    assert shown.headers["content-disposition"].startswith("inline;")


def test_a_phone_photo_is_turned_upright_in_its_thumbnail_and_loses_its_gps_there(api: Api) -> None:
    case = api.start("roads.staff", "suggestion", SUGGESTION)
    original = jpeg(640, 480, orientation=6, gps=True)  # held sideways; where it was taken in its EXIF
    assert picture(original).getexif().get_ifd(0x8825)  # the test's photo does carry a position
    photo = uploaded(api, case["id"], "IMG_2231.jpg", original, "image/jpeg")
    assert photo["verified_image"] is True

    thumbnail = picture(api.call("GET", f"/api/attachments/{photo['id']}/thumbnail", "roads.staff").content)
    assert thumbnail.size == (240, 320)  # upright: taller than wide
    assert dict(thumbnail.getexif()) == {}
    assert not thumbnail.getexif().get_ifd(0x8825)
    assert api.call("GET", f"/api/attachments/{photo['id']}", "roads.staff").content == original  # kept whole


def test_a_file_named_jpg_that_is_not_a_photo_is_kept_as_a_download_only(api: Api) -> None:
    case = api.start("roads.staff", "suggestion", SUGGESTION)
    note = uploaded(api, case["id"], "현장사진.jpg", "사진 대신 메모".encode(), "application/octet-stream")
    assert (note["content_type"], note["verified_image"]) == ("text/plain", False)

    inline = api.call("GET", f"/api/attachments/{note['id']}/inline", "roads.staff")
    assert inline.status_code == 200
    assert inline.headers["content-disposition"].startswith("attachment;")  # never shown in the browser
    assert inline.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert api.call("GET", f"/api/attachments/{note['id']}/thumbnail", "roads.staff").status_code == 404


@pytest.mark.parametrize(("name", "content", "content_type"), [
    ("깨진.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png"),
    ("잘린.jpg", jpeg(200, 100)[:300], "image/jpeg"),
    ("가짜.jpg", b"\xff\xd8\xff" + b"not a photo at all" * 10, "application/octet-stream"),
])
def test_a_file_that_begins_like_a_photo_but_does_not_decode_is_refused(
    api: Api, name: str, content: bytes, content_type: str
) -> None:
    case = api.start("roads.staff", "suggestion", SUGGESTION)
    answer = upload(api, case["id"], name, content, content_type)
    assert answer.status_code == 422
    assert "cannot be read" in answer.json()["detail"]
    assert api.call("GET", f"/api/instances/{case['id']}/attachments", "roads.staff").json() == []


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (8_000, 7_000)])
def test_a_decompression_bomb_is_refused_before_it_is_decoded(api: Api, width: int, height: int) -> None:
    case = api.start("roads.staff", "suggestion", SUGGESTION)
    bomb = png_claiming(width, height)
    assert len(bomb) < 1000
    began = time.perf_counter()
    answer = upload(api, case["id"], "폭탄.png", bomb)
    assert time.perf_counter() - began < 1.0
    assert answer.status_code == 422
    assert "pixels" in answer.json()["detail"]
    assert api.call("GET", f"/api/instances/{case['id']}/attachments", "roads.staff").json() == []


def test_a_picture_and_its_thumbnail_are_sent_so_that_no_browser_runs_them(api: Api) -> None:
    case = api.start("roads.staff", "suggestion", SUGGESTION)
    photo = uploaded(api, case["id"], "정류장.png", png(50, 50))
    for view in ("inline", "thumbnail"):
        answer = api.call("GET", f"/api/attachments/{photo['id']}/{view}", "roads.staff")
        assert answer.headers["x-content-type-options"] == "nosniff"
        policy = [part.strip() for part in answer.headers["content-security-policy"].split(";")]
        assert policy[0] == "default-src 'none'"
        assert "img-src 'self'" in policy
        assert not [part for part in policy if part.startswith("script-src")]
        assert answer.headers["content-disposition"].startswith("inline;")


def test_whoever_may_not_read_the_case_gets_no_picture_and_no_thumbnail(api: Api) -> None:
    case = api.start("roads.staff", "suggestion", SUGGESTION)
    photo = uploaded(api, case["id"], "정류장.png", png(50, 50))
    for view in ("", "/inline", "/thumbnail"):
        assert api.call("GET", f"/api/attachments/{photo['id']}{view}", "welfare.staff").status_code == 403
        assert api.call("GET", f"/api/attachments/999999{view}", "roads.staff").status_code == 404
        assert api.call("GET", f"/api/attachments/{photo['id']}{view}").status_code == 401


# -- on the pages ------------------------------------------------------------------------------


def test_the_case_page_shows_a_photo_as_a_thumbnail_that_opens_it_and_other_files_by_name(
    api: Api, client: TestClient
) -> None:
    case = api.start("roads.staff", "suggestion", SUGGESTION)
    photo = uploaded(api, case["id"], "정류장.png", png(400, 300))
    note = uploaded(api, case["id"], "메모.txt", "현장 메모".encode(), "text/plain")
    log_in(client, "roads.staff")
    page = lxml.html.fromstring(client.get(f"/instances/{case['id']}").text)

    (thumbnail,) = page.xpath(f"//a[@href='/api/attachments/{photo['id']}/inline']/img")
    assert thumbnail.get("src") == f"/api/attachments/{photo['id']}/thumbnail"
    assert thumbnail.get("alt") == "정류장.png"
    assert not page.xpath(f"//a[@href='/api/attachments/{note['id']}/inline']")
    assert not page.xpath(f"//img[@src='/api/attachments/{note['id']}/thumbnail']")
    (download,) = page.xpath(f"//a[@href='/api/attachments/{note['id']}']")
    assert download.text_content() == "메모.txt"


def files_of(*files: tuple[int, str, bool]) -> list[Attachment]:
    return [Attachment(id=number, filename=name, thumbnail_sha256="ab" * 32 if image else None)
            for number, name, image in files]


def test_a_kept_photo_reads_as_its_thumbnail_a_file_by_its_name_and_a_stranger_s_file_as_missing() -> None:
    files = files_of((4, "정류장.jpg", True), (5, "계획서.pdf", False))
    html = lxml.html.fromstring(str(photo_html(["attachment:4", "attachment:5", "attachment:99"], files, "ko")))
    assert html.xpath("//a[@href='/api/attachments/4/inline']/img/@src") == ["/api/attachments/4/thumbnail"]
    assert html.xpath("//a[@href='/api/attachments/5']/text()") == ["계획서.pdf"]
    assert "파일을 찾을 수 없습니다" in html.text_content()
    assert "attachment:" not in html.text_content()
    by_id = {file.id: file for file in files}
    assert photo_html("attachment:4", by_id, "en") == photo_html("attachment:4", files, "en")
    assert "File not found" in photo_html("attachment:99", files, "en")


def test_a_place_reads_as_its_address_and_coordinates_never_as_json() -> None:
    html = lxml.html.fromstring(str(place_html(PLACE, "ko")))
    assert html.text_content().strip() == "수원시 팔달구 효원로 241 (37.2636, 127.0286)"
    (box,) = html.xpath("//*[@data-cf-map]")
    assert (box.get("data-lat"), box.get("data-lon"), box.get("hidden")) == ("37.263573", "127.028601", "")
    words = lxml.html.fromstring(str(place_html(PLACE, "en", with_map=False)))
    assert words.text_content() == "수원시 팔달구 효원로 241 (37.2636, 127.0286)"
    assert not words.xpath("//*[@data-cf-map]")
    only_point = lxml.html.fromstring(str(place_html({"lat": 37.5, "lon": 127.0}, "ko")))
    assert only_point.text_content().strip() == "(37.5000, 127.0000)"
    only_address = lxml.html.fromstring(str(place_html({"address": "시청 앞 광장"}, "ko")))
    assert only_address.text_content() == "시청 앞 광장"
    assert not only_address.xpath("//*[@data-cf-map]")
    hostile = str(place_html({"lat": 37.5, "lon": 127.0, "address": "<script>alert(1)</script>"}, "ko"))
    assert "<script>" not in hostile
    assert "&lt;script&gt;" in hostile


def test_a_place_in_a_field_report_reads_as_address_and_coordinates_on_its_case_page(
    api: Api, client: TestClient
) -> None:
    case = api.start("roads.staff", "field_report", {"title": "보도 파손"})
    photo = uploaded(api, case["id"], "보도.png", png(300, 200))
    task = api.only_task(api.call("GET", f"/api/instances/{case['id']}", "roads.staff").json())
    done = api.call("POST", f"/api/tasks/{task['id']}/complete", "roads.staff", json={"data": {
        "photos_before": [f"attachment:{photo['id']}"], "location": PLACE, "category": "도로파손",
        "description": "보도블록이 깨져 있습니다.", "urgency": "보통"}})
    assert done.status_code == 200, done.text
    log_in(client, "roads.staff")
    page = client.get(f"/instances/{case['id']}").text
    text = lxml.html.fromstring(page).text_content()
    assert re.search(r"수원시 팔달구 효원로 241\s*\(?37\.263\d*, 127\.028\d*\)?", text)
    assert '"lat"' not in page
    assert "&#34;lat&#34;" not in page


# -- the map, only with a tile server ----------------------------------------------------------


def with_tiles(database: Database, ctx: EngineContext, settings: Settings) -> TestClient:
    mapped = Settings(**{**settings.model_dump(), "map_tiles": TILES, "map_attribution": "© 시 공간정보"})
    return TestClient(create_app(mapped, database, ctx))


def field_report_form(api: Api, client: TestClient) -> Any:
    case = api.start("roads.staff", "field_report", {"title": "보도 파손"})
    task = api.only_task(case)
    log_in(client, "roads.staff")
    return client.get(f"/tasks/{task['id']}")


def test_with_a_tile_server_the_location_form_gets_a_map_and_pages_may_load_its_tiles(
    api: Api, app: Any, database: Database, ctx: EngineContext, settings: Settings
) -> None:
    with with_tiles(database, ctx, settings) as client:
        answer = field_report_form(api, client)
    page = lxml.html.fromstring(answer.text)
    (script,) = page.xpath("//script[@src='/static/map.js']")
    assert script.get("data-tiles") == TILES
    assert script.get("data-center") == "37.2636,127.0286"
    assert script.get("data-attribution") == "© 시 공간정보"
    assert page.xpath("//fieldset[contains(@class, 'cf-location')]//input[@name='location.lat']")
    images = next(p for p in answer.headers["content-security-policy"].split(";") if p.strip().startswith("img-src"))
    assert images.split() == ["img-src", "'self'", "data:", "blob:", "https://tiles.city.example"]


def test_without_a_tile_server_there_is_no_map_and_no_other_site_s_images(api: Api, client: TestClient) -> None:
    answer = field_report_form(api, client)
    page = lxml.html.fromstring(answer.text)
    assert not page.xpath("//script[@src='/static/map.js']")
    images = next(p for p in answer.headers["content-security-policy"].split(";") if p.strip().startswith("img-src"))
    assert images.split() == ["img-src", "'self'", "data:", "blob:"]
    location = page.xpath("//fieldset[contains(@class, 'cf-location')]")[0]
    assert location.xpath(".//input[@name='location.address']")  # the address alone will do
    assert "지도" not in location.text_content()  # no help that promises a map


# -- the mayor's directive, given in the field -------------------------------------------------


def test_the_mayor_gives_a_directive_on_site_with_photos_from_the_camera_and_the_place(
    api: Api, client: TestClient
) -> None:
    case = api.start("mayor", "directive", {"title": "어두운 골목 가로등 정비"})
    task = api.only_task(case)
    log_in(client, "mayor")
    form = client.get(f"/tasks/{task['id']}")
    page = lxml.html.fromstring(form.text)
    (camera,) = page.xpath("//input[@type='file'][@name='photos'][@capture]")
    assert (camera.get("accept"), camera.get("capture")) == ("image/*", "environment")
    assert camera.get("multiple") is not None or page.xpath("//input[@type='file'][@name='photos'][@multiple]")
    place = page.xpath("//fieldset[contains(@class, 'cf-location')]")[0]
    assert [i.get("name") for i in place.xpath(".//input")] == ["location.lat", "location.lon", "location.address"]

    answer = client.post(f"/tasks/{task['id']}", data={
        "csrf_token": page.xpath("//input[@name='csrf_token']/@value")[0],
        "title": "어두운 골목 가로등 정비", "content": "행궁동 골목 가로등을 이번 달 안에 정비하세요.",
        "issuer": "mayor", "source": "현장", "issued_on": "2026-12-07",
        "location.lat": "37.282", "location.lon": "127.013", "location.address": "수원시 팔달구 행궁동 골목",
    }, files=[("photos", ("골목1.jpg", jpeg(800, 600), "image/jpeg")),
              ("photos", ("골목2.png", png(600, 800), "image/png"))], follow_redirects=False)
    assert answer.status_code == 303, answer.text
    data = api.call("GET", f"/api/instances/{case['id']}", "mayor").json()["data"]
    assert data["location"] == {"lat": 37.282, "lon": 127.013, "address": "수원시 팔달구 행궁동 골목"}
    files = {f"attachment:{f['id']}": f for f in api.call("GET", f"/api/instances/{case['id']}/attachments", "mayor").json()}
    assert len(data["photos"]) == 2
    assert [(files[ref]["filename"], files[ref]["verified_image"]) for ref in data["photos"]] == [
        ("골목1.jpg", True), ("골목2.png", True)]


def test_a_directive_may_name_its_place_by_address_alone_but_not_by_half_a_coordinate(api: Api) -> None:
    case = api.start("mayor", "directive", {"title": "시청 앞 광장 그늘막"})
    task = api.only_task(case)
    given = {"title": "시청 앞 광장 그늘막", "content": "그늘막을 늘리세요.", "issuer": "mayor", "source": "간부회의",
             "issued_on": "2026-12-07"}
    half = api.call("POST", f"/api/tasks/{task['id']}/complete", "mayor",
                    json={"data": {**given, "location": {"lat": 37.26}}})
    assert half.status_code == 422
    assert {"field": "location.lon", "message": "필수 항목입니다."} in half.json()["errors"]
    done = api.call("POST", f"/api/tasks/{task['id']}/complete", "mayor",
                    json={"data": {**given, "location": {"address": "시청 앞 광장"}}})
    assert done.status_code == 200, done.text
