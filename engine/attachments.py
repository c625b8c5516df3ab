"""Attachments: files on an instance (photos from the field, scans), size-limited, type-checked,
stored once by sha256 outside the database, each one an audit record."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import access, audit, instances
from engine.errors import InvalidInput, NotFound, TooLarge
from engine.identity import Principal
from engine.models import Attachment

MAX_BYTES = 10 * 1024 * 1024
ACCEPTED = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
}
GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream"}


def sniff(data: bytes) -> str | None:
    """The content type the bytes themselves show, for the types cityflow accepts."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1"):
        return "image/heic"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if b"\0" not in data[:8192]:
        try:
            data.decode("utf-8")
            return "text/plain"
        except UnicodeDecodeError:
            return None
    return None


class BlobStore:
    """Content-addressed files under one folder: ``ab/cd/abcd…``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent)
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, target)
        return digest

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()


def _safe_name(filename: str) -> str:
    name = os.path.basename(filename.replace("\\", "/")).strip() or "file"
    return "".join(c for c in name if c.isprintable())[:200]


def add_attachment(
    session: Session,
    store: BlobStore,
    principal: Principal,
    instance_id: str,
    filename: str,
    declared_type: str,
    data: bytes,
    task_id: str | None = None,
    max_bytes: int = MAX_BYTES,
) -> Attachment:
    """Attach a file to an instance, after checking its size and what it really is."""
    if len(data) > max_bytes:
        raise TooLarge(f"the file is {len(data):,} bytes; the limit is {max_bytes:,}")
    if not data:
        raise InvalidInput("the file is empty")
    actual = sniff(data)
    if actual is None or actual not in ACCEPTED:
        raise InvalidInput("this kind of file is not accepted (photos, PDF and text are)")
    declared = declared_type.split(";")[0].strip().lower()
    if declared not in GENERIC_TYPES and declared != actual:
        raise InvalidInput(f"the file says it is {declared} but its content is {actual}")
    instance = instances.lock_instance(session, instance_id)
    access.require_may_take_part(session, principal, instance, "attach a file")
    digest = store.put(data)
    attachment = Attachment(
        instance_id=instance_id,
        task_id=task_id,
        sha256=digest,
        filename=_safe_name(filename),
        content_type=actual,
        size=len(data),
        uploaded_by=principal.username,
    )
    session.add(attachment)
    audit.append_to_instance(
        session,
        instance,
        [
            audit.Entry(
                action="attachment.added",
                actor=principal.username,
                task_id=task_id,
                detail={"sha256": digest, "filename": attachment.filename, "size": len(data), "content_type": actual},
            )
        ],
        None,
    )
    session.flush()
    return attachment


def get_attachment(session: Session, principal: Principal, attachment_id: int) -> Attachment:
    attachment = session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound(f"no attachment {attachment_id}")
    instance = instances.get_instance(session, attachment.instance_id)
    access.require_may_see(session, principal, instance)
    return attachment


def attachments_of(session: Session, instance_id: str) -> list[Attachment]:
    return list(
        session.execute(
            select(Attachment).where(Attachment.instance_id == instance_id).order_by(Attachment.id)
        ).scalars()
    )


_REFERENCE = re.compile(r"^attachment:(\d+)$")


def bad_references(session: Session, instance_id: str, data: Any, path: str = "") -> list[tuple[str, str]]:
    """Every ``attachment:<id>`` in ``data`` that is not a file of this instance, as (field, message)."""
    found: list[tuple[str, str]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            found += bad_references(session, instance_id, value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += bad_references(session, instance_id, value, f"{path}[{index}]")
    elif isinstance(data, str) and (match := _REFERENCE.match(data)):
        attachment = session.get(Attachment, int(match.group(1)))
        if attachment is None or attachment.instance_id != instance_id:
            found.append((path, f"{data} is not a file of this case"))
    return found
