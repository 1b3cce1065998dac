"""Server-rendered inline SVG line charts: no JavaScript, no CDN, one <polyline> per series.

`line_chart` draws one series by position; `time_chart` draws several series (one per
tenant) over a shared date axis, with a legend.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

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


# --- time charts: one line per series over a shared date axis --------------------------

PALETTE = (
    "#417690",
    "#e67e22",
    "#2e7d32",
    "#8e44ad",
    "#c62828",
    "#00838f",
    "#6d4c41",
    "#ad1457",
)
AXIS_HEIGHT = 16.0
LEGEND_ROW = 15.0
LEGEND_PER_ROW = 3


@dataclass(frozen=True)
class Series:
    """One line: its legend label, colour and `(when, value)` points (any order)."""

    label: str
    points: Sequence[tuple[datetime, float]]
    stroke: str = PALETTE[0]


def _y_scale(low: float, high: float, top: float, bottom: float) -> Callable[[float], float]:
    """Value -> y: `high` at `top`, `low` at `bottom` (the middle when every value is equal)."""

    def y_of(value: float) -> float:
        if high == low:
            return (top + bottom) / 2
        return top + (bottom - top) * (high - value) / (high - low)

    return y_of


def _date_label(moment: datetime, *, span: timedelta) -> str:
    return moment.strftime("%Y-%m-%d" if span >= timedelta(days=2) else "%m-%d %H:%M")


def time_chart(
    series: Sequence[Series], *, title: str, width: int = 420, plot_height: int = 120
) -> SafeString:
    """An SVG with a frame, value labels (min/max), date labels on the x axis (first, middle,
    last), one polyline per series placed by time, and a legend naming each series.

    With no series it still draws the frame and one empty polyline, so the card keeps its shape.
    """
    cleaned = [
        (s, sorted((t, float(v)) for t, v in s.points if _finite([v]))) for s in series if s.points
    ]
    cleaned = [(s, points) for s, points in cleaned if points]
    times = [t for _, points in cleaned for t, _ in points]
    values = [v for _, points in cleaned for _, v in points]
    legend_rows = math.ceil(len(cleaned) / LEGEND_PER_ROW)
    height = plot_height + AXIS_HEIGHT + legend_rows * LEGEND_ROW + 4
    left, right = LABEL_WIDTH + PADDING, width - PADDING
    top, bottom = PADDING, plot_height - PADDING
    low, high = (min(values), max(values)) if values else (0.0, 0.0)
    start, end = (min(times), max(times)) if times else (None, None)

    def x_of(moment: datetime) -> float:
        total = (end - start).total_seconds()
        if total <= 0:
            return (left + right) / 2
        return left + (right - left) * (moment - start).total_seconds() / total

    y_of = _y_scale(low, high, top, bottom)

    parts = [
        format_html(
            '<svg class="console-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
            'width="{w}" height="{h}" viewBox="0 0 {w} {h}" aria-label="{title}">'
            "<title>{title}</title>"
            '<rect x="{left}" y="0" width="{plot_w}" height="{ph}" fill="none" stroke="#ccc"/>'
            '<text class="y-label" x="2" y="{top_y}" font-size="10" fill="#666">{high}</text>'
            '<text class="y-label" x="2" y="{bottom_y}" font-size="10" fill="#666">{low}</text>',
            w=width,
            h=f"{height:g}",
            title=title,
            left=LABEL_WIDTH,
            plot_w=width - LABEL_WIDTH,
            ph=plot_height,
            top_y=PADDING + 4,
            bottom_y=plot_height - PADDING + 2,
            high=_label(high),
            low=_label(low),
        )
    ]
    if start is not None and end is not None:
        span = end - start
        middle = start + span / 2
        label_y = plot_height + 12
        for moment, x, anchor in (
            (start, left, "start"),
            (middle, (left + right) / 2, "middle"),
            (end, right, "end"),
        ):
            parts.append(
                format_html(
                    '<text class="x-label" x="{x}" y="{y}" font-size="10" fill="#666" '
                    'text-anchor="{anchor}">{label}</text>',
                    x=f"{x:.1f}",
                    y=label_y,
                    anchor=anchor,
                    label=_date_label(moment, span=span),
                )
            )
    for s, points in cleaned:
        coords = " ".join(f"{x_of(t):.1f},{y_of(v):.1f}" for t, v in points)
        parts.append(
            format_html(
                '<polyline class="series" data-series="{label}" fill="none" stroke="{stroke}" '
                'stroke-width="2" points="{coords}"><title>{label}</title></polyline>',
                label=s.label,
                stroke=s.stroke,
                coords=coords,
            )
        )
    if not cleaned:
        parts.append(mark_safe('<polyline class="series empty" fill="none" points=""/>'))
    if cleaned:
        parts.append(mark_safe('<g class="legend">'))
        column_width = (width - LABEL_WIDTH) / LEGEND_PER_ROW
        for index, (s, _) in enumerate(cleaned):
            row, column = divmod(index, LEGEND_PER_ROW)
            x = LABEL_WIDTH + column * column_width
            y = plot_height + AXIS_HEIGHT + row * LEGEND_ROW
            parts.append(
                format_html(
                    '<g class="legend-entry">'
                    '<rect x="{x}" y="{ry}" width="10" height="10" fill="{stroke}"/>'
                    '<text x="{tx}" y="{ty}" font-size="11" fill="#333">{label}</text>'
                    "</g>",
                    x=f"{x:.1f}",
                    ry=f"{y:.1f}",
                    tx=f"{x + 14:.1f}",
                    ty=f"{y + 9:.1f}",
                    stroke=s.stroke,
                    label=s.label,
                )
            )
        parts.append(mark_safe("</g>"))
    parts.append(mark_safe("</svg>"))
    return mark_safe("".join(parts))


# --- interval charts: variants side by side, a mean and its 95 % interval each ---------------

INTERVAL_COLUMN = 90.0
VERDICT_COLOURS = {"better": "#2e7d32", "worse": "#c62828", "inconclusive": "#607d8b"}
CONTROL_COLOUR = "#417690"


@dataclass(frozen=True)
class Interval:
    """One variant's column: its mean, 95 % interval (None when unknown), n and colour."""

    label: str
    n: int
    mean: float | None
    low: float | None
    high: float | None
    colour: str = CONTROL_COLOUR


def interval_chart(
    intervals: Sequence[Interval], *, title: str, plot_height: int = 160
) -> SafeString:
    """An SVG with one column per variant: a dot at the mean and a whisker from the low to
    the high end of its interval, on one value scale; the variant's name and n below.
    A variant without data keeps its column, with "no data" in place of the dot."""
    values = _finite([v for i in intervals for v in (i.mean, i.low, i.high) if v is not None])
    low, high = (min(values), max(values)) if values else (0.0, 0.0)
    width = LABEL_WIDTH + PADDING * 2 + INTERVAL_COLUMN * max(1, len(intervals))
    height = plot_height + 2 * LEGEND_ROW + 4
    top, bottom = PADDING, plot_height - PADDING

    y_of = _y_scale(low, high, top, bottom)

    parts = [
        format_html(
            '<svg class="console-chart interval-chart" xmlns="http://www.w3.org/2000/svg" '
            'role="img" width="{w}" height="{h}" viewBox="0 0 {w} {h}" aria-label="{title}">'
            "<title>{title}</title>"
            '<rect x="{left}" y="0" width="{plot_w}" height="{ph}" fill="none" stroke="#ccc"/>'
            '<text class="y-label" x="2" y="{top_y}" font-size="10" fill="#666">{high}</text>'
            '<text class="y-label" x="2" y="{bottom_y}" font-size="10" fill="#666">{low}</text>',
            w=f"{width:g}",
            h=f"{height:g}",
            title=title,
            left=LABEL_WIDTH,
            plot_w=f"{width - LABEL_WIDTH:g}",
            ph=plot_height,
            top_y=PADDING + 4,
            bottom_y=plot_height - PADDING + 2,
            high=_label(high),
            low=_label(low),
        )
    ]
    for index, interval in enumerate(intervals):
        x = LABEL_WIDTH + PADDING + INTERVAL_COLUMN * (index + 0.5)
        parts.append(
            format_html('<g class="variant" data-variant="{label}">', label=interval.label)
        )
        if interval.low is not None and interval.high is not None:
            y_low, y_high = y_of(interval.low), y_of(interval.high)
            parts.append(
                format_html(
                    '<line class="ci95" x1="{x}" x2="{x}" y1="{y1}" y2="{y2}" stroke="{c}" '
                    'stroke-width="2"/>'
                    '<line x1="{xl}" x2="{xr}" y1="{y1}" y2="{y1}" stroke="{c}" stroke-width="2"/>'
                    '<line x1="{xl}" x2="{xr}" y1="{y2}" y2="{y2}" stroke="{c}" stroke-width="2"/>',
                    x=f"{x:.1f}",
                    xl=f"{x - 8:.1f}",
                    xr=f"{x + 8:.1f}",
                    y1=f"{y_low:.1f}",
                    y2=f"{y_high:.1f}",
                    c=interval.colour,
                )
            )
        if interval.mean is not None:
            parts.append(
                format_html(
                    '<circle class="mean" cx="{x}" cy="{y}" r="4" fill="{c}">'
                    "<title>{label}: mean {mean}</title></circle>",
                    x=f"{x:.1f}",
                    y=f"{y_of(interval.mean):.1f}",
                    c=interval.colour,
                    label=interval.label,
                    mean=_label(interval.mean),
                )
            )
        else:
            parts.append(
                format_html(
                    '<text x="{x}" y="{y}" font-size="10" fill="#999" text-anchor="middle">'
                    "no data</text>",
                    x=f"{x:.1f}",
                    y=f"{(top + bottom) / 2:.1f}",
                )
            )
        parts.append(
            format_html(
                '<text class="variant-label" x="{x}" y="{y1}" font-size="11" fill="#333" '
                'text-anchor="middle">{label}</text>'
                '<text class="variant-n" x="{x}" y="{y2}" font-size="10" fill="#666" '
                'text-anchor="middle">n={n}</text></g>',
                x=f"{x:.1f}",
                y1=f"{plot_height + 12:.1f}",
                y2=f"{plot_height + 12 + LEGEND_ROW:.1f}",
                label=_short(interval.label),
                n=interval.n,
            )
        )
    parts.append(mark_safe("</svg>"))
    return mark_safe("".join(parts))


def _short(label: str, limit: int = 14) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
