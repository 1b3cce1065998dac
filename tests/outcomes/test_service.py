"""`OutcomesService` and its indexes, called directly: ordering, retention, running sums,
idempotency and concurrent writes."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest

from agent33_core.errors import QuotaExceeded
from outcomes.domain import MetricType, TrendDirection
from outcomes.services import OutcomesService

from .helpers import FixedClock, record

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def test_trend_follows_occurred_at_not_the_order_of_recording():
    service = OutcomesService(clock=FixedClock(NOW))
    # Recorded newest first: by occurred_at the values are 0.5, 0.5, 0.9, 0.9.
    for hours_ago, value in [(1, 0.9), (2, 0.9), (3, 0.5), (4, 0.5)]:
        record(service, value=value, occurred_at=NOW - timedelta(hours=hours_ago))
    trend = service.compute_trend(tenant_id="t1", metric_type=MetricType.SUCCESS_RATE)
    assert trend.values == [0.5, 0.5, 0.9, 0.9]
    assert trend.direction is TrendDirection.IMPROVING


def test_late_event_lands_inside_the_window_where_it_occurred():
    service = OutcomesService(clock=FixedClock(NOW))
    for hour, value in enumerate([1.0, 2.0, 3.0, 4.0]):
        record(
            service,
            metric_type=MetricType.LATENCY_MS,
            value=value,
            occurred_at=NOW.replace(hour=hour),
        )
    record(
        service,
        metric_type=MetricType.LATENCY_MS,
        value=2.5,
        occurred_at=NOW.replace(hour=2, minute=30),
    )
    trend = service.compute_trend(tenant_id="t1", metric_type=MetricType.LATENCY_MS, window=3)
    assert trend.values == [3.0, 2.5, 4.0]


def test_events_with_the_same_occurred_at_keep_recording_order():
    service = OutcomesService(clock=FixedClock(NOW))
    ids = [record(service, value=float(v), occurred_at=NOW).id for v in range(3)]
    assert [e.id for e in service.list_events(tenant_id="t1")] == ids[::-1]


def test_retention_evicts_the_oldest_by_occurred_at_and_keeps_counters_consistent():
    service = OutcomesService(max_events_per_tenant=4, clock=FixedClock(NOW))
    shuffled_hours = [5, 1, 7, 3, 8, 2, 6, 4]  # hours ago; the 4 newest are 1, 2, 3, 4
    for hours_ago in shuffled_hours:
        record(
            service,
            domain=f"d{hours_ago % 2}",
            event_type=f"e{hours_ago}",
            metric_type=MetricType.FAILURE_CLASS if hours_ago > 4 else MetricType.LATENCY_MS,
            value=float(hours_ago),
            occurred_at=NOW - timedelta(hours=hours_ago),
            metadata={"failure_class": "timeout"},
        )
    record(service, tenant="t2", value=0.5, occurred_at=NOW - timedelta(days=30))

    kept = service.list_events(tenant_id="t1", limit=100)
    assert [e.value for e in kept] == [1.0, 2.0, 3.0, 4.0]
    dashboard = service.dashboard(tenant_id="t1")
    assert dashboard.summary.total_events == 4
    assert dashboard.summary.event_types == ["e1", "e2", "e3", "e4"]
    assert dashboard.summary.metric_counts["failure_class"] == 0
    assert dashboard.summary.metric_counts["latency_ms"] == 4
    assert dashboard.top_failure_modes == []
    latency = service.compute_trend(tenant_id="t1", metric_type=MetricType.LATENCY_MS)
    assert latency.values == [4.0, 3.0, 2.0, 1.0]
    assert service.list_events(tenant_id="t1", metric_type=MetricType.FAILURE_CLASS) == []
    assert service.list_events(tenant_id="t1", domain="d1", limit=100)[0].value == 1.0
    # Another tenant's events do not count against this tenant's cap.
    assert [e.value for e in service.list_events(tenant_id="t2")] == [0.5]


def test_retention_drops_a_domain_from_the_summary_once_its_last_event_goes():
    service = OutcomesService(max_events_per_tenant=2, clock=FixedClock(NOW))
    record(service, domain="old", occurred_at=NOW - timedelta(hours=3))
    record(service, domain="new", occurred_at=NOW - timedelta(hours=2))
    record(service, domain="new", occurred_at=NOW - timedelta(hours=1))
    assert service.dashboard(tenant_id="t1").summary.domains == ["new"]
    assert service.dashboard(tenant_id="t1", domain="old").summary.total_events == 0


def test_retention_cap_comes_from_settings(settings):
    settings.OUTCOMES_MAX_EVENTS_PER_TENANT = 3
    service = OutcomesService(clock=FixedClock(NOW))
    for minute in range(5):
        record(service, value=float(minute), occurred_at=NOW.replace(minute=minute))
    assert service.count_events(tenant_id="t1") == 3
    assert [e.value for e in service.list_events(tenant_id="t1")] == [4.0, 3.0, 2.0]


def _brute_average(events, metric, domain, start, end) -> tuple[int, float, int]:
    values = [
        e.value
        for e in events
        if e.metric_type is metric and e.domain == domain and start <= e.occurred_at <= end
    ]
    return len(values), (sum(values) / len(values) if values else 0.0), sum(v >= 1 for v in values)


def test_running_sums_match_a_brute_force_scan_through_out_of_order_writes_and_evictions():
    clock = FixedClock(NOW)
    service = OutcomesService(max_events_per_tenant=300, clock=clock)
    rng = random.Random(7)
    metrics = [MetricType.SUCCESS_RATE, MetricType.LATENCY_MS, MetricType.QUALITY_SCORE]
    for _ in range(1500):
        record(
            service,
            domain=rng.choice(["a", "b"]),
            metric_type=rng.choice(metrics),
            value=rng.choice([0.0, 0.5, 1.0, 1.5, 250.0]),
            occurred_at=NOW - timedelta(minutes=rng.randint(0, 60 * 24 * 40)),
        )
    stored = service.list_events(tenant_id="t1", limit=1000)
    assert len(stored) == 300

    for domain in ("a", "b"):
        roi = service.compute_roi(
            tenant_id="t1",
            domain=domain,
            hours_saved_per_success=1.0,
            cost_per_hour_usd=1.0,
            window_days=30,
        )
        start = NOW - timedelta(days=30)
        count, _, successes = _brute_average(stored, MetricType.SUCCESS_RATE, domain, start, NOW)
        _, latency, _ = _brute_average(stored, MetricType.LATENCY_MS, domain, start, NOW)
        assert (roi.total_invocations, roi.success_count) == (count, successes)
        assert roi.avg_latency_ms == pytest.approx(latency)

        weeks = service.dashboard(tenant_id="t1", domain=domain).week_over_week
        for row in weeks:
            week = timedelta(days=7)
            _, current, _ = _brute_average(stored, row.metric_type, domain, NOW - week, NOW)
            _, previous, _ = _brute_average(
                stored,
                row.metric_type,
                domain,
                NOW - 2 * week,
                NOW - week - timedelta(microseconds=1),
            )
            assert row.current_week_avg == pytest.approx(current)
            assert row.previous_week_avg == pytest.approx(previous)


def test_operator_reads_merge_every_tenant_in_occurred_at_order():
    service = OutcomesService(clock=FixedClock(NOW))
    record(service, tenant="t1", value=0.1, occurred_at=NOW - timedelta(hours=4))
    record(service, tenant="t2", value=0.2, occurred_at=NOW - timedelta(hours=3))
    record(service, tenant="t1", value=0.9, occurred_at=NOW - timedelta(hours=2))
    record(service, tenant="t2", value=1.0, occurred_at=NOW - timedelta(hours=1))
    trend = service.compute_trend(tenant_id=None, metric_type=MetricType.SUCCESS_RATE, window=3)
    assert trend.values == [0.2, 0.9, 1.0]
    assert [e.value for e in service.list_events(tenant_id=None, limit=3)] == [1.0, 0.9, 0.2]
    assert service.dashboard(tenant_id=None).summary.total_events == 4


def test_idempotency_key_expires_after_24_hours():
    clock = FixedClock(NOW)
    service = OutcomesService(clock=clock)
    first = service.record_event(
        tenant_id="t1",
        domain="d",
        event_type="e",
        metric_type=MetricType.COST_USD,
        value=1.0,
        idempotency_key="k",
    )
    clock.now = NOW + timedelta(hours=23)
    retry = service.record_event(
        tenant_id="t1",
        domain="d",
        event_type="e",
        metric_type=MetricType.COST_USD,
        value=1.0,
        idempotency_key="k",
    )
    assert (retry.created, retry.event.id) == (False, first.event.id)
    clock.now = NOW + timedelta(hours=24, seconds=1)
    later = service.record_event(
        tenant_id="t1",
        domain="d",
        event_type="e",
        metric_type=MetricType.COST_USD,
        value=1.0,
        idempotency_key="k",
    )
    assert later.created
    assert later.event.id != first.event.id


def test_live_idempotency_keys_are_never_forgotten_and_a_new_key_past_the_cap_is_refused():
    clock = FixedClock(NOW)
    service = OutcomesService(max_idempotency_keys=3, clock=clock)
    first = record(service, idempotency_key="k0")
    for n in range(1, 3):
        record(service, idempotency_key=f"k{n}")
    clock.now = NOW + timedelta(minutes=1)
    with pytest.raises(QuotaExceeded):
        record(service, idempotency_key="k3")
    retry = service.record_event(
        tenant_id="t1",
        domain="support",
        event_type="run",
        metric_type=MetricType.SUCCESS_RATE,
        value=1.0,
        idempotency_key="k0",
    )
    assert (retry.created, retry.event.id) == (False, first.id)
    assert service.count_events(tenant_id="t1") == 3
    record(service, tenant="t2", idempotency_key="k3")  # another tenant has its own cap
    clock.now = NOW + timedelta(hours=24)
    assert record(service, idempotency_key="k3").id  # the first three expired
    assert service.count_events(tenant_id="t1") == 4


def test_eight_threads_recording_250_events_each_store_exactly_2000():
    service = OutcomesService(clock=FixedClock(NOW))
    barrier = threading.Barrier(8)

    def write(worker: int) -> None:
        barrier.wait()
        for n in range(250):
            record(
                service,
                domain=f"d{worker}",
                value=float(n),
                occurred_at=NOW - timedelta(seconds=n),
                idempotency_key=f"{worker}-{n}",
            )

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert service.count_events(tenant_id="t1") == 2000
    summary = service.dashboard(tenant_id="t1").summary
    assert summary.total_events == 2000
    assert summary.metric_counts["success_rate"] == 2000
    assert len({e.id for e in service.list_events(tenant_id="t1", limit=1000)}) == 1000
    assert (
        service.compute_trend(
            tenant_id="t1", metric_type=MetricType.SUCCESS_RATE, window=1000
        ).sample_size
        == 1000
    )
