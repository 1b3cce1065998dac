"""Server-rendered inline SVG line charts: no JavaScript, no CDN, one <polyline> per series."""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.utils.html import format_html
from django.utils.safestring import SafeString

PADDING = 8.0
LABEL_WIDTH = 44.0


def _finite(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]


def _label(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def polyline_points(
    values: Sequence[float], *, width: float, height: float, left: float = 0.0
) -> str:
    """`x,y` pairs scaled into the box (y grows downwards); a flat series sits mid-height."""
    series = _finite(values)
    if not series:
        return ""
    low, high = min(series), max(series)
    span = high - low
    inner_w = width - left - 2 * PADDING
    inner_h = height - 2 * PADDING
    step = inner_w / (len(series) - 1) if len(series) > 1 else 0.0
    points = []
    for index, value in enumerate(series):
        x = left + PADDING + (index * step if len(series) > 1 else inner_w / 2)
        y = PADDING + (inner_h / 2 if span == 0 else inner_h * (high - value) / span)
        points.append(f"{x:.1f},{y:.1f}")
    return " ".join(points)


def line_chart(
    values: Sequence[float],
    *,
    title: str,
    width: int = 320,
    height: int = 120,
    stroke: str = "#417690",
) -> SafeString:
    """One SVG with a frame, min/max labels and exactly one polyline for `values`."""
    series = _finite(values)
    low = min(series) if series else 0.0
    high = max(series) if series else 0.0
    points = polyline_points(series, width=width, height=height, left=LABEL_WIDTH)
    return format_html(
        '<svg class="console-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        'width="{w}" height="{h}" viewBox="0 0 {w} {h}" aria-label="{title}">'
        "<title>{title}</title>"
        '<rect x="{left}" y="0" width="{plot_w}" height="{h}" fill="none" stroke="#ccc"/>'
        '<text x="2" y="{top_y}" font-size="10" fill="#666">{high}</text>'
        '<text x="2" y="{bottom_y}" font-size="10" fill="#666">{low}</text>'
        '<polyline fill="none" stroke="{stroke}" stroke-width="2" points="{points}"/>'
        "</svg>",
        w=width,
        h=height,
        title=title,
        left=LABEL_WIDTH,
        plot_w=width - LABEL_WIDTH,
        top_y=PADDING + 4,
        bottom_y=height - PADDING + 2,
        high=_label(high),
        low=_label(low),
        stroke=stroke,
        points=points,
    )
