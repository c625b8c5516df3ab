"""Attachments: files on an instance (photos from the field, scans), size-limited, type-checked,
stored once by sha256 outside the database, each one an audit record.

A photo (JPEG, PNG, GIF or WebP) is decoded when it is stored: one that does not decode, or that
claims more than ``MAX_PIXELS`` pixels (a decompression bomb), is refused; one that does becomes a
verified image with a thumbnail (``THUMBNAIL_PX``, turned upright by its EXIF orientation, without
its metadata, GPS included), stored beside it. Only verified images are shown inline on a page;
every other file, HEIC photos included (Pillow cannot read them), is a download.

A refused file raises ``FileRefused`` (``FileTooLarge`` over the size limit): its ``detail`` is
English for the API and the logs, its ``code`` and ``params`` let a page say it in its reader's
language.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps
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


class FileRefused(InvalidInput):
    """A file cityflow does not keep: ``code`` names why, ``params`` the values the reason quotes."""

    def __init__(self, code: str, detail: str, **params: Any) -> None:
        super().__init__(detail)
        self.code, self.params = code, params

    @property
    def name(self) -> str:
        """The API names it as before: ``InvalidInput``, or ``TooLarge`` over the limit."""
        return "TooLarge" if isinstance(self, TooLarge) else "InvalidInput"


class FileTooLarge(FileRefused, TooLarge):
    """A file over the size limit."""


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


DECODED = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})  # photos Pillow verifies
MAX_PIXELS = 50_000_000  # a 48-megapixel phone photo fits; a decompression bomb claims far more
THUMBNAIL_PX = 320
THUMBNAIL_TYPE = "image/jpeg"
_PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}


def thumbnail_of(data: bytes, content_type: str) -> bytes | None:
    """The thumbnail of a photo of a type cityflow decodes (a JPEG without metadata), else None.

    Raises ``InvalidInput`` when the bytes look like such a photo but do not decode as one,
    or claim more than ``MAX_PIXELS`` pixels: the size is read from the header and checked
    before anything is decoded.
    """
    if content_type not in DECODED:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[content_type]]) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise _TooManyPixels(width, height)
                image.draft("RGB", (THUMBNAIL_PX * 2, THUMBNAIL_PX * 2))  # JPEG: decode at a smaller scale
                image.load()  # the first frame, whole: a truncated or corrupt photo fails here
                return _small_jpeg(image)
    except _TooManyPixels as exc:
        raise FileRefused(
            "PHOTO_TOO_MANY_PIXELS",
            f"the photo is {exc.width:,}×{exc.height:,} pixels; the limit is {MAX_PIXELS:,} pixels",
            width=exc.width, height=exc.height, limit=MAX_PIXELS,
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise FileRefused("PHOTO_TOO_MANY_PIXELS_CLAIMED", f"the photo claims more than {MAX_PIXELS:,} pixels",
                          limit=MAX_PIXELS) from None
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError):
        kind = _PILLOW_FORMATS[content_type]
        raise FileRefused("PHOTO_UNREADABLE",
                          f"the file begins like a {kind} photo but cannot be read as one (damaged?)",
                          kind=kind) from None


class _TooManyPixels(Exception):
    def __init__(self, width: int, height: int) -> None:
        super().__init__(f"{width}x{height}")
        self.width, self.height = width, height


def _small_jpeg(image: Image.Image) -> bytes:
    upright = ImageOps.exif_transpose(image)
    if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info):
        rgba = upright.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        upright = flat
    elif upright.mode != "RGB":
        upright = upright.convert("RGB")
    upright.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=82, optimize=True)  # no exif=, icc_profile=: nothing of the original's
    return out.getvalue()


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
    *,
    at: datetime,
) -> Attachment:
    """Attach a file to an instance at the engine's time ``at``, after checking its size and what it really is."""
    if len(data) > max_bytes:
        raise FileTooLarge("FILE_TOO_LARGE", f"the file is {len(data):,} bytes; the limit is {max_bytes:,}",
                           size=len(data), limit=max_bytes)
    if not data:
        raise FileRefused("FILE_EMPTY", "the file is empty")
    actual = sniff(data)
    if actual is None or actual not in ACCEPTED:
        raise FileRefused("FILE_KIND_REFUSED", "this kind of file is not accepted (photos, PDF and text are)")
    declared = declared_type.split(";")[0].strip().lower()
    if declared not in GENERIC_TYPES and declared != actual:
        raise FileRefused("FILE_TYPE_MISMATCH", f"the file says it is {declared} but its content is {actual}",
                          declared=declared, actual=actual)
    thumbnail = thumbnail_of(data, actual)  # decoded before the case is locked: it takes a moment
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
        uploaded_at=at,
        thumbnail_sha256=store.put(thumbnail) if thumbnail is not None else None,
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
                at=at,
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
