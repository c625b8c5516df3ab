"""A photo is verified once, when it is stored: the record says so and its thumbnail is in the store,
read back from the database as any later request would; a city that upgrades keeps its old files as
downloads."""

from __future__ import annotations

import io
from pathlib import Path

from alembic import command
from PIL import Image
from sqlalchemy import Engine, text

from engine import attachments
from engine.attachments import BlobStore
from engine.db import Database
from engine.identity import Principal
from engine.migrate import alembic_config
from engine.models import Attachment
from tests.engine.helpers import Driver, bpmn, chain, process, user_task, write_folder
from tests.engine.test_migrations import blank  # noqa: F401 - the fixture: a database without a schema
from tests.images import jpeg

REPORTER = Principal(username="roads.staff", display_name="roads.staff", roles=frozenset({"staff"}),
                     groups=frozenset())
PROCESS = bpmn(process("site_visit", '<bpmn:startEvent id="start"/>' + user_task("report", "보고")
                       + '<bpmn:endEvent id="end"/>' + chain("start", "report", "end")))


def stored(driver: Driver, store: BlobStore, tmp_path: Path, name: str, content: bytes) -> int:
    driver.deploy(write_folder(tmp_path, "site_visit", {"site_visit.bpmn": PROCESS}))
    instance_id = driver.start("site_visit", initiator=REPORTER.username)
    with driver.database.unit_of_work() as session:
        return attachments.add_attachment(session, store, REPORTER, instance_id, name, "", content,
                                          at=driver.ctx.clock()).id


def test_a_stored_photo_is_read_back_as_a_verified_image_with_its_thumbnail_in_the_store(
    driver: Driver, tmp_path: Path
) -> None:
    store = BlobStore(tmp_path / "blobs")
    photo_id = stored(driver, store, tmp_path, "현장.jpg", jpeg(1600, 1200))
    with driver.database.unit_of_work() as session:
        photo = session.get(Attachment, photo_id)
        assert photo is not None
        assert photo.verified_image
        assert photo.thumbnail_sha256 != photo.sha256
        thumbnail = Image.open(io.BytesIO(store.get(photo.thumbnail_sha256 or "")))
    assert (thumbnail.format, thumbnail.size) == ("JPEG", (320, 240))


def test_a_text_file_is_stored_without_a_thumbnail(driver: Driver, tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    note_id = stored(driver, store, tmp_path, "메모.txt", "현장 메모".encode())
    with driver.database.unit_of_work() as session:
        note = session.get(Attachment, note_id)
        assert note is not None
        assert (note.content_type, note.verified_image, note.thumbnail_sha256) == ("text/plain", False, None)
    assert len([path for path in (tmp_path / "blobs").rglob("*") if path.is_file()]) == 1


def test_files_stored_before_the_upgrade_stay_downloads(blank: Engine) -> None:  # noqa: F811
    config = alembic_config(blank)
    with blank.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0007")
        connection.execute(text(
            "INSERT INTO process_versions (id, key, version, hash, name, entry_point, files, spec, deployed_at,"
            " deployed_by) VALUES (1, 'suggestion', 1, 'h', '시민제안', 'suggestion', '{}', '{}',"
            " '2026-11-01 00:00:00', 'designer')"))
        connection.execute(text(
            "INSERT INTO instances (id, process_version_id, process_key, status, initiator, data, state, audit_seq,"
            " audit_head, started_at, lock_version) VALUES ('i1', 1, 'suggestion', 'running', 'roads.staff', '{}', '',"
            " 0, '', '2026-11-01 00:00:00', 1)"))
        connection.execute(text(
            "INSERT INTO attachments (id, instance_id, sha256, filename, content_type, size, uploaded_by, uploaded_at)"
            " VALUES (1, 'i1', :sha, '예전.jpg', 'image/jpeg', 10, 'roads.staff', '2026-11-01 00:00:00')"),
            {"sha": "ab" * 32})
        command.upgrade(config, "head")
    with Database(blank.url.render_as_string(hide_password=False)).unit_of_work() as session:
        old = session.get(Attachment, 1)
        assert old is not None
        assert (old.filename, old.verified_image) == ("예전.jpg", False)
