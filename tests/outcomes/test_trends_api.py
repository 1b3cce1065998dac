"""GET /v1/outcomes/trends/{metric_type} over HTTP."""

from __future__ import annotations

import pytest

from .conftest import ago, trend_url

TREND_FIELDS = {
    "metric_type",
    "domain",
    "window",
    "direction",
    "sample_size",
    "values",
    "previous_avg",
    "current_avg",
}


def post_series(post_event, client, metric: str, values: list[float], **fields) -> None:
    """Record `values` in occurred_at order, one hour apart, ending an hour ago."""
    for position, value in enumerate(values):
        hours_ago = len(values) - position
        post_event(
            client, metric_type=metric, value=value, occurred_at=ago(hours=hours_ago), **fields
        )


@pytest.mark.parametrize(
    ("metric", "values", "direction"),
    [
        ("success_rate", [0.5, 0.5, 0.9, 0.9], "improving"),
        ("success_rate", [0.9, 0.9, 0.5, 0.5], "declining"),
        ("success_rate", [0.8, 0.8, 0.81, 0.81], "stable"),
        ("quality_score", [0.6, 0.9], "improving"),
        ("latency_ms", [900.0, 900.0, 600.0, 600.0], "improving"),
        ("latency_ms", [600.0, 900.0], "declining"),
        ("cost_usd", [0.02, 0.04], "declining"),
        ("cost_usd", [0.04, 0.02], "improving"),
        ("cost_usd", [0.04, 0.0405], "stable"),
    ],
)
def test_each_direction(tenant_a, post_event, metric, values, direction):
    post_series(post_event, tenant_a, metric, values)
    response = tenant_a.get(trend_url(metric))
    assert response.status_code == 200
    trend = response.json()
    assert set(trend) == TREND_FIELDS
    assert trend["direction"] == direction
    assert trend["values"] == values
    assert trend["metric_type"] == metric


def test_hand_computed_trend_over_http(tenant_a, post_event):
    # previous [100, 110] avg 105; current [120, 130, 150] avg 133.33; latency rising -> declining
    post_series(post_event, tenant_a, "latency_ms", [100, 110, 120, 130, 150])
    trend = tenant_a.get(trend_url("latency_ms")).json()
    assert trend["sample_size"] == 5
    assert trend["previous_avg"] == pytest.approx(105.0)
    assert trend["current_avg"] == pytest.approx(400 / 3)
    assert trend["direction"] == "declining"
    assert (trend["domain"], trend["window"]) == ("all", 20)


def test_window_keeps_the_latest_values(tenant_a, post_event):
    post_series(post_event, tenant_a, "success_rate", [0.1, 0.1, 0.9, 0.9, 0.5, 0.5])
    trend = tenant_a.get(trend_url("success_rate"), {"window": 2}).json()
    assert trend["values"] == [0.5, 0.5]
    assert (trend["window"], trend["sample_size"], trend["direction"]) == (2, 2, "stable")


def test_out_of_order_recording_is_ordered_by_occurred_at(tenant_a, post_event):
    post_event(tenant_a, metric_type="quality_score", value=0.9, occurred_at=ago(hours=1))
    post_event(tenant_a, metric_type="quality_score", value=0.2, occurred_at=ago(hours=3))
    post_event(tenant_a, metric_type="quality_score", value=0.3, occurred_at=ago(hours=2))
    trend = tenant_a.get(trend_url("quality_score")).json()
    assert trend["values"] == [0.2, 0.3, 0.9]
    assert trend["direction"] == "improving"


def test_domain_narrows_the_trend(tenant_a, post_event):
    post_series(post_event, tenant_a, "success_rate", [0.9, 0.1], domain="billing")
    post_series(post_event, tenant_a, "success_rate", [0.1, 0.9], domain="search")
    billing = tenant_a.get(trend_url("success_rate"), {"domain": "billing"}).json()
    assert (billing["domain"], billing["direction"]) == ("billing", "declining")
    search = tenant_a.get(trend_url("success_rate"), {"domain": "search"}).json()
    assert (search["domain"], search["direction"]) == ("search", "improving")
    assert tenant_a.get(trend_url("success_rate")).json()["sample_size"] == 4


def test_no_events_is_stable_with_zero_averages(tenant_a):
    trend = tenant_a.get(trend_url("cost_usd")).json()
    assert trend == {
        "metric_type": "cost_usd",
        "domain": "all",
        "window": 20,
        "direction": "stable",
        "sample_size": 0,
        "values": [],
        "previous_avg": 0.0,
        "current_avg": 0.0,
    }


def test_single_event_is_stable_with_both_averages_equal_to_it(tenant_a, post_event):
    post_event(tenant_a, metric_type="latency_ms", value=250.0)
    trend = tenant_a.get(trend_url("latency_ms")).json()
    assert (trend["direction"], trend["previous_avg"], trend["current_avg"]) == (
        "stable",
        250.0,
        250.0,
    )


def test_failure_class_is_a_known_metric(tenant_a):
    assert tenant_a.get(trend_url("failure_class")).status_code == 200


@pytest.mark.parametrize("metric", ["revenue", "SUCCESS_RATE", "latency.ms", "%20"])
def test_unknown_metric_is_400(tenant_a, metric):
    response = tenant_a.get(trend_url(metric))
    assert response.status_code == 400
    assert "metric_type" in response.json()["errors"]


@pytest.mark.parametrize("window", ["0", "1001", "-3", "abc", "2.5"])
def test_bad_window_is_400(tenant_a, window):
    response = tenant_a.get(trend_url("success_rate"), {"window": window})
    assert response.status_code == 400
    assert "window" in response.json()["errors"]


def test_window_bounds_are_inclusive(tenant_a):
    assert tenant_a.get(trend_url("success_rate"), {"window": 1}).status_code == 200
    assert tenant_a.get(trend_url("success_rate"), {"window": 1000}).status_code == 200


def test_trend_reads_only_the_tenants_own_events(tenant_a, tenant_b, operator, post_event):
    post_series(post_event, tenant_a, "success_rate", [0.1, 0.9])
    post_series(post_event, tenant_b, "success_rate", [0.9, 0.1])
    assert tenant_a.get(trend_url("success_rate")).json()["direction"] == "improving"
    assert tenant_b.get(trend_url("success_rate")).json()["direction"] == "declining"
    assert operator.get(trend_url("success_rate")).json()["sample_size"] == 4
    narrowed = operator.get(trend_url("success_rate"), {"tenant_id": "tenant-b"}).json()
    assert narrowed["direction"] == "declining"


def test_trend_needs_read_scope(make_client, anon_client):
    assert anon_client.get(trend_url("success_rate")).status_code == 401
    writer = make_client(["outcomes:write"], tenant="tenant-a")
    response = writer.get(trend_url("success_rate"))
    assert response.status_code == 403
    assert response.json()["detail"] == "Missing required scope: outcomes:read"
    reader = make_client(["outcomes:read"], tenant="tenant-a")
    assert reader.get(trend_url("success_rate") + "/").status_code == 200
