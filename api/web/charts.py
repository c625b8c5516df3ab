"""Small charts drawn on the server as SVG: they need no script, print as they show, scale to a
phone's width and carry their figures as text for screen readers (a ``<title>`` per bar and a table
the chart stands for). A dozen bars do not call for a charting library."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 360, 150
TOP, BOTTOM, LEFT = 14, 22, 4


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]
    css_class: str  # colours come from the style sheet (cf-series-a, cf-series-b)


def month_bars(months: Sequence[str], series: Sequence[Series], caption: str) -> Markup:
    """Bars per month for one or two series, the months labelled by their number (``11월`` style is the
    template's to add), the highest value written over its bar."""
    count = max(len(months), 1)
    highest = max([1, *(v for s in series for v in s.values)])
    slot = (WIDTH - LEFT) / count
    bar = max(slot / (len(series) + 1), 2)
    plot = HEIGHT - TOP - BOTTOM
    parts = [f'<svg class="cf-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(caption)}" '
             'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">',
             f'<line class="cf-chart-axis" x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH}" y2="{HEIGHT - BOTTOM}"/>']
    for index, month in enumerate(months):
        x0 = LEFT + index * slot + bar / 2
        for number, line in enumerate(series):
            value = line.values[index] if index < len(line.values) else 0
            height = plot * value / highest
            x = x0 + number * bar
            y = HEIGHT - BOTTOM - height
            parts.append(f'<rect class="{line.css_class}" x="{x:.1f}" y="{y:.1f}" width="{bar - 1:.1f}" '
                         f'height="{height:.1f}"><title>{escape(month)} {escape(line.name)} {value}</title></rect>')
            if value == highest:
                parts.append(f'<text class="cf-chart-value" x="{x + (bar - 1) / 2:.1f}" y="{y - 3:.1f}" '
                             f'text-anchor="middle">{value}</text>')
        parts.append(f'<text class="cf-chart-label" x="{x0 + bar * len(series) / 2:.1f}" y="{HEIGHT - 6}" '
                     f'text-anchor="middle">{escape(month[5:].lstrip("0"))}</text>')
    parts.append("</svg>")
    legend = " ".join(f'<span class="cf-legend {s.css_class}">{escape(s.name)}</span>' for s in series)
    head = "".join(f"<th scope=\"col\">{escape(m)}</th>" for m in months)
    rows = "".join(f'<tr><th scope="row">{escape(s.name)}</th>' + "".join(f"<td>{v}</td>" for v in s.values)
                   + "</tr>" for s in series)
    table = (f'<details class="cf-chart-table"><summary>{escape(caption)}</summary><div class="cf-table-wrap">'
             f'<table class="cf-table"><thead><tr><td></td>{head}</tr></thead><tbody>{rows}</tbody></table>'
             "</div></details>")
    # Every text in it was escaped above; the rest is our own markup.
    return Markup(f'<figure class="cf-figure">{"".join(parts)}<figcaption>{legend}</figcaption>{table}</figure>')  # noqa: S704
