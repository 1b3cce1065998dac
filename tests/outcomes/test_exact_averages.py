"""Averages (week over week, trends, ROI) are exact to 1e-9 relative whatever values the
tenant stored before (contract §3, issue 10): a huge value, stored earlier or inside the
range, never swallows the small ones."""

from __future__ import annotations

import pytest

from .conftest import DASHBOARD, ROI, ago, trend_url

EXACT = {"rel": 1e-9, "abs": 0.0}


def week_row(dashboard: dict, metric: str) -> dict:
    return next(row for row in dashboard["week_over_week"] if row["metric_type"] == metric)


def test_week_over_week_after_a_1e15_cost_is_exact(tenant_a, post_event):
    post_event(tenant_a, metric_type="cost_usd", value=1e15, occurred_at=ago(days=30))
    post_event(tenant_a, metric_type="cost_usd", value=0.3, occurred_at=ago(days=10))
    post_event(tenant_a, metric_type="cost_usd", value=0.1, occurred_at=ago(days=1))
    response = tenant_a.get(DASHBOARD)
    assert response.status_code == 200
    row = week_row(response.json(), "cost_usd")
    assert row["current_week_avg"] == pytest.approx(0.1, **EXACT)
    assert row["previous_week_avg"] == pytest.approx(0.3, **EXACT)
    assert row["pct_change"] == pytest.approx((0.1 - 0.3) / 0.3 * 100, **EXACT)


def test_week_over_week_is_exact_when_huge_values_cancel_inside_the_week(tenant_a, post_event):
    for days, value in [(6, 0.3), (5, 1e15), (4, -1e15), (3, 0.3), (2, 0.3)]:
        post_event(tenant_a, metric_type="quality_score", value=value, occurred_at=ago(days=days))
    row = week_row(tenant_a.get(DASHBOARD).json(), "quality_score")
    assert row["current_week_avg"] == pytest.approx(0.9 / 5, **EXACT)


def test_trend_averages_are_exact_next_to_huge_values(tenant_a, post_event):
    # Oldest first: previous half [0.3, 1e15, -1e15], current half [0.1, 0.2, 0.3].
    for hours, value in [(6, 0.3), (5, 1e15), (4, -1e15), (3, 0.1), (2, 0.2), (1, 0.3)]:
        post_event(tenant_a, metric_type="latency_ms", value=value, occurred_at=ago(hours=hours))
    trend = tenant_a.get(trend_url("latency_ms"), {"window": 6}).json()
    assert trend["previous_avg"] == pytest.approx(0.1, **EXACT)
    assert trend["current_avg"] == pytest.approx(0.2, **EXACT)
    assert trend["direction"] == "declining"  # latency went up from 0.1 to 0.2
    dashboard_trend = tenant_a.get(DASHBOARD, {"window": 6}).json()["trends"][2]
    assert dashboard_trend == trend


def test_trend_after_a_huge_value_left_the_window_is_exact(tenant_a, post_event):
    post_event(tenant_a, metric_type="cost_usd", value=1e15, occurred_at=ago(hours=5))
    for hours, value in [(4, 0.3), (3, 0.3), (2, 0.1), (1, 0.1)]:
        post_event(tenant_a, metric_type="cost_usd", value=value, occurred_at=ago(hours=hours))
    trend = tenant_a.get(trend_url("cost_usd"), {"window": 4}).json()
    assert (trend["previous_avg"], trend["current_avg"]) == (
        pytest.approx(0.3, **EXACT),
        pytest.approx(0.1, **EXACT),
    )
    assert trend["direction"] == "improving"


def test_roi_average_latency_is_exact_after_a_huge_value(tenant_a, post_event):
    body = {"domain": "support", "hours_saved_per_success": 2, "cost_per_hour_usd": 10}
    post_event(tenant_a, metric_type="latency_ms", value=1e15, occurred_at=ago(days=40))
    post_event(tenant_a, metric_type="latency_ms", value=0.3, occurred_at=ago(days=3))
    post_event(tenant_a, metric_type="latency_ms", value=0.1, occurred_at=ago(days=2))
    post_event(tenant_a, value=1.0, occurred_at=ago(days=2))
    post_event(tenant_a, value=0.0, occurred_at=ago(days=1))
    response = tenant_a.post(ROI, body, format="json")
    assert response.status_code == 200
    report = response.json()
    assert report["avg_latency_ms"] == pytest.approx(0.2, **EXACT)
    assert (report["total_invocations"], report["success_count"]) == (2, 1)
    assert report["estimated_value_usd"] == 20.0

    # Huge values inside the window that cancel out leave the small ones exact too.
    post_event(tenant_a, metric_type="latency_ms", value=1e15, occurred_at=ago(days=1))
    post_event(tenant_a, metric_type="latency_ms", value=-1e15, occurred_at=ago(hours=1))
    report = tenant_a.post(ROI, body, format="json").json()
    assert report["avg_latency_ms"] == pytest.approx(0.4 / 4, **EXACT)
