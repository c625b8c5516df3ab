"""A photo field: the camera on a phone, several shots one after another, and the photos kept
named as people know them (their file names and thumbnails), never by their references."""

from __future__ import annotations

from forms.render import AttachedFile
from tests.forms.test_render import page_of

PHOTOS = {"photos": {"type": "array", "items": {"type": "string", "contentMediaType": "image/*"}}}
CAMERA = {"photos": {"widget": "photo", "label": "현장 사진"}}


def test_several_photos_are_taken_with_the_camera_one_after_another() -> None:
    page = page_of(PHOTOS, CAMERA)
    camera = page.by_id("f-photos")
    assert (camera.get("accept"), camera.get("capture")) == ("image/*", "environment")
    assert camera.has("multiple")
    assert camera.has("data-cf-camera")  # the form's script offers a fresh input after each shot
    assert camera.get("data-cf-another") == "사진 더 찍기"
    assert page.find("script")


def test_a_single_photo_needs_no_script() -> None:
    page = page_of({"photo": {"type": "string"}}, {"photo": {"widget": "photo"}})
    assert not page.by_id("f-photo").has("data-cf-camera")
    assert not page.find("script")


def test_kept_photos_show_their_names_and_thumbnails_when_the_page_knows_them() -> None:
    page = page_of(PHOTOS, CAMERA, data={"photos": ["attachment:4", "attachment:9"]},
                   attached={"attachment:4": AttachedFile("골목.jpg", "/api/attachments/4/thumbnail")})
    assert page.label_of(page.by_id("f-photos/kept0")) == "첨부된 파일 유지: 골목.jpg"
    assert page.label_of(page.by_id("f-photos/kept1")) == "첨부된 파일 유지: 사진 2"
    assert [img.get("src") for img in page.find("img")] == ["/api/attachments/4/thumbnail"]
    assert page.value_of("photos") == ["attachment:4", "attachment:9"]


def test_a_kept_file_that_is_not_a_photo_is_called_a_file_in_english_too() -> None:
    page = page_of({"papers": {"type": "array", "items": {"type": "string", "contentMediaType": "application/pdf"}}},
                   data={"papers": ["attachment:7"]}, locale="en")
    assert page.label_of(page.by_id("f-papers/kept0")) == "Keep attached file: file 1"
