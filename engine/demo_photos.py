"""Photos for the demo city hall's field reports, drawn rather than shipped: a street scene with
the problem in it (a pothole, a parked car, dumped bags, a dark street light, smoke, a house),
and the same scene after the fix. Plain PNG, made with zlib alone, the same bytes every time."""

from __future__ import annotations

import struct
import zlib
from functools import lru_cache

WIDTH, HEIGHT = 320, 240
Colour = tuple[int, int, int]

SKY: Colour = (186, 214, 236)
BUILDING: Colour = (156, 160, 168)
WINDOW: Colour = (222, 228, 236)
PAVEMENT: Colour = (196, 188, 172)
ROAD: Colour = (88, 92, 98)
LANE: Colour = (238, 238, 230)
TREE: Colour = (74, 128, 76)


class _Canvas:
    """A tiny RGB canvas: rectangles and discs, drawn row by row."""

    def __init__(self, width: int, height: int, background: Colour) -> None:
        self.width, self.height = width, height
        self.rows = [bytearray(bytes(background) * width) for _ in range(height)]

    def rect(self, x0: int, y0: int, x1: int, y1: int, colour: Colour) -> None:
        x0, x1 = max(0, x0), min(self.width, x1)
        for y in range(max(0, y0), min(self.height, y1)):
            self.rows[y][x0 * 3:x1 * 3] = bytes(colour) * max(0, x1 - x0)

    def disc(self, cx: int, cy: int, rx: int, ry: int, colour: Colour) -> None:
        for y in range(max(0, cy - ry), min(self.height, cy + ry + 1)):
            span = rx * (1 - ((y - cy) / ry) ** 2) ** 0.5 if ry else rx
            self.rect(int(cx - span), y, int(cx + span) + 1, y + 1, colour)

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(row) for row in self.rows)

        def chunk(kind: bytes, body: bytes) -> bytes:
            return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
                + chunk(b"IEND", b""))


def _street(canvas: _Canvas, variant: int) -> None:
    """Buildings, trees, a pavement and a road; ``variant`` moves the buildings about."""
    x = 0
    for n in range(7):
        width = 38 + (variant * 7 + n * 13) % 24
        top = 40 + (variant * 11 + n * 17) % 50
        canvas.rect(x, top, x + width - 4, 130, BUILDING)
        for wy in range(top + 8, 124, 14):
            for wx in range(x + 6, x + width - 12, 12):
                canvas.rect(wx, wy, wx + 6, wy + 7, WINDOW)
        x += width
    for tx in (30 + variant * 9 % 40, 170 + variant * 5 % 50, 285):
        canvas.rect(tx - 2, 112, tx + 2, 134, (96, 72, 52))
        canvas.disc(tx, 104, 14, 12, TREE)
    canvas.rect(0, 130, WIDTH, 160, PAVEMENT)
    for px in range(0, WIDTH, 20):
        canvas.rect(px, 130, px + 1, 160, (180, 172, 158))
    canvas.rect(0, 160, WIDTH, HEIGHT, ROAD)
    for lx in range(10, WIDTH, 60):
        canvas.rect(lx, 198, lx + 30, 202, LANE)


def _problem(canvas: _Canvas, category: str) -> None:
    if category == "도로파손":
        canvas.disc(150, 145, 34, 9, (92, 84, 72))
        canvas.rect(120, 140, 132, 143, (150, 140, 126))
        canvas.disc(165, 146, 10, 4, (70, 64, 56))
    elif category == "불법주정차":
        canvas.rect(110, 150, 210, 178, (196, 48, 44))
        canvas.rect(128, 134, 190, 152, (176, 40, 38))
        canvas.rect(134, 138, 184, 150, (170, 206, 232))
        canvas.disc(130, 180, 10, 10, (30, 30, 30))
        canvas.disc(190, 180, 10, 10, (30, 30, 30))
    elif category == "쓰레기":
        for n, (cx, r) in enumerate(((120, 14), (146, 17), (172, 12), (196, 15))):
            canvas.disc(cx, 146 - r // 2, r, r, ((40, 40, 44), (236, 236, 232), (64, 110, 70), (40, 40, 44))[n])
        canvas.rect(210, 140, 246, 158, (176, 132, 84))
    elif category == "가로등":
        canvas.rect(200, 46, 205, 150, (70, 74, 80))
        canvas.rect(180, 44, 205, 50, (70, 74, 80))
        canvas.disc(182, 52, 8, 5, (60, 60, 60))
        canvas.rect(0, 0, WIDTH, 20, (120, 140, 170))
    elif category == "환경오염":
        for n in range(6):
            canvas.disc(90 + n * 28, 70 - n * 6, 30, 18, (150, 136, 112))
        canvas.disc(240, 150, 30, 8, (110, 96, 60))
    elif category == "위기가구":
        canvas.rect(110, 90, 210, 150, (214, 196, 160))
        canvas.rect(146, 112, 172, 150, (120, 84, 60))
        canvas.rect(120, 100, 140, 116, (60, 64, 70))
        canvas.rect(180, 100, 200, 116, (60, 64, 70))
        canvas.rect(100, 78, 220, 92, (150, 64, 52))
    else:
        canvas.rect(120, 120, 200, 150, (230, 190, 60))
        canvas.rect(156, 124, 164, 140, (40, 40, 40))


def _fixed(canvas: _Canvas, category: str) -> None:
    if category == "도로파손":
        canvas.rect(112, 137, 190, 154, (120, 120, 124))
    elif category == "가로등":
        canvas.rect(200, 46, 205, 150, (70, 74, 80))
        canvas.rect(180, 44, 205, 50, (70, 74, 80))
        canvas.disc(182, 54, 14, 10, (255, 236, 150))
        canvas.disc(182, 52, 8, 5, (255, 250, 210))
    elif category == "위기가구":
        canvas.rect(110, 90, 210, 150, (226, 214, 186))
        canvas.rect(146, 112, 172, 150, (120, 84, 60))
        canvas.rect(120, 100, 140, 116, (250, 236, 170))
        canvas.rect(180, 100, 200, 116, (250, 236, 170))
        canvas.rect(100, 78, 220, 92, (150, 64, 52))


@lru_cache(maxsize=64)
def street_photo(category: str, variant: int = 0, fixed: bool = False) -> bytes:
    """A PNG of a street with the problem of ``category`` — or, ``fixed``, after it was dealt with."""
    canvas = _Canvas(WIDTH, HEIGHT, SKY)
    _street(canvas, variant)
    if fixed:
        _fixed(canvas, category)
    else:
        _problem(canvas, category)
    return canvas.png()
