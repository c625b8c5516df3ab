"""A key indicator's trend as the server draws it: the values and the target line a reader sees, their words
in the reader's language, and nothing of the data's own spelling (keys, None, escapes) on the page."""

from __future__ import annotations

import lxml.html

from api.web.trends import figure, period_name, sparkline, trend_chart

MEASURED = [
    {"period": "2026-11", "value": 86.2, "target": 85, "judgement": "달성"},
    {"period": "2026-12", "value": 84.1, "target": 85, "judgement": "주의"},
    {"period": "2027-01", "value": 78, "target": 87, "judgement": "미달"},
]


def svg(markup: str) -> lxml.html.HtmlElement:
    (drawn,) = lxml.html.fromstring(f"<div>{markup}</div>").xpath(".//svg[@role='img']")  # not the legend's
    return drawn


def test_each_value_is_a_point_titled_with_its_period_value_target_and_judgement() -> None:
    chart = svg(trend_chart(MEASURED, unit="%", caption="시내버스 정시성"))
    titles = [t.text for t in chart.xpath(".//circle/title")]
    assert titles == ["2026년 11월 86.2% · 목표 85% · 달성", "2026년 12월 84.1% · 목표 85% · 주의",
                      "2027년 1월 78% · 목표 87% · 미달"]
    assert chart.get("role") == "img"
    assert chart.get("aria-label") == "시내버스 정시성 — 2027년 1월: 78%, 목표 87%"
    labels = [t.text for t in chart.xpath(".//text")]
    assert "78%" in labels  # the latest value written by its point
    assert [t for t in labels if t and t.endswith("월")] == ["11월", "12월", "1월"]
    assert [t for t in labels if t in ("2026", "2027")] == ["2026", "2027"]  # the year where it changes


def test_the_target_steps_where_it_changes_and_lies_where_its_values_are_compared() -> None:
    chart = svg(trend_chart(MEASURED, unit="%"))
    (target,) = chart.xpath(".//path[contains(@class, 'cf-trend-target')]")
    steps = [tuple(float(n) for n in p.split(",")) for p in target.get("d").replace("M", " ").replace("L", " ").split()]
    levels = sorted({y for _, y in steps})
    assert len(levels) == 2  # 85 for 2026, 87 for 2027 (higher on the chart, a smaller y)
    points = [float(c.get("cy")) for c in chart.xpath(".//circle")]
    assert points[0] < levels[1]  # 86.2 above 85
    assert points[2] > levels[0]  # 78 below 87


def test_a_chart_in_english_and_a_single_quarter_without_a_target() -> None:
    chart = svg(trend_chart([{"period": "2027-Q1", "value": 1420, "target": None}], unit=" jobs", locale="en"))
    assert chart.xpath(".//circle/title")[0].text == "Q1 2027 1,420 jobs"
    assert not chart.xpath(".//path[contains(@class, 'cf-trend-target')]")
    assert "target —" in chart.get("aria-label")


def test_what_is_not_a_value_is_left_out_and_texts_are_escaped() -> None:
    assert str(trend_chart([])) == "" and str(sparkline(None)) == ""
    odd = [{"period": "2027-01", "value": None}, {"period": "2027-02", "value": True}, "x",
           {"period": "<b>2027-03</b>", "value": 3, "target": 4, "judgement": "<i>"}]
    markup = str(trend_chart(odd, unit="<u>", caption="<script>"))
    assert "<script>" not in markup and "<b>" not in markup and "<i>" not in markup and "<u>" not in markup
    assert "None" not in markup and "True" not in markup
    assert len(svg(markup).xpath(".//circle")) == 1


def test_a_sparkline_says_the_latest_value_and_target() -> None:
    line = svg(sparkline(MEASURED, unit="%", caption="시내버스 정시성"))
    assert line.get("aria-label") == "시내버스 정시성 — 2027년 1월: 78%, 목표 87%"
    assert line.xpath(".//circle")[0].get("fill") == "#b3261e"  # the latest, off target, in red


def test_periods_and_figures_in_words() -> None:
    assert [period_name(p, "ko") for p in ("2027-03", "2027-Q2", "2027", "soon")] == [
        "2027년 3월", "2027년 2분기", "2027년", "soon"]
    assert [period_name(p, "en", short=True) for p in ("2027-03", "2027-Q2")] == ["Mar", "Q2"]
    assert [figure(v) for v in (1234567.0, 82.1, 5.25, 85.0, None)] == ["1,234,567", "82.1", "5.25", "85", "—"]
