"""Photos for tests, made with Pillow: real files of a given size and colour, and some that only pretend."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def png(width: int = 1, height: int = 1, colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def jpeg(width: int = 64, height: int = 48, colour: tuple[int, int, int] = (40, 90, 200), *,
         orientation: int | None = None, gps: bool = False) -> bytes:
    """A JPEG, perhaps with an EXIF orientation (6: the camera was turned a quarter clockwise) and a GPS tag."""
    image = Image.new("RGB", (width, height), colour)
    exif = image.getexif()
    if orientation is not None:
        exif[0x0112] = orientation
    if gps:
        exif[0x8825] = {1: "N", 2: (37.0, 15.0, 49.0), 3: "E", 4: (127.0, 1.0, 43.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims ``width`` × ``height`` pixels: a decompression bomb's first bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * 65536, 9)  # zeros compress a thousandfold: this is how a bomb is small
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
