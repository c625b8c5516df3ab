"""A key indicator's values period by period against its target, drawn on the server as SVG.

Like ``api.web.charts``, and for the same reasons a charting library would not serve better: the
chart needs no script (the pages run only this site's script files), prints and goes into the PDF
as it shows (its colours are SVG attributes, so the print view and WeasyPrint need no style
sheet), scales to a phone's width, and says what it shows to screen readers (an ``aria-label``
with the latest value and target, a ``<title>`` per point). A line, its points and a stepped
target line are a few dozen lines of SVG; pygal, for one, writes a ``<style>`` and a ``<script>``
into every chart, under random ids, and labels nothing for a screen reader.

The points are a case's ``measurements`` as the indicator process keeps them: ``period``
(``2027-01`` for a month, ``2027-Q1`` for a quarter), ``value``, ``target`` and ``judgement``
(달성, 주의, 미달); entries that are not so are left out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from markupsafe import Markup

from api.web.i18n import translations

WIDTH, HEIGHT = 360, 190
TOP, BOTTOM, LEFT, RIGHT = 18, 34, 42, 14
SPARK_WIDTH, SPARK_HEIGHT, SPARK_PAD = 120, 36, 4

INK, MUTED, GRID, LINE = "#1d2430", "#5b6577", "#e3e7ee", "#1b5fb4"
# the colour of a point by its judgement; the same greens, ambers and reds as the pages' banners
JUDGED = {"달성": "#2f7d4f", "주의": "#b35c00", "미달": "#b3261e"}
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Point:
    """One period's value, its target (None when it had none) and how it was judged."""

    period: str
    value: float
    target: float | None
    judgement: str = ""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def points_of(measurements: Any) -> list[Point]:
    """The readable points of an indicator's ``measurements``, in their order."""
    points = []
    for entry in measurements if isinstance(measurements, list) else []:
        if not isinstance(entry, dict):
            continue
        value = _number(entry.get("value"))
        if value is None:
            continue
        judgement = entry.get("judgement")
        points.append(Point(str(entry.get("period") or ""), value, _number(entry.get("target")),
                            judgement if isinstance(judgement, str) else ""))
    return points


def period_name(period: str, locale: str, short: bool = False) -> str:
    """``2027-01`` → 2027년 1월 (Jan 2027), ``2027-Q1`` → 2027년 1분기 (Q1 2027), ``2027`` → 2027년; ``short``
    leaves out the year. Anything else stays as it is."""
    year, _, part = period.partition("-")
    if not (year.isdigit() and len(year) == 4):
        return period
    if not part:  # a year's target
        return year if locale == "en" else f"{year}년"
    if part.startswith("Q") and part[1:].isdigit():
        quarter = int(part[1:])
        if locale == "en":
            return f"Q{quarter}" if short else f"Q{quarter} {year}"
        return f"{quarter}분기" if short else f"{year}년 {quarter}분기"
    if part.isdigit() and 1 <= int(part) <= 12:
        month = int(part)
        if locale == "en":
            return MONTHS_EN[month - 1] if short else f"{MONTHS_EN[month - 1]} {year}"
        return f"{month}월" if short else f"{year}년 {month}월"
    return period


def figure(value: float | None) -> str:
    """A value as people write it: 1,234 — 82.1 — 5.25."""
    if value is None:
        return "—"
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _with_unit(value: float | None, unit: str) -> str:
    return figure(value) + unit if value is not None else "—"


def _ticks(low: float, high: float) -> tuple[float, float, list[float]]:
    """A little room around ``low``–``high`` and three to five round gridline values inside it."""
    if high == low:
        spread = abs(high) * 0.1 or 1.0
        low, high = low - spread, high + spread
    room = (high - low) * 0.15
    low, high = low - room, high + room
    if low < 0 <= low + room:  # a measure that never goes below zero does not dip under its axis
        low = 0.0
    rough = (high - low) / 4
    magnitude = 10 ** math.floor(math.log10(rough))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= rough)
    first = math.ceil(low / step) * step
    count = int((high - first) / step + 1e-9) + 1
    return low, high, [first + i * step for i in range(count)]


def _summary(points: Sequence[Point], unit: str, locale: str, caption: str) -> str:
    gettext = translations(locale).gettext
    latest = points[-1]
    said = gettext("%(period)s: %(value)s, target %(target)s") % {
        "period": period_name(latest.period, locale), "value": _with_unit(latest.value, unit),
        "target": _with_unit(latest.target, unit)}
    return f"{caption} — {said}" if caption else said


def _target_steps(xs: Sequence[float], targets: Sequence[float | None], half: float,
                  y: Callable[[float], float]) -> str:
    """The target as a stepped line: level across each period, stepping where it changes."""
    path: list[str] = []
    drawing = False
    for x, target in zip(xs, targets, strict=True):
        if target is None:
            drawing = False
            continue
        level = y(target)
        path.append(f"{'L' if drawing else 'M'}{x - half:.1f},{level:.1f}")
        path.append(f"L{x + half:.1f},{level:.1f}")
        drawing = True
    return " ".join(path)


def trend_chart(measurements: Any, *, unit: str = "", locale: str = "ko", caption: str = "",
                word: Callable[[str], str] | None = None) -> Markup:
    """The values as a line with a point per period (coloured by its judgement), the target as a
    dashed stepped line, gridlines with their values, the periods beneath (the year where it
    starts or changes) and the latest value written over its point; nothing without values.
    ``word`` puts a judgement in the reader's words (the process's labels)."""
    points = points_of(measurements)
    if not points:
        return Markup("")
    gettext = translations(locale).gettext
    targets = [p.target for p in points]
    known = [p.value for p in points] + [t for t in targets if t is not None]
    low, high, ticks = _ticks(min(known), max(known))
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / len(points)

    def y(value: float) -> float:
        return TOP + plot_height * (high - value) / (high - low)

    xs = [LEFT + slot * (index + 0.5) for index in range(len(points))]
    summary = _summary(points, unit, locale, caption)
    parts = [f'<svg class="cf-chart cf-trend" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(summary)}" xmlns="http://www.w3.org/2000/svg" '
             'preserveAspectRatio="xMidYMid meet" font-size="11">']
    for tick in ticks:
        parts.append(f'<line class="cf-trend-grid" x1="{LEFT}" y1="{y(tick):.1f}" x2="{WIDTH - RIGHT}" '
                     f'y2="{y(tick):.1f}" stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{y(tick) + 3:.1f}" text-anchor="end" fill="{MUTED}">'
                     f"{escape(figure(tick))}</text>")
    steps = _target_steps(xs, targets, slot / 2, y)
    if steps:
        parts.append(f'<path class="cf-trend-target" d="{steps}" fill="none" stroke="{INK}" stroke-width="1.5" '
                     'stroke-dasharray="5 3"><title>' + escape(gettext("Target")) + "</title></path>")
    line = " ".join(f"{x:.1f},{y(p.value):.1f}" for x, p in zip(xs, points, strict=True))
    parts.append(f'<polyline class="cf-trend-line" points="{line}" fill="none" stroke="{LINE}" stroke-width="2" '
                 'stroke-linejoin="round"/>')
    for x, point in zip(xs, points, strict=True):
        judged = (word(point.judgement) if word and point.judgement else point.judgement) or ""
        said = f"{period_name(point.period, locale)} {_with_unit(point.value, unit)}"
        if point.target is not None:
            said += " · " + gettext("target %(target)s") % {"target": _with_unit(point.target, unit)}
        if judged:
            said += f" · {judged}"
        colour = JUDGED.get(point.judgement, LINE)
        parts.append(f'<circle class="cf-trend-point" data-judgement="{escape(point.judgement)}" cx="{x:.1f}" '
                     f'cy="{y(point.value):.1f}" r="4" fill="{colour}" stroke="#ffffff" stroke-width="1.5">'
                     f"<title>{escape(said)}</title></circle>")
    parts.append(_latest_label(xs, points, y, unit))
    parts.extend(_period_labels(xs, points, locale, slot))
    parts.append("</svg>")
    legend = (f'<span class="cf-legend-line"><svg width="18" height="8" aria-hidden="true"><line x1="0" y1="4" '
              f'x2="18" y2="4" stroke="{LINE}" stroke-width="2"/></svg> {escape(gettext("Value"))}</span>\u2003'
              f'<span class="cf-legend-line"><svg width="18" height="8" aria-hidden="true"><line x1="0" y1="4" '
              f'x2="18" y2="4" stroke="{INK}" stroke-width="1.5" stroke-dasharray="5 3"/></svg> '
              f'{escape(gettext("Target"))}</span>')
    # Every text in it was escaped above; the rest is our own markup.
    return Markup(f'<figure class="cf-figure cf-trend-figure">{"".join(parts)}'  # noqa: S704
                  f"<figcaption>{legend}</figcaption></figure>")


def _latest_label(xs: Sequence[float], points: Sequence[Point], y: Callable[[float], float], unit: str) -> str:
    """The latest value over its point — under it when the line comes down to it, so that the text
    stays clear of the line; ending at the point, or centred on it when it is the only one."""
    latest = points[-1]
    falling = len(points) > 1 and points[-2].value > latest.value
    level = y(latest.value) + 16 if falling else y(latest.value) - 9
    level = min(max(level, TOP + 8), HEIGHT - BOTTOM - 3)
    anchor = "end" if len(points) > 1 else "middle"
    return (f'<text class="cf-trend-latest" x="{xs[-1] + (6 if anchor == "end" else 0):.1f}" y="{level:.1f}" '
            f'text-anchor="{anchor}" font-weight="700" fill="{INK}">{escape(_with_unit(latest.value, unit))}</text>')


def _period_labels(xs: Sequence[float], points: Sequence[Point], locale: str, slot: float) -> Iterable[str]:
    """Each period's short name under it (every other one when they are crowded, the last always),
    and the year under the first and wherever it changes."""
    crowded = slot < 24
    year = ""
    for index, (x, point) in enumerate(zip(xs, points, strict=True)):
        last = index == len(points) - 1
        if not crowded or index % 2 == (len(points) - 1) % 2 or last:
            yield (f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 13}" text-anchor="middle" fill="{MUTED}">'
                   f"{escape(period_name(point.period, locale, short=True))}</text>")
        if point.period[:4] != year:
            year = point.period[:4]
            yield (f'<text x="{x:.1f}" y="{HEIGHT - 6}" text-anchor="middle" fill="{MUTED}" font-size="9">'
                   f"{escape(year)}</text>")


def sparkline(measurements: Any, *, unit: str = "", locale: str = "ko", caption: str = "") -> Markup:
    """A small line of the values with the target dashed behind it and the latest point coloured by
    its judgement, for a list of indicators; its label says the latest value and target."""
    points = points_of(measurements)
    if not points:
        return Markup("")
    targets = [p.target for p in points]
    known = [p.value for p in points] + [t for t in targets if t is not None]
    low, high = min(known), max(known)
    if high == low:
        low, high = low - 1, high + 1
    inner = SPARK_HEIGHT - 2 * SPARK_PAD
    slot = (SPARK_WIDTH - 2 * SPARK_PAD) / len(points)

    def y(value: float) -> float:
        return SPARK_PAD + inner * (high - value) / (high - low)

    xs = [SPARK_PAD + slot * (index + 0.5) for index in range(len(points))]
    parts = [f'<svg class="cf-sparkline" viewBox="0 0 {SPARK_WIDTH} {SPARK_HEIGHT}" width="{SPARK_WIDTH}" '
             f'height="{SPARK_HEIGHT}" role="img" aria-label="{escape(_summary(points, unit, locale, caption))}" '
             'xmlns="http://www.w3.org/2000/svg">']
    steps = _target_steps(xs, targets, slot / 2, y)
    if steps:
        parts.append(f'<path d="{steps}" fill="none" stroke="{MUTED}" stroke-width="1" stroke-dasharray="3 2"/>')
    line = " ".join(f"{x:.1f},{y(p.value):.1f}" for x, p in zip(xs, points, strict=True))
    parts.append(f'<polyline points="{line}" fill="none" stroke="{LINE}" stroke-width="1.5" stroke-linejoin="round"/>')
    last = points[-1]
    parts.append(f'<circle cx="{xs[-1]:.1f}" cy="{y(last.value):.1f}" r="3" '
                 f'fill="{JUDGED.get(last.judgement, LINE)}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it was escaped
