"""GET /v1/outcomes/dashboard over HTTP: shape, order, summary, week over week, failures."""

from __future__ import annotations

import pytest

from .conftest import DASHBOARD, ago

NUMERIC = ["success_rate", "quality_score", "latency_ms", "cost_usd"]
ALL_METRICS = [*NUMERIC, "failure_class"]


def test_empty_dashboard_has_the_full_shape(tenant_a):
    response = tenant_a.get(DASHBOARD)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "trends",
        "recent_events",
        "summary",
        "week_over_week",
        "top_failure_modes",
    }
    assert [t["metric_type"] for t in body["trends"]] == NUMERIC
    assert all(t["direction"] == "stable" and t["domain"] == "all" for t in body["trends"])
    assert body["recent_events"] == []
    assert body["summary"] == {
        "total_events": 0,
        "domains": [],
        "event_types": [],
        "metric_counts": dict.fromkeys(ALL_METRICS, 0),
    }
    assert body["week_over_week"] == [
        {"metric_type": m, "current_week_avg": 0.0, "previous_week_avg": 0.0, "pct_change": 0.0}
        for m in NUMERIC
    ]
    assert body["top_failure_modes"] == []


def test_trends_come_in_the_fixed_order_with_their_directions(tenant_a, post_event):
    for hours, latency in [(4, 500.0), (3, 500.0), (2, 200.0), (1, 200.0)]:
        post_event(tenant_a, metric_type="latency_ms", value=latency, occurred_at=ago(hours=hours))
        post_event(
            tenant_a, metric_type="cost_usd", value=1000 / latency, occurred_at=ago(hours=hours)
        )
    trends = tenant_a.get(DASHBOARD).json()["trends"]
    assert [t["metric_type"] for t in trends] == NUMERIC
    assert [t["direction"] for t in trends] == ["stable", "stable", "improving", "declining"]


def test_summary_counts_domains_event_types_and_every_metric(tenant_a, post_event):
    post_event(tenant_a, domain="search", event_type="query", metric_type="latency_ms", value=5)
    post_event(tenant_a, domain="billing", event_type="invoice", metric_type="cost_usd", value=1)
    post_event(tenant_a, domain="billing", event_type="alpha", metric_type="cost_usd", value=2)
    post_event(tenant_a, domain="agent", event_type="query", metric_type="failure_class", value=1)
    summary = tenant_a.get(DASHBOARD).json()["summary"]
    assert summary == {
        "total_events": 4,
        "domains": ["agent", "billing", "search"],
        "event_types": ["alpha", "invoice", "query"],
        "metric_counts": {
            "success_rate": 0,
            "quality_score": 0,
            "latency_ms": 1,
            "cost_usd": 2,
            "failure_class": 1,
        },
    }
    billing = tenant_a.get(DASHBOARD, {"domain": "billing"}).json()["summary"]
    assert billing["total_events"] == 2
    assert billing["domains"] == ["billing"]
    assert billing["event_types"] == ["alpha", "invoice"]
    assert billing["metric_counts"]["cost_usd"] == 2


def test_recent_events_are_newest_first_and_bounded_by_recent_limit(tenant_a, post_event):
    for minutes in (30, 10, 50, 20, 40) * 3:
        post_event(tenant_a, value=float(minutes), occurred_at=ago(minutes=minutes))
    body = tenant_a.get(DASHBOARD).json()
    assert len(body["recent_events"]) == 10  # the default
    recent = tenant_a.get(DASHBOARD, {"recent_limit": 4}).json()["recent_events"]
    assert [e["value"] for e in recent] == [10.0, 10.0, 10.0, 20.0]
    assert tenant_a.get(DASHBOARD, {"recent_limit": 0}).json()["recent_events"] == []
    assert len(tenant_a.get(DASHBOARD, {"recent_limit": 100}).json()["recent_events"]) == 15


def test_recent_events_follow_the_domain(tenant_a, post_event):
    post_event(
        tenant_a, domain="billing", metric_type="cost_usd", value=1.0, occurred_at=ago(hours=3)
    )
    post_event(
        tenant_a, domain="search", metric_type="cost_usd", value=2.0, occurred_at=ago(hours=2)
    )
    post_event(
        tenant_a, domain="billing", metric_type="latency_ms", value=3.0, occurred_at=ago(hours=1)
    )
    recent = tenant_a.get(DASHBOARD, {"domain": "billing"}).json()["recent_events"]
    assert [e["value"] for e in recent] == [3.0, 1.0]


def test_week_over_week_compares_the_last_7_days_with_the_7_before(tenant_a, post_event):
    # 3 days ago: success 0.9 and 0.7 (avg 0.8); 10 days ago: 0.5 (avg 0.5) -> +60 %
    post_event(tenant_a, value=0.9, occurred_at=ago(days=3))
    post_event(tenant_a, value=0.7, occurred_at=ago(days=3, hours=1))
    post_event(tenant_a, value=0.5, occurred_at=ago(days=10))
    # latency: 150 now vs 200 before -> -25 %
    post_event(tenant_a, metric_type="latency_ms", value=150.0, occurred_at=ago(days=3))
    post_event(tenant_a, metric_type="latency_ms", value=200.0, occurred_at=ago(days=10))
    # cost only in the current week: previous 0 -> pct_change 0
    post_event(tenant_a, metric_type="cost_usd", value=0.25, occurred_at=ago(days=3))
    # quality only 20 days ago: outside both weeks
    post_event(tenant_a, metric_type="quality_score", value=0.9, occurred_at=ago(days=20))

    rows = {row["metric_type"]: row for row in tenant_a.get(DASHBOARD).json()["week_over_week"]}
    assert list(rows) == NUMERIC
    assert rows["success_rate"]["current_week_avg"] == pytest.approx(0.8)
    assert rows["success_rate"]["previous_week_avg"] == pytest.approx(0.5)
    assert rows["success_rate"]["pct_change"] == pytest.approx(60.0)
    assert rows["latency_ms"]["current_week_avg"] == pytest.approx(150.0)
    assert rows["latency_ms"]["previous_week_avg"] == pytest.approx(200.0)
    assert rows["latency_ms"]["pct_change"] == pytest.approx(-25.0)
    assert rows["cost_usd"]["current_week_avg"] == pytest.approx(0.25)
    assert (rows["cost_usd"]["previous_week_avg"], rows["cost_usd"]["pct_change"]) == (0.0, 0.0)
    assert rows["quality_score"] == {
        "metric_type": "quality_score",
        "current_week_avg": 0.0,
        "previous_week_avg": 0.0,
        "pct_change": 0.0,
    }


def test_top_failure_modes_group_by_metadata_failure_class(tenant_a, post_event):
    def fail(count: int, metadata) -> None:
        for _ in range(count):
            post_event(tenant_a, metric_type="failure_class", value=1.0, metadata=metadata)

    fail(3, {"failure_class": "timeout"})
    fail(5, {"failure_class": "tool_error"})
    fail(3, {"failure_class": "rate_limited"})  # ties with timeout: by name
    fail(1, {})  # missing -> unknown
    fail(1, {"failure_class": 42})  # not a string -> unknown
    # failure_class metadata on another metric does not count
    post_event(tenant_a, metric_type="latency_ms", value=1.0, metadata={"failure_class": "timeout"})
    modes = tenant_a.get(DASHBOARD).json()["top_failure_modes"]
    assert modes == [
        {"failure_class": "tool_error", "count": 5},
        {"failure_class": "rate_limited", "count": 3},
        {"failure_class": "timeout", "count": 3},
        {"failure_class": "unknown", "count": 2},
    ]


def test_top_failure_modes_keep_only_ten(tenant_a, post_event):
    for n in range(12):
        for _ in range(n + 1):
            post_event(
                tenant_a,
                metric_type="failure_class",
                value=1.0,
                metadata={"failure_class": f"class-{n:02d}"},
            )
    modes = tenant_a.get(DASHBOARD).json()["top_failure_modes"]
    assert len(modes) == 10
    assert [m["failure_class"] for m in modes] == [f"class-{n:02d}" for n in range(11, 1, -1)]
    assert [m["count"] for m in modes] == list(range(12, 2, -1))


def test_domain_narrows_every_part(tenant_a, post_event):
    post_event(
        tenant_a,
        domain="billing",
        metric_type="failure_class",
        value=1,
        metadata={"failure_class": "x"},
    )
    post_event(
        tenant_a,
        domain="search",
        metric_type="failure_class",
        value=1,
        metadata={"failure_class": "y"},
    )
    post_event(tenant_a, domain="search", metric_type="latency_ms", value=100.0)
    body = tenant_a.get(DASHBOARD, {"domain": "billing"}).json()
    assert all(t["domain"] == "billing" for t in body["trends"])
    assert body["top_failure_modes"] == [{"failure_class": "x", "count": 1}]
    assert body["trends"][2]["sample_size"] == 0
    assert body["week_over_week"][2]["current_week_avg"] == 0.0


def test_window_applies_to_every_trend(tenant_a, post_event):
    for n in range(5):
        post_event(tenant_a, value=float(n), occurred_at=ago(minutes=10 - n))
    trends = tenant_a.get(DASHBOARD, {"window": 3}).json()["trends"]
    assert trends[0]["values"] == [2.0, 3.0, 4.0]
    assert all(t["window"] == 3 for t in trends)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"window": 0}, "window"),
        ({"window": 1001}, "window"),
        ({"window": "x"}, "window"),
        ({"recent_limit": -1}, "recent_limit"),
        ({"recent_limit": 101}, "recent_limit"),
        ({"recent_limit": "many"}, "recent_limit"),
        ({"domain": "d" * 201}, "domain"),
    ],
)
def test_bad_query_parameters_are_400(tenant_a, query, field):
    response = tenant_a.get(DASHBOARD, query)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_tenant_dashboard_shows_only_its_events(tenant_a, tenant_b, operator, post_event):
    post_event(
        tenant_a, domain="a-domain", metric_type="failure_class", metadata={"failure_class": "a"}
    )
    post_event(
        tenant_b, domain="b-domain", metric_type="failure_class", metadata={"failure_class": "b"}
    )
    a = tenant_a.get(DASHBOARD).json()
    assert a["summary"]["domains"] == ["a-domain"]
    assert [e["tenant_id"] for e in a["recent_events"]] == ["tenant-a"]
    assert a["top_failure_modes"] == [{"failure_class": "a", "count": 1}]
    assert tenant_a.get(DASHBOARD, {"tenant_id": "tenant-b"}).json()["summary"]["domains"] == [
        "a-domain"
    ]
    everything = operator.get(DASHBOARD).json()
    assert everything["summary"]["domains"] == ["a-domain", "b-domain"]
    assert everything["summary"]["total_events"] == 2
    assert [m["failure_class"] for m in everything["top_failure_modes"]] == ["a", "b"]
    only_b = operator.get(DASHBOARD, {"tenant_id": "tenant-b"}).json()
    assert only_b["summary"]["domains"] == ["b-domain"]


def test_dashboard_needs_read_scope(make_client, anon_client):
    assert anon_client.get(DASHBOARD).status_code == 401
    response = make_client(["outcomes:write"], tenant="tenant-a").get(DASHBOARD)
    assert response.status_code == 403
    assert response.json()["detail"] == "Missing required scope: outcomes:read"


def test_overflowing_figures_stay_finite_numbers(tenant_a, post_event):
    # A change over a previous average of 5e-324 overflows a float; the response must stay JSON.
    post_event(tenant_a, metric_type="quality_score", value=5e-324, occurred_at=ago(days=10))
    post_event(tenant_a, metric_type="quality_score", value=1e15, occurred_at=ago(days=1))
    response = tenant_a.get(DASHBOARD)
    assert response.status_code == 200
    row = response.json()["week_over_week"][1]
    assert row["pct_change"] == pytest.approx(1.7976931348623157e308)
