"""The inline SVG line chart: one polyline per series, scaled into the box, escaped."""

from __future__ import annotations

import math

from agent33_site.console.charts import line_chart, polyline_points


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
