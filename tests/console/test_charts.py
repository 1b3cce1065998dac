"""The inline SVG line chart: one polyline per series, scaled into the box, escaped."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

from agent33_site.console.charts import Series, line_chart, polyline_points, time_chart


def test_chart_is_one_svg_with_exactly_one_polyline():
    svg = str(line_chart([1.0, 2.0, 3.0], title="success_rate"))
    assert svg.startswith('<svg class="console-chart"')
    assert svg.count("<polyline") == 1
    assert "<title>success_rate</title>" in svg
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_points_span_the_box_with_the_highest_value_on_top():
    points = polyline_points([0.0, 10.0], width=100, height=50)
    (x0, y0), (x1, y1) = (tuple(map(float, p.split(","))) for p in points.split())
    assert (x0, y0) == (8.0, 42.0)  # lowest value at the bottom padding
    assert (x1, y1) == (92.0, 8.0)  # highest value at the top padding


def test_flat_series_sits_at_mid_height():
    points = polyline_points([5.0, 5.0, 5.0], width=100, height=50).split()
    assert [p.split(",")[1] for p in points] == ["25.0", "25.0", "25.0"]


def test_empty_series_still_draws_an_empty_polyline():
    svg = str(line_chart([], title="cost_usd"))
    assert svg.count("<polyline") == 1
    assert 'points=""' in svg


def test_non_finite_values_are_left_out():
    assert len(polyline_points([1.0, math.nan, math.inf, 2.0], width=100, height=50).split()) == 2


def test_title_is_escaped():
    svg = str(line_chart([1.0], title='<script>alert("x")</script>'))
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg


def _day(n: int, value: float) -> tuple[datetime, float]:
    return (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=n), value)


def test_time_chart_draws_one_polyline_and_one_legend_entry_per_series():
    svg = str(
        time_chart(
            [
                Series("t1", [_day(0, 1.0), _day(2, 2.0)]),
                Series("t2", [_day(1, 5.0), _day(3, 4.0)], stroke="#e67e22"),
            ],
            title="success_rate",
        )
    )
    assert svg.count('<polyline class="series"') == 2
    assert svg.count('<g class="legend-entry">') == 2
    assert ">2026-01-01</text>" in svg and ">2026-01-04</text>" in svg  # first and last date
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_time_chart_places_points_by_time_across_series():
    svg = str(time_chart([Series("a", [_day(0, 1.0)]), Series("b", [_day(4, 1.0)])], title="x"))
    (a,), (b,) = (
        [float(p.split(",")[0]) for p in pts.split()]
        for pts in re.findall(r'points="([^"]+)"', svg)
    )
    assert a < b  # b's only point is four days later: further right


def test_time_chart_escapes_series_labels():
    svg = str(time_chart([Series('<b onclick="x">', [_day(0, 1.0)])], title="t"))
    assert "<b onclick" not in svg and "&lt;b onclick=&quot;x&quot;&gt;" in svg
