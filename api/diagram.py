"""BPMN diagrams as standalone SVG, for the process and instance pages.

:func:`render_svg` reads the diagram interchange (BPMN DI) of one process folder's
files and draws it the way bpmn.io does, closely enough to be recognised:

* pools (participants) and lanes: rectangles, the name written vertically in a band
  on the left (on top for vertical pools); a pool without a process is a plain box
  with its name in the middle;
* tasks: rounded rectangles with the name wrapped inside, a glyph in the top-left
  corner for user, manual, service, script, business rule, send and receive tasks,
  and markers at the bottom centre for multi-instance (``|||`` parallel, ``≡``
  sequential), standard loops, compensation and ad-hoc sub-processes;
* sub-processes and call activities: rounded rectangles, call activities with a thick
  border, collapsed ones with a ``[+]`` marker, transactions with a double border,
  event sub-processes dotted; expanded ones (``isExpanded``, or whose children have
  shapes in the plane) carry their name in the top-left corner;
* events: circles (start thin, end thick, intermediate and boundary double, dashed when
  non-interrupting) with an icon for timer, message, signal, error, escalation,
  conditional, compensation, link, cancel, terminate and multiple definitions;
  the icons of throwing events are filled;
* gateways: diamonds with ``×`` (exclusive), ``+`` (parallel), ``○`` (inclusive),
  ``*`` (complex) or the event-based circle-and-pentagon;
* data objects (page with a folded corner; input, output and collection markers),
  data stores (cylinder), messages (envelope), text annotations (open bracket) and
  groups (dash-dotted rounded rectangle);
* sequence flows as polylines with a filled arrowhead, a slash at the start of a default
  flow and a diamond at the start of a conditional flow leaving an activity; message
  flows dashed, from an open circle to a hollow arrowhead; associations and data
  associations dotted, with an open arrowhead when directed.

Painting order: pools, lanes and open sub-processes; then flows; then the other
nodes, boundary events, annotations and groups. Names are wrapped by an estimate of
their width (a Hangul syllable counts about twice a Latin letter); labels outside
shapes have a white halo so that a crossing line leaves them readable. Labels of
events, gateways, data and flows go where their ``bpmndi:BPMNLabel`` bounds say, else
below the shape (or above the middle of a flow).
Every element is one ``<g>`` with ``data-element-id`` and a ``<title>`` holding its
name; ``marks`` add a ``cf-completed``, ``cf-active``, ``cf-overdue`` or ``cf-error``
class, coloured by the embedded stylesheet.

What is not drawn: element colours chosen in the modeler, choreographies and
conversations (they come out as plain rectangles), label fonts from ``BPMNLabelStyle``,
and diagrams other than the one chosen (see :func:`render_svg`).

The SVG is built as an lxml tree, so every name, id and title is escaped by the
serialiser; characters that XML cannot carry are dropped first. Input files are read
only through :func:`engine.bpmn_xml.parse_xml`. Nothing here raises: a file that
cannot be read is skipped, a shape with unusable numbers is left out, and a folder
without any layout gives a small SVG saying so.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, cast

from lxml import etree

from engine.bpmn_xml import BPMN_NS, parse_xml

__all__ = ["MARK_KINDS", "NO_LAYOUT_TEXT", "UNREADABLE_TEXT", "render_svg"]

_log = logging.getLogger(__name__)

SVG_NS: Final = "http://www.w3.org/2000/svg"
BPMNDI_NS: Final = "http://www.omg.org/spec/BPMN/20100524/DI"

MARK_KINDS: Final = frozenset({"completed", "active", "overdue", "error"})
"""The values ``marks`` may give an element; anything else is ignored."""

NO_LAYOUT_TEXT: Final = "도면 정보가 없습니다"
"""Shown when the files hold no diagram layout (no BPMN DI) to draw."""

UNREADABLE_TEXT: Final = "도면을 읽을 수 없습니다"
"""Shown when none of the files could be read as XML."""

FONT_STACK: Final = '"Noto Sans KR", "Apple SD Gothic Neo", "Malgun Gothic", sans-serif'
DEFAULT_TITLE: Final = "업무 흐름도"

_MARGIN: Final = 20.0
_MAX_COORD: Final = 1_000_000.0
_MAX_NAME_CHARS: Final = 300
_TASK_FONT: Final = 12.0
_LABEL_FONT: Final = 11.0
_LINE_HEIGHT: Final = 1.2
_EXTERNAL_LABEL_WIDTH: Final = 90.0
_BAND: Final = 30.0

_INK: Final = "#22242a"
_PAPER: Final = "#ffffff"

_STYLE: Final = f"""
.cf-diagram text {{ font-family: {FONT_STACK}; fill: {_INK}; }}
.cf-completed .cf-outline {{ stroke: #4f7a63; fill: #e4eee8; }}
.cf-completed .cf-trim, .cf-completed .cf-path {{ stroke: #4f7a63; }}
.cf-active .cf-outline {{ stroke: #1565c0; fill: #e3efff; stroke-width: 4px; }}
.cf-active .cf-trim {{ stroke: #1565c0; }}
.cf-active .cf-path {{ stroke: #1565c0; stroke-width: 3px; }}
.cf-overdue .cf-outline {{ stroke: #c62828; fill: #fdecea; stroke-width: 4px; }}
.cf-overdue .cf-trim {{ stroke: #c62828; }}
.cf-overdue .cf-path {{ stroke: #c62828; stroke-width: 3px; }}
.cf-error .cf-outline {{ stroke: #e65100; fill: #fff0e0; stroke-width: 4px; }}
.cf-error .cf-trim {{ stroke: #e65100; }}
.cf-error .cf-path {{ stroke: #e65100; stroke-width: 3px; }}
"""

# Characters XML 1.0 cannot carry (lxml refuses them); names and titles lose them.
_NOT_XML_CHAR: Final = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# -------------------------------------------------------------------------- element kinds

_TASKS: Final = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "serviceTask",
        "scriptTask",
        "businessRuleTask",
        "sendTask",
        "receiveTask",
        "globalTask",
        "globalUserTask",
        "globalManualTask",
        "globalScriptTask",
        "globalBusinessRuleTask",
    }
)
_SUB_PROCESSES: Final = frozenset({"subProcess", "transaction", "adHocSubProcess", "callActivity"})
_GLYPH_TASKS: Final = _TASKS - {"task", "globalTask"}
_ACTIVITIES: Final = _TASKS | _SUB_PROCESSES
_EVENTS: Final = frozenset(
    {
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "implicitThrowEvent",
    }
)
_THROWING: Final = frozenset({"endEvent", "intermediateThrowEvent", "implicitThrowEvent"})
_GATEWAYS: Final = frozenset(
    {
        "exclusiveGateway",
        "parallelGateway",
        "inclusiveGateway",
        "eventBasedGateway",
        "complexGateway",
        "gateway",
    }
)
_DATA_OBJECTS: Final = frozenset({"dataObject", "dataObjectReference", "dataInput", "dataOutput"})
_DATA_STORES: Final = frozenset({"dataStore", "dataStoreReference"})
_EXPANDABLE_CHILDREN: Final = _ACTIVITIES | _EVENTS | _GATEWAYS | _DATA_OBJECTS | _DATA_STORES

Point = tuple[float, float]


# -------------------------------------------------------------------------- small types


@dataclass(frozen=True, slots=True)
class _Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True, slots=True)
class _Shape:
    """One ``bpmndi:BPMNShape`` with usable bounds, and the element it shows."""

    ref: str
    kind: str  # local name of the BPMN element; "" when the reference resolves to nothing
    semantic: etree._Element | None
    di: etree._Element
    box: _Box
    label: _Box | None


@dataclass(frozen=True, slots=True)
class _Edge:
    """One ``bpmndi:BPMNEdge`` with at least two usable waypoints."""

    ref: str
    kind: str
    semantic: etree._Element | None
    di: etree._Element
    points: tuple[Point, ...]
    label: _Box | None


@dataclass(slots=True)
class _Extent:
    """The bounding box of everything drawn so far, for the viewBox."""

    x0: float = math.inf
    y0: float = math.inf
    x1: float = -math.inf
    y1: float = -math.inf

    def add(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.x0 = min(self.x0, x0)
        self.y0 = min(self.y0, y0)
        self.x1 = max(self.x1, x1)
        self.y1 = max(self.y1, y1)

    def add_box(self, box: _Box) -> None:
        self.add(box.x, box.y, box.x + box.w, box.y + box.h)

    @property
    def empty(self) -> bool:
        return self.x0 > self.x1 or self.y0 > self.y1


@dataclass(slots=True)
class _Context:
    """What the drawing functions need to know about the model."""

    index: Mapping[str, etree._Element]
    marks: Mapping[str, str]
    shown: frozenset[str]  # ids of the elements that have a shape in the chosen plane
    default_flows: frozenset[str]
    extent: _Extent = field(default_factory=_Extent)


# -------------------------------------------------------------------------- helpers


def _clean(value: object, limit: int = _MAX_NAME_CHARS) -> str:
    """``value`` as text XML can carry, without surrounding blanks, at most ``limit`` chars."""
    if not isinstance(value, str):
        return ""
    text = _NOT_XML_CHAR.sub("", value).replace("\r\n", "\n").replace("\r", "\n").strip()
    return text[:limit]


def _num(value: float) -> str:
    """A coordinate as short text: two decimals at most, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _sub(parent: etree._Element, tag: str, attrib: Mapping[str, str] | None = None) -> etree._Element:
    """A new SVG child element of ``parent``."""
    return etree.SubElement(parent, f"{{{SVG_NS}}}{tag}", dict(attrib or {}))


def _local(el: etree._Element) -> str:
    tag = el.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _is_bpmn(el: etree._Element) -> bool:
    tag = el.tag
    return isinstance(tag, str) and etree.QName(tag).namespace == BPMN_NS


def _children(el: etree._Element, local: str) -> Iterable[etree._Element]:
    """Child elements of ``el`` with the local name ``local``, in any namespace."""
    for child in el:
        if _local(child) == local:
            yield child


def _first_child(el: etree._Element, local: str) -> etree._Element | None:
    return next(iter(_children(el, local)), None)


def _bpmn_children(el: etree._Element, local: str) -> list[etree._Element]:
    return [child for child in el if _is_bpmn(child) and _local(child) == local]


def _flag(el: etree._Element | None, attr: str) -> bool | None:
    """A boolean attribute: True, False, or None when absent or not a boolean."""
    if el is None:
        return None
    value = (el.get(attr) or "").strip().lower()
    return True if value in ("true", "1") else False if value in ("false", "0") else None


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or abs(number) > _MAX_COORD:
        return None
    return number


def _bounds(di: etree._Element) -> _Box | None:
    """The ``dc:Bounds`` directly under ``di``, or None when missing or unusable."""
    bounds = _first_child(di, "Bounds")
    if bounds is None:
        return None
    x, y = _float(bounds.get("x")), _float(bounds.get("y"))
    w, h = _float(bounds.get("width")), _float(bounds.get("height"))
    if x is None or y is None or w is None or h is None or w <= 0 or h <= 0:
        return None
    return _Box(x, y, w, h)


def _label_bounds(di: etree._Element) -> _Box | None:
    label = _first_child(di, "BPMNLabel")
    return _bounds(label) if label is not None else None


def _name(semantic: etree._Element | None) -> str:
    return _clean(semantic.get("name")) if semantic is not None else ""


# -------------------------------------------------------------------------- text


def _char_em(ch: str) -> float:
    """Approximate advance of one character, in ems."""
    if ch == " ":
        return 0.3
    if ch.isascii():
        if ch in "il.,:;'|!()[]":
            return 0.3
        if ch.isupper() or ch.isdigit() or ch in "mwMW@%&":
            return 0.65
        return 0.52
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    return 0.6


def _text_em(text: str) -> float:
    return sum(_char_em(ch) for ch in text)


def _break_word(word: str, max_em: float) -> list[str]:
    """A word too long for one line, cut into pieces that fit (at least one char each)."""
    pieces: list[str] = []
    current, width = "", 0.0
    for ch in word:
        advance = _char_em(ch)
        if current and width + advance > max_em:
            pieces.append(current)
            current, width = "", 0.0
        current += ch
        width += advance
    if current:
        pieces.append(current)
    return pieces


def _wrap(text: str, max_em: float) -> list[str]:
    """Greedy word wrap of ``text`` into lines of at most ``max_em`` ems; newlines kept."""
    max_em = max(max_em, 1.0)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, width = "", 0.0
        for word in paragraph.split():
            word_em = _text_em(word)
            if line and width + 0.3 + word_em <= max_em:
                line, width = f"{line} {word}", width + 0.3 + word_em
                continue
            if line:
                lines.append(line)
            pieces = _break_word(word, max_em) if word_em > max_em else [word]
            lines.extend(pieces[:-1])
            line, width = pieces[-1], _text_em(pieces[-1])
        if line:
            lines.append(line)
    return lines


def _fit(lines: list[str], max_lines: int, max_em: float) -> list[str]:
    """At most ``max_lines`` lines; the last kept one ends in an ellipsis when cut."""
    max_lines = max(max_lines, 1)
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    last = kept[-1]
    while last and _text_em(last) + 1.0 > max_em:
        last = last[:-1]
    kept[-1] = last.rstrip() + "…"
    return kept


def _text_lines(
    parent: etree._Element,
    lines: Sequence[str],
    x: float,
    top: float,
    size: float,
    *,
    anchor: str = "middle",
    transform: str | None = None,
    halo: bool = False,
) -> None:
    """Lines of text from ``top`` down, anchored at ``x`` (start, middle or end).

    With ``halo`` the glyphs get a white outline beneath them, so that a line crossing
    a label outside any shape does not make it unreadable.
    """
    if not lines:
        return
    attrib = {"font-size": _num(size), "text-anchor": anchor, "class": "cf-label"}
    if transform:
        attrib["transform"] = transform
    if halo:
        attrib.update({"stroke": _PAPER, "stroke-width": "3", "stroke-linejoin": "round", "paint-order": "stroke"})
    text = _sub(parent, "text", attrib)
    step = size * _LINE_HEIGHT
    for i, line in enumerate(lines):
        span = _sub(text, "tspan", {"x": _num(x), "y": _num(top + i * step + step / 2 + size * 0.35)})
        span.text = line


def _block_height(count: int, size: float) -> float:
    return count * size * _LINE_HEIGHT


def _note_text_extent(ctx: _Context, lines: Sequence[str], x: float, top: float, size: float, anchor: str) -> None:
    """Widen the viewBox to hold a block of text placed outside any shape."""
    if not lines:
        return
    width = max(_text_em(line) for line in lines) * size
    x0 = x - width / 2 if anchor == "middle" else x - width if anchor == "end" else x
    ctx.extent.add(x0, top, x0 + width, top + _block_height(len(lines), size))


def _label_in_box(
    parent: etree._Element,
    name: str,
    box: _Box,
    *,
    size: float = _TASK_FONT,
    padding: float = 5.0,
    align: str = "centre",
    clear_top: float = 0.0,
) -> None:
    """``name`` wrapped inside ``box``: centred both ways, or from the top-left corner.

    A centred block that would reach into the top ``clear_top`` units (where a task
    type glyph sits) moves down below them when it still fits there.
    """
    if not name:
        return
    max_em = (box.w - 2 * padding) / size
    max_lines = int((box.h - 2 * padding) // (size * _LINE_HEIGHT))
    lines = _fit(_wrap(name, max_em), max_lines, max_em)
    if align == "centre":
        height = _block_height(len(lines), size)
        top = box.cy - height / 2
        if top < box.y + clear_top and box.y + clear_top + height <= box.y + box.h:
            top = box.y + clear_top
        _text_lines(parent, lines, box.cx, top, size)
    else:
        _text_lines(parent, lines, box.x + padding, box.y + padding, size, anchor="start")


def _external_label(parent: etree._Element, ctx: _Context, name: str, shape_box: _Box, label: _Box | None) -> None:
    """A label outside its shape: in its DI label bounds, else centred below the shape."""
    if not name:
        return
    size = _LABEL_FONT
    if label is not None:
        max_em = max(label.w + 8, 40.0) / size
        x, top = label.cx, label.y
    else:
        max_em = _EXTERNAL_LABEL_WIDTH / size
        x, top = shape_box.cx, shape_box.y + shape_box.h + 5
    lines = _fit(_wrap(name, max_em), 8, max_em)
    _text_lines(parent, lines, x, top, size, halo=True)
    _note_text_extent(ctx, lines, x, top, size, "middle")


def _band_label(parent: etree._Element, name: str, box: _Box, horizontal: bool) -> None:
    """The name of a pool or lane, in the band along its left (or top) side."""
    if not name:
        return
    size = _TASK_FONT
    length = (box.h if horizontal else box.w) - 10
    max_em = length / size
    lines = _fit(_wrap(name, max_em), 2, max_em)
    top = -_block_height(len(lines), size) / 2
    if horizontal:
        transform = f"translate({_num(box.x + _BAND / 2)} {_num(box.cy)}) rotate(-90)"
    else:
        transform = f"translate({_num(box.cx)} {_num(box.y + _BAND / 2)})"
    _text_lines(parent, lines, 0, top, size, transform=transform)


# -------------------------------------------------------------------------- glyphs


def _gear_path() -> str:
    """A cog of eight teeth around (8, 8), about 16 units wide."""
    points: list[str] = []
    teeth = 8
    for i in range(teeth * 4):
        angle = 2 * math.pi * i / (teeth * 4)
        radius = 7.5 if i % 4 in (1, 2) else 5.6
        points.append(f"{_num(8 + radius * math.cos(angle))},{_num(8 + radius * math.sin(angle))}")
    return "M" + " L".join(points) + " Z"


def _polygon(cx: float, cy: float, radius: float, corners: int, start: float = -90.0) -> str:
    coords = []
    for i in range(corners):
        angle = math.radians(start + 360.0 * i / corners)
        coords.append(f"{_num(cx + radius * math.cos(angle))},{_num(cy + radius * math.sin(angle))}")
    return " ".join(coords)


_GEAR: Final = _gear_path()
_PENTAGON_36: Final = _polygon(18, 18, 8.5, 5)
_PENTAGON_50: Final = _polygon(25, 25, 6.5, 5)
_PLUS_36: Final = "M16,10 H20 V16 H26 V20 H20 V26 H16 V20 H10 V16 H16 Z"
_CLOCK_TICKS: Final = " ".join(
    f"M{_num(18 + 8.5 * math.cos(a))},{_num(18 + 8.5 * math.sin(a))} "
    f"L{_num(18 + 10.5 * math.cos(a))},{_num(18 + 10.5 * math.sin(a))}"
    for a in (math.radians(30 * i) for i in range(12))
)


def _icon_group(parent: etree._Element, x: float, y: float, scale: float = 1.0) -> etree._Element:
    transform = f"translate({_num(x)} {_num(y)})"
    if abs(scale - 1.0) > 1e-6:
        transform += f" scale({_num(scale) if scale >= 0.01 else '0.01'})"
    return _sub(parent, "g", {"transform": transform})


def _ink(filled: bool) -> dict[str, str]:
    return {"fill": _INK if filled else _PAPER, "stroke": _INK, "stroke-width": "1.5", "stroke-linejoin": "round"}


def _envelope(g: etree._Element, x: float, y: float, w: float, h: float, filled: bool) -> None:
    _sub(g, "rect", {"x": _num(x), "y": _num(y), "width": _num(w), "height": _num(h), **_ink(filled)})
    flap = f"M{_num(x)},{_num(y)} L{_num(x + w / 2)},{_num(y + h * 0.55)} L{_num(x + w)},{_num(y)}"
    _sub(g, "path", {"d": flap, "fill": "none", "stroke": _PAPER if filled else _INK, "stroke-width": "1.5"})


def _task_glyph(g: etree._Element, kind: str, box: _Box) -> None:
    """The small marker of a task type, in the top-left corner (a 16-unit square)."""
    if box.w < 40 or box.h < 30 or kind not in _GLYPH_TASKS:
        return
    icon = _icon_group(g, box.x + 6, box.y + 6)
    thin = {"fill": "none", "stroke": _INK, "stroke-width": "1.2"}
    if kind in ("userTask", "globalUserTask"):
        _sub(icon, "path", {"d": "M1,17 C1,11.5 4,10 8,10 C12,10 15,11.5 15,17 Z", **_ink(False)})
        _sub(icon, "circle", {"cx": "8", "cy": "5.5", "r": "3.6", **_ink(False)})
        _sub(icon, "path", {"d": "M5,13 V17 M11,13 V17", **thin})
    elif kind in ("manualTask", "globalManualTask"):
        hand = "M1,8 C3,5 6,4 8,4 H16 M8,7 H17 M9,10 H16 M9,13 H15 M1,8 V14 C1,15.5 2.5,16 4,16 H14"
        _sub(
            icon, "path", {"d": hand, "fill": "none", "stroke": _INK, "stroke-width": "1.4", "stroke-linecap": "round"}
        )
    elif kind == "serviceTask":
        _sub(icon, "path", {"d": _GEAR, **_ink(False)})
        _sub(icon, "circle", {"cx": "8", "cy": "8", "r": "2.4", **_ink(False)})
    elif kind in ("scriptTask", "globalScriptTask"):
        scroll = "M4,1 H15 C12,4 12,6 14,9 C16,12 16,14 13,17 H2 C5,14 5,12 3,9 C1,6 1,4 4,1 Z"
        _sub(icon, "path", {"d": scroll, **_ink(False)})
        _sub(icon, "path", {"d": "M5,5 H11 M6,9 H12 M6,13 H12", **thin})
    elif kind in ("businessRuleTask", "globalBusinessRuleTask"):
        _sub(icon, "rect", {"x": "0", "y": "2", "width": "17", "height": "13", **_ink(False)})
        _sub(icon, "rect", {"x": "0", "y": "2", "width": "17", "height": "4", **_ink(True)})
        _sub(icon, "path", {"d": "M0,10.5 H17 M5,6 V15", **thin})
    elif kind == "sendTask":
        _envelope(icon, 0, 3, 17, 11, filled=True)
    elif kind == "receiveTask":
        _envelope(icon, 0, 3, 17, 11, filled=False)


def _marker_subprocess(g: etree._Element) -> None:
    _sub(g, "rect", {"x": "0", "y": "0", "width": "14", "height": "14", **_ink(False)})
    _sub(g, "path", {"d": "M7,3 V11 M3,7 H11", "fill": "none", "stroke": _INK, "stroke-width": "1.5"})


def _marker_parallel(g: etree._Element) -> None:
    _sub(g, "path", {"d": "M3,1 V13 M7,1 V13 M11,1 V13", "fill": "none", "stroke": _INK, "stroke-width": "2"})


def _marker_sequential(g: etree._Element) -> None:
    _sub(g, "path", {"d": "M1,3 H13 M1,7 H13 M1,11 H13", "fill": "none", "stroke": _INK, "stroke-width": "2"})


def _marker_loop(g: etree._Element) -> None:
    _sub(g, "path", {"d": "M4,12 A5.5,5.5 0 1 1 10,12", "fill": "none", "stroke": _INK, "stroke-width": "1.5"})
    _sub(g, "path", {"d": "M10,8.5 L10,12.5 L14,12.5", "fill": "none", "stroke": _INK, "stroke-width": "1.5"})


def _marker_compensation(g: etree._Element) -> None:
    _sub(g, "path", {"d": "M1,7 L7,2 V12 Z M7,7 L13,2 V12 Z", **_ink(False)})


def _marker_adhoc(g: etree._Element) -> None:
    _sub(g, "path", {"d": "M1,9 C3,4 6,4 7,7 C8,10 11,10 13,5", "fill": "none", "stroke": _INK, "stroke-width": "1.5"})


def _activity_markers(g: etree._Element, semantic: etree._Element | None, box: _Box, collapsed: bool) -> None:
    """The row of markers centred at the bottom of an activity."""
    painters: list[Callable[[etree._Element], None]] = []
    if semantic is not None:
        kind = _local(semantic)
        loops = _bpmn_children(semantic, "multiInstanceLoopCharacteristics")
        if loops:
            sequential = _flag(loops[0], "isSequential")
            painters.append(_marker_sequential if sequential else _marker_parallel)
        elif _bpmn_children(semantic, "standardLoopCharacteristics"):
            painters.append(_marker_loop)
        if _flag(semantic, "isForCompensation"):
            painters.append(_marker_compensation)
        if kind == "adHocSubProcess":
            painters.append(_marker_adhoc)
    if collapsed:
        painters.insert(len(painters) // 2, _marker_subprocess)
    if not painters or box.h < 24:
        return
    total = len(painters) * 14 + (len(painters) - 1) * 4
    x = box.cx - total / 2
    for painter in painters:
        painter(_icon_group(g, x, box.y + box.h - 18))
        x += 18


# -------------------------------------------------------------------------- shapes


def _outline(attrib: Mapping[str, str]) -> dict[str, str]:
    base = {"class": "cf-outline", "fill": _PAPER, "stroke": _INK, "stroke-width": "2"}
    base.update(attrib)
    return base


def _rect(g: etree._Element, box: _Box, **attrib: str) -> None:
    _sub(
        g,
        "rect",
        _outline({"x": _num(box.x), "y": _num(box.y), "width": _num(box.w), "height": _num(box.h), **attrib}),
    )


def _is_expanded(shape: _Shape, ctx: _Context) -> bool:
    """Whether a sub-process is drawn open: DI says so, or its children have shapes here.

    A call activity is closed unless its DI explicitly says it is expanded.
    """
    flag = _flag(shape.di, "isExpanded")
    if flag is not None or shape.kind == "callActivity":
        return bool(flag)
    if shape.semantic is None:
        return False
    return any(
        child.get("id") in ctx.shown
        for child in shape.semantic
        if _is_bpmn(child) and _local(child) in _EXPANDABLE_CHILDREN
    )


def _draw_task(g: etree._Element, shape: _Shape, ctx: _Context) -> None:
    """Task: rounded rectangle, type glyph top-left, name centred, markers at the bottom."""
    box = shape.box
    _rect(g, box, rx="10", ry="10")
    _task_glyph(g, shape.kind, box)
    inner = _Box(box.x, box.y + 4, box.w, max(box.h - 14, 1)) if box.h > 40 else box
    glyph = shape.kind in _GLYPH_TASKS and box.w >= 40 and box.h >= 30
    _label_in_box(g, _name(shape.semantic), inner, clear_top=box.y + 22 - inner.y if glyph else 0.0)
    _activity_markers(g, shape.semantic, box, collapsed=False)


def _draw_subprocess(g: etree._Element, shape: _Shape, ctx: _Context) -> None:
    """Sub-process or call activity: rounded rectangle; [+] when collapsed."""
    box, semantic = shape.box, shape.semantic
    expanded = _is_expanded(shape, ctx)
    attrib = {"rx": "10", "ry": "10"}
    if shape.kind == "callActivity":
        attrib["stroke-width"] = "5"
    if _flag(semantic, "triggeredByEvent"):
        attrib["stroke-dasharray"] = "2,3"
    if expanded:
        attrib["fill-opacity"] = "0.95"
    _rect(g, box, **attrib)
    if shape.kind == "transaction" and box.w > 12 and box.h > 12:
        inner = _Box(box.x + 3, box.y + 3, box.w - 6, box.h - 6)
        _sub(
            g,
            "rect",
            {
                "class": "cf-trim",
                "x": _num(inner.x),
                "y": _num(inner.y),
                "width": _num(inner.w),
                "height": _num(inner.h),
                "rx": "8",
                "ry": "8",
                "fill": "none",
                "stroke": _INK,
                "stroke-width": "1.5",
            },
        )
    if expanded:
        _label_in_box(g, _name(semantic), box, align="top-left")
    else:
        inner_box = _Box(box.x, box.y, box.w, max(box.h - 16, 1)) if box.h > 40 else box
        _label_in_box(g, _name(semantic), inner_box)
    _activity_markers(g, semantic, box, collapsed=not expanded)


def _event_definitions(semantic: etree._Element | None, ctx: _Context) -> list[str]:
    """Local names of an event's definitions, including those referenced by id."""
    if semantic is None:
        return []
    kinds: list[str] = []
    for child in semantic:
        if not _is_bpmn(child):
            continue
        local = _local(child)
        if local.endswith("EventDefinition"):
            kinds.append(local)
        elif local == "eventDefinitionRef":
            target = ctx.index.get((child.text or "").strip().rpartition(":")[2])
            if target is not None and _local(target).endswith("EventDefinition"):
                kinds.append(_local(target))
    return kinds


def _event_icon(g: etree._Element, kinds: list[str], throwing: bool, parallel: bool) -> None:
    """The icon inside an event, drawn in a 36-unit square."""
    if not kinds:
        return
    if len(kinds) > 1:
        if parallel:
            _sub(g, "path", {"d": _PLUS_36, **_ink(False)})
        else:
            _sub(g, "polygon", {"points": _PENTAGON_36, **_ink(throwing)})
        return
    kind = kinds[0]
    if kind == "timerEventDefinition":
        _sub(g, "circle", {"cx": "18", "cy": "18", "r": "11", "fill": _PAPER, "stroke": _INK, "stroke-width": "2"})
        _sub(g, "path", {"d": _CLOCK_TICKS, "stroke": _INK, "stroke-width": "1"})
        _sub(g, "path", {"d": "M18,18 L18.5,10.5 M18,18 L23,16", "fill": "none", "stroke": _INK, "stroke-width": "1.5"})
    elif kind == "messageEventDefinition":
        _envelope(g, 10, 12.5, 16, 11, filled=throwing)
    elif kind == "signalEventDefinition":
        _sub(g, "path", {"d": "M18,9.5 L26.5,24.5 H9.5 Z", **_ink(throwing)})
    elif kind == "errorEventDefinition":
        _sub(g, "path", {"d": "M10.5,26 L14,11.5 L19.5,19 L24.5,9.5 L22,24.5 L17,17.5 Z", **_ink(throwing)})
    elif kind == "escalationEventDefinition":
        _sub(g, "path", {"d": "M18,9 L25,26 L18,19.5 L11,26 Z", **_ink(throwing)})
    elif kind == "conditionalEventDefinition":
        _sub(g, "rect", {"x": "11.5", "y": "10", "width": "13", "height": "16", **_ink(False)})
        _sub(g, "path", {"d": "M13.5,13.5 H22.5 M13.5,17 H22.5 M13.5,20.5 H22.5 M13.5,24 H22.5", "stroke": _INK})
    elif kind == "terminateEventDefinition":
        _sub(g, "circle", {"cx": "18", "cy": "18", "r": "10", "class": "cf-trim", "fill": _INK, "stroke": _INK})
    elif kind == "compensateEventDefinition":
        _sub(g, "path", {"d": "M9,18 L17,12.5 V23.5 Z M17,18 L25,12.5 V23.5 Z", **_ink(throwing)})
    elif kind == "linkEventDefinition":
        _sub(g, "path", {"d": "M10,15 H20 V11 L27,18 L20,25 V21 H10 Z", **_ink(throwing)})
    elif kind == "cancelEventDefinition":
        cross = (
            "M12,13.5 L13.5,12 L18,16.5 L22.5,12 L24,13.5 L19.5,18 "
            "L24,22.5 L22.5,24 L18,19.5 L13.5,24 L12,22.5 L16.5,18 Z"
        )
        _sub(g, "path", {"d": cross, **_ink(throwing)})


def _draw_event(g: etree._Element, shape: _Shape, ctx: _Context) -> None:
    """Event: circle (start thin, end thick, others double) with its definition's icon."""
    box, semantic, kind = shape.box, shape.semantic, shape.kind
    r = min(box.w, box.h) / 2
    cx, cy = box.cx, box.cy
    dashed = (kind == "boundaryEvent" and _flag(semantic, "cancelActivity") is False) or (
        kind == "startEvent" and _flag(semantic, "isInterrupting") is False
    )
    width = "4" if kind == "endEvent" else "2" if kind == "startEvent" else "1.5"
    attrib = {"cx": _num(cx), "cy": _num(cy), "r": _num(r), "stroke-width": width}
    if dashed:
        attrib["stroke-dasharray"] = "5.5,3"
    _sub(g, "circle", _outline(attrib))
    if kind not in ("startEvent", "endEvent") and r > 4:
        inner = {"cx": _num(cx), "cy": _num(cy), "r": _num(r - 3), "class": "cf-trim"}
        inner.update({"fill": "none", "stroke": _INK, "stroke-width": "1.5"})
        if dashed:
            inner["stroke-dasharray"] = "5.5,3"
        _sub(g, "circle", inner)
    kinds = _event_definitions(semantic, ctx)
    icon = _icon_group(g, cx - r, cy - r, r / 18)
    _event_icon(icon, kinds, kind in _THROWING, bool(_flag(semantic, "parallelMultiple")))
    _external_label(g, ctx, _name(semantic), box, shape.label)


def _draw_gateway(g: etree._Element, shape: _Shape, ctx: _Context) -> None:
    """Gateway: diamond with the marker of its type, drawn in a 50-unit square."""
    box, semantic, kind = shape.box, shape.semantic, shape.kind
    corners = ((box.cx, box.y), (box.x + box.w, box.cy), (box.cx, box.y + box.h), (box.x, box.cy))
    points = " ".join(f"{_num(x)},{_num(y)}" for x, y in corners)
    _sub(g, "polygon", _outline({"points": points, "stroke-linejoin": "round"}))
    icon = _sub(
        g, "g", {"transform": f"translate({_num(box.x)} {_num(box.y)}) scale({_num(box.w / 50)} {_num(box.h / 50)})"}
    )
    heavy = {"fill": "none", "stroke": _INK, "stroke-width": "4.5", "class": "cf-trim"}
    if kind == "exclusiveGateway" and _flag(shape.di, "isMarkerVisible") is not False:
        _sub(icon, "path", {"d": "M17.5,17.5 L32.5,32.5 M32.5,17.5 L17.5,32.5", **heavy})
    elif kind == "parallelGateway":
        _sub(icon, "path", {"d": "M25,13.5 V36.5 M13.5,25 H36.5", **heavy})
    elif kind == "inclusiveGateway":
        _sub(icon, "circle", {"cx": "25", "cy": "25", "r": "11.5", **heavy, "stroke-width": "2.5"})
    elif kind == "complexGateway":
        star = "M25,13 V37 M13,25 H37 M16.5,16.5 L33.5,33.5 M33.5,16.5 L16.5,33.5"
        _sub(icon, "path", {"d": star, **heavy, "stroke-width": "3.5"})
    elif kind == "eventBasedGateway":
        thin = {"fill": "none", "stroke": _INK, "stroke-width": "1.2", "class": "cf-trim"}
        _sub(icon, "circle", {"cx": "25", "cy": "25", "r": "12.5", **thin})
        parallel = (semantic.get("eventGatewayType") or "") == "Parallel" if semantic is not None else False
        if not _flag(semantic, "instantiate") and not parallel:
            _sub(icon, "circle", {"cx": "25", "cy": "25", "r": "10", **thin})
        if parallel:
            _sub(icon, "path", {"d": "M23,17 H27 V23 H33 V27 H27 V33 H23 V27 H17 V23 H23 Z", **thin})
        else:
            _sub(icon, "polygon", {"points": _PENTAGON_50, **thin})
    _external_label(g, ctx, _name(semantic), box, shape.label)


def _draw_data_object(g: etree._Element, shape: _Shape, ctx: _Context) -> None:
    """Data object: a page with a folded corner; input/output arrow, collection bars."""
    box, semantic = shape.box, shape.semantic
    fold = min(box.w, box.h) * 0.3
    x0, y0, x1, y1 = box.x, box.y, box.x + box.w, box.y + box.h
    page = f"M{_num(x0)},{_num(y0)} H{_num(x1 - fold)} L{_num(x1)},{_num(y0 + fold)} V{_num(y1)} H{_num(x0)} Z"
    _sub(g, "path", _outline({"d": page, "stroke-width": "1.5", "stroke-linejoin": "round"}))
    corner = f"M{_num(x1 - fold)},{_num(y0)} V{_num(y0 + fold)} H{_num(x1)}"
    _sub(g, "path", {"d": corner, "class": "cf-trim", "fill": "none", "stroke": _INK, "stroke-width": "1.5"})
    kind = shape.kind
    collection = _flag(semantic, "isCollection")
    if kind == "dataObjectReference" and semantic is not None:
        target = ctx.index.get(semantic.get("dataObjectRef") or "")
        collection = collection or _flag(target, "isCollection")
    if kind in ("dataInput", "dataOutput"):
        arrow = _icon_group(g, x0 + 3, y0 + 3)
        _sub(arrow, "path", {"d": "M0,3 H6 V0 L11,5 L6,10 V7 H0 Z", **_ink(kind == "dataOutput"), "stroke-width": "1"})
    if collection and box.h >= 24:
        _marker_parallel(_icon_group(g, box.cx - 7, y1 - 16))
    _external_label(g, ctx, _name(semantic), box, shape.label)


def _draw_data_store(g: etree._Element, shape: _Shape, ctx: _Context) -> None:
    """Data store: a cylinder."""
    box = shape.box
    rx, ry = box.w / 2, min(box.h * 0.15, 8.0)
    x0, x1, top, bottom = box.x, box.x + box.w, box.y + ry, box.y + box.h - ry
    body = (
        f"M{_num(x0)},{_num(top)} V{_num(bottom)} A{_num(rx)},{_num(ry)} 0 0 0 {_num(x1)},{_num(bottom)} "
        f"V{_num(top)} A{_num(rx)},{_num(ry)} 0 0 0 {_num(x0)},{_num(top)} Z"
    )
    _sub(g, "path", _outline({"d": body, "stroke-width": "1.5"}))
    rims = " ".join(
        f"M{_num(x0)},{_num(top + dy)} A{_num(rx)},{_num(ry)} 0 0 0 {_num(x1)},{_num(top + dy)}"
        for dy in (0.0, ry * 0.6, ry * 1.2)
        if top + dy < bottom
    )
    _sub(g, "path", {"d": rims, "class": "cf-trim", "fill": "none", "stroke": _INK, "stroke-width": "1.5"})
    _external_label(g, ctx, _name(shape.semantic), box, shape.label)


def _draw_message(g: etree._Element, shape: _Shape, ctx: _Context) -> None:
    """Message: an envelope."""
    box = shape.box
    _rect(g, box, **{"stroke-width": "1.5"})
    flap = " L".join(
        f"{_num(x)},{_num(y)}" for x, y in ((box.x, box.y), (box.cx, box.y + box.h * 0.55), (box.x + box.w, box.y))
    )
    _sub(g, "path", {"d": "M" + flap, "class": "cf-trim", "fill": "none", "stroke": _INK, "stroke-width": "1.5"})
    _external_label(g, ctx, _name(shape.semantic), box, shape.label)


def _draw_annotation(g: etree._Element, shape: _Shape, ctx: _Context) -> None:
    """Text annotation: an open bracket on the left, the text beside it."""
    box, semantic = shape.box, shape.semantic
    bracket_x = box.x + min(10.0, box.w)
    bracket = f"M{_num(bracket_x)},{_num(box.y)} H{_num(box.x)} V{_num(box.y + box.h)} H{_num(bracket_x)}"
    _sub(g, "path", {"d": bracket, "class": "cf-outline", "fill": "none", "stroke": _INK, "stroke-width": "1.5"})
    text = ""
    if semantic is not None:
        node = _first_child(semantic, "text")
        text = _clean("".join(str(part) for part in node.itertext()) if node is not None else "", 2000)
    _label_in_box(g, text, box, align="top-left")


def _group_name(semantic: etree._Element | None, ctx: _Context) -> str:
    if semantic is None:
        return ""
    name = _name(semantic)
    ref = (semantic.get("categoryValueRef") or "").rpartition(":")[2]
    value = ctx.index.get(ref)
    return name or (_clean(value.get("value")) if value is not None else "")


def _draw_group(g: etree._Element, shape: _Shape, ctx: _Context) -> None:
    """Group: a dash-dotted rounded rectangle, its category value as the label."""
    box = shape.box
    _rect(g, box, rx="10", ry="10", fill="none", **{"stroke-width": "1.5", "stroke-dasharray": "10,6,1,6"})
    name = _group_name(shape.semantic, ctx)
    if shape.label is not None:
        _external_label(g, ctx, name, box, shape.label)
    else:
        top_strip = _Box(box.x, box.y, box.w, min(box.h, 40.0))
        _label_in_box(g, name, top_strip, size=_LABEL_FONT)


def _draw_participant(g: etree._Element, shape: _Shape, ctx: _Context) -> None:
    """Pool: a rectangle with the name in a band on its left (top when vertical)."""
    box, semantic = shape.box, shape.semantic
    horizontal = _flag(shape.di, "isHorizontal") is not False
    _rect(g, box, **{"stroke-width": "1.5"})
    name = _name(semantic)
    black_box = semantic is not None and not semantic.get("processRef")
    if black_box or (box.w <= _BAND if horizontal else box.h <= _BAND):
        _label_in_box(g, name, box)
    else:
        if horizontal:
            band = f"M{_num(box.x + _BAND)},{_num(box.y)} V{_num(box.y + box.h)}"
        else:
            band = f"M{_num(box.x)},{_num(box.y + _BAND)} H{_num(box.x + box.w)}"
        _sub(g, "path", {"d": band, "class": "cf-trim", "fill": "none", "stroke": _INK, "stroke-width": "1.5"})
        _band_label(g, name, box, horizontal)
    multiplicity = _bpmn_children(semantic, "participantMultiplicity") if semantic is not None else []
    maximum = _float(multiplicity[0].get("maximum")) if multiplicity else None
    if multiplicity and (maximum is None or maximum > 1) and box.h >= 24:
        _marker_parallel(_icon_group(g, box.cx - 7, box.y + box.h - 18))


def _draw_lane(g: etree._Element, shape: _Shape, ctx: _Context) -> None:
    """Lane: a rectangle with its name written along its left (or top) edge."""
    box = shape.box
    horizontal = _flag(shape.di, "isHorizontal") is not False
    _rect(g, box, fill="none", **{"stroke-width": "1.5"})
    _band_label(g, _name(shape.semantic), box, horizontal)


def _draw_unknown(g: etree._Element, shape: _Shape, ctx: _Context) -> None:
    """Anything else (choreographies, conversations, unresolved references): a rectangle."""
    _rect(g, shape.box, **{"stroke-width": "1.5"})
    _label_in_box(g, _name(shape.semantic), shape.box)


_Painter = Callable[[etree._Element, _Shape, _Context], None]


def _painter_for(kind: str) -> tuple[str, _Painter]:
    """The family (for the CSS class) and the drawing function of an element kind."""
    if kind in _TASKS:
        return "task", _draw_task
    if kind in _SUB_PROCESSES:
        return "subprocess", _draw_subprocess
    if kind in _EVENTS:
        return "event", _draw_event
    if kind in _GATEWAYS:
        return "gateway", _draw_gateway
    if kind in _DATA_OBJECTS:
        return "data", _draw_data_object
    if kind in _DATA_STORES:
        return "data", _draw_data_store
    simple: dict[str, tuple[str, _Painter]] = {
        "participant": ("pool", _draw_participant),
        "lane": ("lane", _draw_lane),
        "message": ("message", _draw_message),
        "textAnnotation": ("annotation", _draw_annotation),
        "group": ("group", _draw_group),
    }
    return simple.get(kind, ("shape", _draw_unknown))


# -------------------------------------------------------------------------- edges


@dataclass(frozen=True, slots=True)
class _Marker:
    """A line-end marker drawn in a 20-unit square, ``size`` units wide on the page."""

    path: str
    style: Mapping[str, str]
    ref_x: str
    ref_y: str
    size: str = "15"


_MARKERS: Final[Mapping[str, _Marker]] = {
    "cf-seq-end": _Marker("M1,5 L11,10 L1,15 Z", {"fill": _INK, "stroke": _INK, "stroke-width": "1"}, "11", "10"),
    "cf-msg-start": _Marker(
        "M2.5,6 A3.5,3.5 0 1 1 9.5,6 A3.5,3.5 0 1 1 2.5,6 Z",
        {"fill": _PAPER, "stroke": _INK, "stroke-width": "1"},
        "2",  # the circle sits just outside the sending shape, which is painted over flows
        "6",
        "26",
    ),
    "cf-msg-end": _Marker(
        "M1,5 L11,10 L1,15 Z", {"fill": _PAPER, "stroke": _INK, "stroke-width": "1"}, "10.5", "10", "24"
    ),
    "cf-open-end": _Marker("M1,5 L11,10 L1,15", {"fill": "none", "stroke": _INK, "stroke-width": "1.5"}, "11", "10"),
    "cf-open-start": _Marker("M11,5 L1,10 L11,15", {"fill": "none", "stroke": _INK, "stroke-width": "1.5"}, "1", "10"),
    "cf-cond-start": _Marker(
        "M0,10 L8,6 L16,10 L8,14 Z", {"fill": _PAPER, "stroke": _INK, "stroke-width": "1.2"}, "-1", "10"
    ),
    "cf-default-start": _Marker("M6,4 L10,16", {"fill": "none", "stroke": _INK, "stroke-width": "1.5"}, "-5", "10"),
}


def _defs(svg: etree._Element) -> None:
    defs = _sub(svg, "defs")
    for marker_id, marker in _MARKERS.items():
        node = _sub(
            defs,
            "marker",
            {
                "id": marker_id,
                "viewBox": "0 0 20 20",
                "refX": marker.ref_x,
                "refY": marker.ref_y,
                "markerWidth": marker.size,
                "markerHeight": marker.size,
                "markerUnits": "userSpaceOnUse",
                "orient": "auto",
            },
        )
        _sub(node, "path", {"d": marker.path, **marker.style})


def _edge_style(edge: _Edge, ctx: _Context) -> dict[str, str]:
    """Stroke and markers of a connection, by its kind."""
    kind, semantic = edge.kind, edge.semantic
    style = {"class": "cf-path", "fill": "none", "stroke": _INK, "stroke-width": "1.5", "stroke-linejoin": "round"}
    if kind == "sequenceFlow":
        style["stroke-width"] = "2"
        style["marker-end"] = "url(#cf-seq-end)"
        source = ctx.index.get((semantic.get("sourceRef") or "") if semantic is not None else "")
        source_kind = _local(source) if source is not None else ""
        if edge.ref in ctx.default_flows:
            style["marker-start"] = "url(#cf-default-start)"
        elif semantic is not None and source_kind in _ACTIVITIES and _bpmn_children(semantic, "conditionExpression"):
            style["marker-start"] = "url(#cf-cond-start)"
    elif kind == "messageFlow":
        style.update(
            {
                "stroke-dasharray": "10,11",
                "marker-start": "url(#cf-msg-start)",
                "marker-end": "url(#cf-msg-end)",
            }
        )
    elif kind in ("association", "dataInputAssociation", "dataOutputAssociation"):
        style.update({"stroke-dasharray": "0.5,5", "stroke-linecap": "round"})
        direction = (semantic.get("associationDirection") or "") if semantic is not None else ""
        if kind != "association" or direction in ("One", "Both"):
            style["marker-end"] = "url(#cf-open-end)"
        if direction == "Both":
            style["marker-start"] = "url(#cf-open-start)"
    return style


def _midpoint(points: Sequence[Point]) -> Point:
    """The point halfway along a polyline."""
    segments = list(itertools.pairwise(points))
    lengths = [math.dist(a, b) for a, b in segments]
    remaining = sum(lengths) / 2
    for (a, b), length in zip(segments, lengths, strict=True):
        if remaining <= length and length > 0:
            t = remaining / length
            return a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t
        remaining -= length
    return points[len(points) // 2]


def _draw_edge(g: etree._Element, edge: _Edge, ctx: _Context) -> None:
    """Connection: a polyline with the markers of its kind, and its name."""
    d = "M" + " L".join(f"{_num(x)},{_num(y)}" for x, y in edge.points)
    _sub(g, "path", {"d": d, **_edge_style(edge, ctx)})
    name = _name(edge.semantic)
    if not name:
        return
    size = _LABEL_FONT
    if edge.label is not None:
        max_em = max(edge.label.w + 8, 40.0) / size
        lines = _fit(_wrap(name, max_em), 6, max_em)
        x, top = edge.label.cx, edge.label.y
    else:
        max_em = _EXTERNAL_LABEL_WIDTH / size
        lines = _fit(_wrap(name, max_em), 6, max_em)
        mx, my = _midpoint(edge.points)
        x, top = mx, my - _block_height(len(lines), size) - 3
    _text_lines(g, lines, x, top, size, halo=True)
    _note_text_extent(ctx, lines, x, top, size, "middle")


# -------------------------------------------------------------------------- reading the model


def _read_trees(bpmn_files: Mapping[str, bytes]) -> list[etree._Element]:
    roots: list[etree._Element] = []
    for filename, data in bpmn_files.items():
        tree, _problems = parse_xml(data, str(filename))
        if tree is not None:
            roots.append(tree.getroot())
    return roots


def _index(roots: Iterable[etree._Element]) -> dict[str, etree._Element]:
    """Every BPMN model element with an id, first occurrence wins."""
    index: dict[str, etree._Element] = {}
    for root in roots:
        for el in root.iter(f"{{{BPMN_NS}}}*"):
            el_id = el.get("id")
            if el_id and el_id not in index:
                index[el_id] = el
    return index


def _choose_plane(roots: Sequence[etree._Element], index: Mapping[str, etree._Element]) -> etree._Element | None:
    """The first plane showing a process or collaboration, else the first diagram's plane."""
    planes = [plane for root in roots for plane in root.iter(f"{{{BPMNDI_NS}}}BPMNPlane")]
    for plane in planes:
        target = index.get(plane.get("bpmnElement") or "")
        if target is not None and _local(target) in ("process", "collaboration"):
            return plane
    for root in roots:
        for diagram in root.iter(f"{{{BPMNDI_NS}}}BPMNDiagram"):
            return diagram
    return planes[0] if planes else None


def _read_shapes(plane: etree._Element, index: Mapping[str, etree._Element]) -> tuple[list[_Shape], list[_Edge]]:
    shapes: list[_Shape] = []
    edges: list[_Edge] = []
    for di in plane.iter(f"{{{BPMNDI_NS}}}BPMNShape", f"{{{BPMNDI_NS}}}BPMNEdge"):
        ref = _clean(di.get("bpmnElement") or di.get("id") or "", 200)
        semantic = index.get(ref)
        if semantic is None and ":" in ref:  # a prefixed reference, as some tools write it
            semantic = index.get(ref.rpartition(":")[2])
        kind = _local(semantic) if semantic is not None else ""
        if _local(di) == "BPMNShape":
            box = _bounds(di)
            if box is not None:
                shapes.append(_Shape(ref, kind, semantic, di, box, _label_bounds(di)))
            continue
        points: list[Point] = []
        for waypoint in _children(di, "waypoint"):
            x, y = _float(waypoint.get("x")), _float(waypoint.get("y"))
            if x is not None and y is not None:
                points.append((x, y))
        if len(points) >= 2:
            edges.append(_Edge(ref, kind, semantic, di, tuple(points), _label_bounds(di)))
    return shapes, edges


def _default_flows(index: Mapping[str, etree._Element]) -> frozenset[str]:
    return frozenset(value for el in index.values() if (value := el.get("default")))


def _layer(shape: _Shape, ctx: _Context) -> int:
    """Painting order: pools, lanes, open sub-processes, (flows,) nodes, boundary events, artifacts."""
    kind = shape.kind
    if kind == "participant":
        return 0
    if kind == "lane":
        return 1
    if kind in _SUB_PROCESSES and _is_expanded(shape, ctx):
        return 2
    if kind == "boundaryEvent":
        return 4
    if kind in ("textAnnotation", "group"):
        return 6
    return 3


def _diagram_title(plane: etree._Element, index: Mapping[str, etree._Element]) -> str:
    target = index.get(plane.get("bpmnElement") or "")
    if target is None:
        return ""
    name = _name(target)
    if name or _local(target) != "collaboration":
        return name
    for participant in _bpmn_children(target, "participant"):
        if _name(participant):
            return _name(participant)
    return ""


# -------------------------------------------------------------------------- the document


def _svg_root(title: str, view_box: str) -> etree._Element:
    svg = etree.Element(
        f"{{{SVG_NS}}}svg",
        {
            "class": "cf-diagram",
            "viewBox": view_box,
            "width": "100%",
            "role": "img",
            "font-family": FONT_STACK,
        },
        nsmap=cast("dict[str, str]", {None: SVG_NS}),  # the stubs do not allow the default prefix
    )
    _sub(svg, "title").text = title
    return svg


def _message_svg(text: str, title: str) -> str:
    """A small SVG carrying one line of text, for a folder that has nothing to draw."""
    svg = _svg_root(title or text, "0 0 320 60")
    _sub(
        svg,
        "rect",
        {"x": "0.5", "y": "0.5", "width": "319", "height": "59", "rx": "8", "fill": "#f6f7f9", "stroke": "#c5c9d0"},
    )
    _text_lines(svg, [text], 160, 30 - _block_height(1, 14) / 2, 14)
    return etree.tostring(svg, encoding="unicode")


def _element_group(parent: etree._Element, ref: str, family: str, name: str, ctx: _Context) -> etree._Element:
    classes = f"cf-element cf-{family}"
    mark = ctx.marks.get(ref)
    if isinstance(mark, str) and mark in MARK_KINDS:
        classes += f" cf-{mark}"
    g = _sub(parent, "g", {"class": classes, "data-element-id": ref})
    _sub(g, "title").text = name or ref
    return g


def _draw(svg: etree._Element, shapes: Sequence[_Shape], edges: Sequence[_Edge], ctx: _Context) -> None:
    """Paint every shape and edge into ``svg``, layer by layer; a failing one is left out."""

    def order(item: tuple[int, _Shape]) -> tuple[int, float, int]:
        position, shape = item
        layer = _layer(shape, ctx)
        return layer, -shape.box.w * shape.box.h if layer == 2 else 0.0, position  # big containers first

    ordered = sorted(enumerate(shapes), key=order)
    # containers, then flows (so that they cross pools and open sub-processes but pass
    # beneath nodes and their labels), then nodes, then annotations and groups
    layer_containers = _sub(svg, "g", {"class": "cf-containers"})
    layer_edges = _sub(svg, "g", {"class": "cf-flows"})
    layer_nodes = _sub(svg, "g", {"class": "cf-shapes"})
    layer_artifacts = _sub(svg, "g", {"class": "cf-artifacts"})
    parents = {0: layer_containers, 1: layer_containers, 2: layer_containers, 6: layer_artifacts}
    for _, shape in ordered:
        family, painter = _painter_for(shape.kind)
        parent = parents.get(_layer(shape, ctx), layer_nodes)
        name = _group_name(shape.semantic, ctx) if shape.kind == "group" else _name(shape.semantic)
        g = _element_group(parent, shape.ref, family, name, ctx)
        try:
            painter(g, shape, ctx)
        except Exception:  # one odd shape must not cost the whole diagram
            _log.debug("shape %r not drawn", shape.ref, exc_info=True)
            parent.remove(g)
            continue
        ctx.extent.add_box(shape.box)
        if shape.label is not None:
            ctx.extent.add_box(shape.label)
    for edge in edges:
        g = _element_group(layer_edges, edge.ref, "flow", _name(edge.semantic), ctx)
        try:
            _draw_edge(g, edge, ctx)
        except Exception:
            _log.debug("edge %r not drawn", edge.ref, exc_info=True)
            layer_edges.remove(g)
            continue
        for x, y in edge.points:
            ctx.extent.add(x, y, x, y)
        if edge.label is not None:
            ctx.extent.add_box(edge.label)


def _render(bpmn_files: Mapping[str, bytes], marks: Mapping[str, str], title: str) -> str:
    roots = _read_trees(bpmn_files)
    if not roots:
        return _message_svg(UNREADABLE_TEXT, title)
    index = _index(roots)
    plane = _choose_plane(roots, index)
    if plane is None:
        return _message_svg(NO_LAYOUT_TEXT, title)
    shapes, edges = _read_shapes(plane, index)
    if not shapes and not edges:
        return _message_svg(NO_LAYOUT_TEXT, title)
    ctx = _Context(
        index=index,
        marks=marks,
        shown=frozenset(shape.ref for shape in shapes),
        default_flows=_default_flows(index),
    )
    svg = _svg_root(title or _diagram_title(plane, index) or DEFAULT_TITLE, "0 0 1 1")
    _sub(svg, "style").text = _STYLE
    _defs(svg)
    _draw(svg, shapes, edges, ctx)
    extent = ctx.extent
    if extent.empty:
        return _message_svg(NO_LAYOUT_TEXT, title)
    width = max(extent.x1 - extent.x0, 1.0) + 2 * _MARGIN
    height = max(extent.y1 - extent.y0, 1.0) + 2 * _MARGIN
    svg.set("viewBox", f"{_num(extent.x0 - _MARGIN)} {_num(extent.y0 - _MARGIN)} {_num(width)} {_num(height)}")
    return etree.tostring(svg, encoding="unicode")


def render_svg(bpmn_files: Mapping[str, bytes], marks: Mapping[str, str] | None = None, *, title: str = "") -> str:
    """The diagram of one process folder as a standalone SVG document (a string).

    ``bpmn_files`` maps file names to their bytes (the BPMN files of the folder; other
    files, such as DMN tables, are read and ignored). The plane drawn is the first one,
    across the files in the order given, that shows a process or a collaboration; failing
    that, every shape of the first diagram. ``marks`` maps element ids to one of
    :data:`MARK_KINDS`; each marked element's ``<g>`` gets the class ``cf-<mark>``.
    ``title`` becomes the SVG ``<title>`` (default: the name of the diagram's process,
    collaboration or first pool).

    The SVG has a viewBox fitted to the drawing plus a margin, ``width="100%"`` and no
    fixed size, so it scales to its container. Nothing is raised: unreadable input gives a
    small SVG saying :data:`UNREADABLE_TEXT`, input without layout one saying
    :data:`NO_LAYOUT_TEXT`.
    """
    clean_title = _clean(title)
    safe_marks: Mapping[str, str] = marks if isinstance(marks, Mapping) else {}
    try:
        return _render(bpmn_files if isinstance(bpmn_files, Mapping) else {}, safe_marks, clean_title)
    except Exception:  # the page showing the diagram must still load
        _log.warning("diagram could not be drawn", exc_info=True)
        return _message_svg(UNREADABLE_TEXT, clean_title)
