"""POST /v1/outcomes/roi and the public GET /v1/outcomes/health over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from outcomes.domain import MetricType
from outcomes.services import OutcomesService, outcomes_service

from .conftest import HEALTH, ROI, ago

ROI_BODY = {"domain": "support", "hours_saved_per_success": 0.5, "cost_per_hour_usd": 80.0}


def test_roi_on_a_hand_computed_example(tenant_a, post_event):
    # 5 invocations in the window: 1.0, 1.0, 1.2 succeed (>= 1.0); 0.99 and 0.0 fail.
    for value in (1.0, 0.99, 1.0, 0.0, 1.2):
        post_event(tenant_a, value=value, occurred_at=ago(days=2))
    post_event(tenant_a, value=1.0, occurred_at=ago(days=40))  # outside 30 days
    post_event(tenant_a, domain="billing", value=1.0)  # another domain
    for latency in (100.0, 300.0):
        post_event(tenant_a, metric_type="latency_ms", value=latency, occurred_at=ago(days=1))
    post_event(tenant_a, metric_type="latency_ms", value=9999.0, occurred_at=ago(days=31))

    response = tenant_a.post(ROI, ROI_BODY, format="json")
    assert response.status_code == 200
    # hours = 3 x 0.5 = 1.5; value = 1.5 x 80 = 120; rate = 3 / 5; latency (100 + 300) / 2
    assert response.json() == {
        "total_invocations": 5,
        "success_count": 3,
        "failure_count": 2,
        "estimated_hours_saved": pytest.approx(1.5),
        "estimated_value_usd": pytest.approx(120.0),
        "success_rate": pytest.approx(0.6),
        "avg_latency_ms": pytest.approx(200.0),
    }


def test_roi_window_days_widens_the_window(tenant_a, post_event):
    post_event(tenant_a, value=1.0, occurred_at=ago(days=2))
    post_event(tenant_a, value=1.0, occurred_at=ago(days=40))
    wide = tenant_a.post(ROI, {**ROI_BODY, "window_days": 45}, format="json").json()
    assert (wide["total_invocations"], wide["success_count"]) == (2, 2)
    narrow = tenant_a.post(ROI, {**ROI_BODY, "window_days": 1}, format="json").json()
    assert narrow["total_invocations"] == 0


def test_roi_without_events_is_all_zero(tenant_a):
    body = tenant_a.post(ROI, ROI_BODY, format="json").json()
    assert body == {
        "total_invocations": 0,
        "success_count": 0,
        "failure_count": 0,
        "estimated_hours_saved": 0.0,
        "estimated_value_usd": 0.0,
        "success_rate": 0.0,
        "avg_latency_ms": 0.0,
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"domain": ""}, "domain"),
        ({"hours_saved_per_success": -0.1}, "hours_saved_per_success"),
        ({"hours_saved_per_success": "2"}, "hours_saved_per_success"),
        ({"cost_per_hour_usd": -1}, "cost_per_hour_usd"),
        ({"cost_per_hour_usd": None}, "cost_per_hour_usd"),
        ({"cost_per_hour_usd": 1e308}, "cost_per_hour_usd"),
        ({"hours_saved_per_success": 1_000_001}, "hours_saved_per_success"),
        ({"window_days": 0}, "window_days"),
        ({"window_days": 2.5}, "window_days"),
        ({"window_days": 10**9}, "window_days"),
    ],
)
def test_roi_bad_input_is_400(tenant_a, change, field):
    response = tenant_a.post(ROI, {**ROI_BODY, **change}, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_roi_zero_rates_are_allowed(tenant_a, post_event):
    post_event(tenant_a, value=1.0)
    body = {**ROI_BODY, "hours_saved_per_success": 0, "cost_per_hour_usd": 0}
    result = tenant_a.post(ROI, body, format="json").json()
    assert (result["success_count"], result["estimated_value_usd"]) == (1, 0.0)


def test_roi_reads_only_the_tenants_own_events(tenant_a, tenant_b, operator, post_event):
    post_event(tenant_a, value=1.0)
    post_event(tenant_b, value=0.0)
    post_event(tenant_b, value=0.0)
    assert tenant_a.post(ROI, ROI_BODY, format="json").json()["total_invocations"] == 1
    assert tenant_b.post(ROI, ROI_BODY, format="json").json()["success_count"] == 0
    assert operator.post(ROI, ROI_BODY, format="json").json()["total_invocations"] == 3
    narrowed = operator.post(ROI + "?tenant_id=tenant-b", ROI_BODY, format="json").json()
    assert narrowed["total_invocations"] == 2


def test_roi_needs_read_scope_only(make_client, anon_client):
    assert anon_client.post(ROI, ROI_BODY, format="json").status_code == 401
    writer = make_client(["outcomes:write"], tenant="tenant-a")
    response = writer.post(ROI, ROI_BODY, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "Missing required scope: outcomes:read"
    reader = make_client(["outcomes:read"], tenant="tenant-a")
    assert reader.post(ROI + "/", ROI_BODY, format="json").status_code == 200


# --- health ------------------------------------------------------------------------------------


def test_health_is_stale_with_null_hours_when_no_event_exists(anon_client):
    response = anon_client.get(HEALTH)
    assert response.status_code == 200
    assert response.json() == {"status": "stale", "hours_since_last_event": None}


def test_health_is_ok_after_a_recent_event_of_any_tenant(anon_client, tenant_b, post_event):
    post_event(tenant_b, occurred_at=ago(hours=23))
    assert anon_client.get(HEALTH).json() == {"status": "ok"}
    assert anon_client.get(HEALTH + "/").json() == {"status": "ok"}


def test_health_is_stale_with_hours_since_the_latest_event(anon_client, tenant_a, post_event):
    post_event(tenant_a, occurred_at=ago(hours=30))
    post_event(tenant_a, occurred_at=ago(hours=50))
    body = anon_client.get(HEALTH).json()
    assert body["status"] == "stale"
    assert body["hours_since_last_event"] == pytest.approx(30.0, abs=0.05)


def test_health_boundary_and_hours_against_a_fixed_clock(anon_client):
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    clock = {"now": now}
    service = outcomes_service.install(OutcomesService(clock=lambda: clock["now"]))
    service.record_event(
        tenant_id="t",
        domain="d",
        event_type="e",
        metric_type=MetricType.COST_USD,
        value=1.0,
        occurred_at=now - timedelta(hours=24),
    )
    assert anon_client.get(HEALTH).json() == {"status": "ok"}  # exactly 24 h ago still counts
    clock["now"] = now + timedelta(minutes=30)
    assert anon_client.get(HEALTH).json() == {"status": "stale", "hours_since_last_event": 24.5}


def test_health_is_public_and_ignores_a_bad_token(anon_client, make_client):
    anon_client.credentials(HTTP_AUTHORIZATION="Bearer garbage")
    assert anon_client.get(HEALTH).status_code == 200
    no_scopes = make_client([], tenant="tenant-a")
    assert no_scopes.get(HEALTH).status_code == 200


def test_roi_at_the_largest_allowed_rates_is_exact(tenant_a, post_event):
    post_event(tenant_a, value=1.0)
    post_event(tenant_a, value=1.0)
    body = {**ROI_BODY, "hours_saved_per_success": 1e6, "cost_per_hour_usd": 1e6}
    response = tenant_a.post(ROI, body, format="json")
    assert response.status_code == 200
    assert response.json()["estimated_hours_saved"] == 2e6
    assert response.json()["estimated_value_usd"] == 2e12
