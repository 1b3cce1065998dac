"""The outcomes event store on both backends (contract §3, §6): the service's behaviours are
the same on memory and on Redis, Redis keeps them across processes (clients), and a read
costs the same Redis commands whatever the history size.

Redis tests run on the session's private redis-server (`redis_server`), flushed per test.
"""

from __future__ import annotations

import math
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis

from agent33_core.errors import QuotaExceeded
from agent33_core.redis_store import hash_tag
from outcomes.domain import MetricType, OutcomeEvent, evaluate_trend
from outcomes.idempotency import key_bytes
from outcomes.index import SIZE, scaled, stored_event
from outcomes.redis_store import RedisEventStore
from outcomes.services import OutcomesService, outcomes_service
from outcomes.store import EventStore, MemoryEventStore

from . import test_exact_averages as exact_average_cases
from .conftest import DASHBOARD, EVENTS, trend_url
from .helpers import FixedClock, record

# Mid-minute and mid-hour, so spans have partial minutes at both edges.
NOW = datetime(2026, 6, 15, 12, 29, 30, 250_000, tzinfo=UTC)
DAY = timedelta(days=1)
PREFIX = "test"


_clients: list[redis.Redis] = []  # every client `redis_store` opened, closed after each test


@pytest.fixture
def redis_url(redis_server) -> Iterator[str]:
    """The session server, empty."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    client.close()
    yield redis_server.url
    while _clients:
        _clients.pop().close()


@pytest.fixture
def redis_client(redis_url) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def redis_store(url: str) -> RedisEventStore:
    """A store with its own client (and connection pool), as another process would have."""
    client = redis.Redis.from_url(url)
    _clients.append(client)
    return RedisEventStore(client=client, prefix=PREFIX)


@pytest.fixture(params=["memory", "redis"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def make_store(request, backend) -> Callable[[], EventStore]:
    """A store of this test's backend; on Redis every store shares the (flushed) server."""
    if backend == "memory":
        return MemoryEventStore
    url = request.getfixturevalue("redis_url")
    return lambda: redis_store(url)


@pytest.fixture
def make_service(make_store) -> Callable[..., OutcomesService]:
    """`make_service(max_events_per_tenant=..., clock=...)` on this test's backend."""

    def build(**kwargs: Any) -> OutcomesService:
        kwargs.setdefault("clock", FixedClock(NOW))
        return OutcomesService(store=make_store(), **kwargs)

    return build


@pytest.fixture
def installed(make_store) -> Callable[..., OutcomesService]:
    """The views' service on this test's backend: `installed(clock=...)`."""

    def install(**kwargs: Any) -> OutcomesService:
        return outcomes_service.install(OutcomesService(store=make_store(), **kwargs))

    install()
    return install


def values(events: list[OutcomeEvent]) -> list[float]:
    return [event.value for event in events]


# --- recording and listing -------------------------------------------------------------------


def test_a_recorded_event_comes_back_exactly_as_stored(make_service):
    service = make_service()
    sent = record(
        service,
        domain="sûpport {ops}",
        event_type="ticket:resolved",
        metric_type=MetricType.COST_USD,
        value=0.1,
        occurred_at=datetime(2026, 6, 15, 14, 29, 30, 250_001, tzinfo=ZoneInfo("Europe/Paris")),
        metadata={"nested": {"list": [1, 2.5, None, True, "✓"]}, "big": 2**70},
    )
    [listed] = service.list_events(tenant_id="t1")
    assert listed == sent
    assert listed.occurred_at == datetime(2026, 6, 15, 12, 29, 30, 250_001, tzinfo=UTC)
    assert listed.occurred_at.utcoffset() == timedelta(0)
    assert listed.metadata == {"nested": {"list": [1, 2.5, None, True, "✓"]}, "big": 2**70}
    assert listed.metric_type is MetricType.COST_USD


def test_listing_filters_by_domain_type_metric_and_inclusive_time_bounds(make_service):
    service = make_service()
    for hours in range(12):
        record(
            service,
            domain=("a", "b")[hours % 2],
            event_type=("x", "y", "z")[hours % 3],
            metric_type=(MetricType.LATENCY_MS, MetricType.COST_USD)[hours // 6],
            value=float(hours),
            occurred_at=NOW - timedelta(hours=hours),
        )
    list_events = service.list_events
    assert values(list_events(tenant_id="t1", limit=100)) == [float(h) for h in range(12)]
    assert values(list_events(tenant_id="t1", domain="b", limit=100)) == [1, 3, 5, 7, 9, 11]
    assert values(list_events(tenant_id="t1", event_type="z", limit=100)) == [2, 5, 8, 11]
    assert values(list_events(tenant_id="t1", event_type="z", limit=2)) == [2, 5]
    assert values(
        list_events(tenant_id="t1", metric_type=MetricType.COST_USD, domain="a", limit=100)
    ) == [6, 8, 10]
    assert values(
        list_events(tenant_id="t1", metric_type=MetricType.LATENCY_MS, event_type="y", limit=9)
    ) == [1, 4]
    assert values(
        list_events(
            tenant_id="t1",
            since=NOW - timedelta(hours=7),
            until=NOW - timedelta(hours=3),
            limit=100,
        )
    ) == [3, 4, 5, 6, 7]
    assert values(
        list_events(
            tenant_id="t1",
            domain="a",
            event_type="x",
            since=NOW - timedelta(hours=6),
            limit=100,
        )
    ) == [0, 6]
    assert values(list_events(tenant_id="t1", limit=3)) == [0, 1, 2]
    assert list_events(tenant_id="t1", domain="none", limit=10) == []
    assert list_events(tenant_id="t2", limit=10) == []


def test_an_event_type_filter_combines_with_a_metric_or_domain_filter(make_service):
    service = make_service()
    batches = [  # (count, event type, metric, domain)
        (20, "common", MetricType.LATENCY_MS, "a"),
        (2, "rare", MetricType.COST_USD, "b"),
        (3, "common", MetricType.COST_USD, "a"),
    ]
    n = 0
    for count, event_type, metric, domain in batches:
        for _ in range(count):
            n += 1
            record(
                service,
                event_type=event_type,
                metric_type=metric,
                domain=domain,
                value=float(n),
                occurred_at=NOW - timedelta(minutes=n),
            )

    def listed(**filters: Any) -> list[float]:
        return values(service.list_events(tenant_id="t1", limit=100, **filters))

    # The metric's index is the smaller: it is walked, the type's index filters.
    assert listed(metric_type=MetricType.COST_USD, event_type="common") == [23.0, 24.0, 25.0]
    assert listed(domain="b", event_type="common") == []
    # The type's index is the smaller: it is walked, each event's metric and domain filter.
    assert listed(metric_type=MetricType.COST_USD, event_type="rare") == [21.0, 22.0]
    assert listed(metric_type=MetricType.LATENCY_MS, event_type="rare") == []
    assert listed(domain="a", event_type="rare") == []
    assert listed(domain="b", metric_type=MetricType.COST_USD, event_type="rare") == [21.0, 22.0]
    assert listed(event_type="rare", until=NOW - timedelta(minutes=22)) == [22.0]
    assert listed(event_type="common", since=NOW - timedelta(minutes=2)) == [1.0, 2.0]
    assert listed(event_type="none") == []


def test_events_of_one_moment_list_in_recording_order_newest_first(make_service):
    service = make_service()
    ids = [record(service, value=float(n), occurred_at=NOW).id for n in range(5)]
    assert [e.id for e in service.list_events(tenant_id="t1")] == ids[::-1]
    trend = service.compute_trend(tenant_id="t1", metric_type=MetricType.SUCCESS_RATE)
    assert trend.values == [0.0, 1.0, 2.0, 3.0, 4.0]


# --- the same numbers on both backends ---------------------------------------------------------


def random_history(seed: int, count: int) -> list[dict[str, Any]]:
    """Events of two tenants in random order over 40 days, values of every magnitude."""
    rng = random.Random(seed)
    offsets = rng.sample(range(40 * 24 * 3600 * 1000), count)  # unique milliseconds ago
    return [
        {
            "tenant": rng.choice(["t1", "t1", "t2"]),
            "domain": rng.choice(["a", "b"]),
            "event_type": rng.choice(["run", "retry"]),
            "metric_type": rng.choice(list(MetricType)),
            "value": rng.choice([0.0, 0.1, 0.3, 0.5, 1.0, 1.5, 250.0, 1e15, -1e15, 5e-324]),
            "occurred_at": NOW - timedelta(milliseconds=offset),
            "metadata": {"failure_class": rng.choice(["timeout", "crash", 7])},
        }
        for offset in offsets
    ]


def without_ids(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: without_ids(value) for key, value in data.items() if key != "id"}
    if isinstance(data, list):
        return [without_ids(value) for value in data]
    return data


def exact_average(numbers: list[float]) -> float:
    return float(sum(map(Fraction, numbers), Fraction(0)) / len(numbers)) if numbers else 0.0


def test_a_random_history_gives_the_same_numbers_on_both_backends_and_a_brute_force_scan(
    redis_url,
):
    history = random_history(seed=11, count=1500)
    services = {
        "memory": OutcomesService(max_events_per_tenant=300, clock=FixedClock(NOW)),
        "redis": OutcomesService(
            max_events_per_tenant=300, clock=FixedClock(NOW), store=redis_store(redis_url)
        ),
    }
    for event in history:
        for service in services.values():
            record(service, **event)

    def read_all(service: OutcomesService) -> dict[str, Any]:
        reads: dict[str, Any] = {}
        for tenant in ("t1", "t2", None):
            for domain in (None, "a", "b"):
                reads[f"dashboard {tenant} {domain}"] = service.dashboard(
                    tenant_id=tenant, domain=domain, window=40, recent_limit=100
                ).model_dump()
                reads[f"list {tenant} {domain}"] = [
                    e.model_dump()
                    for e in service.list_events(
                        tenant_id=tenant,
                        domain=domain,
                        event_type="retry",
                        since=NOW - 20 * DAY,
                        until=NOW - DAY,
                        limit=1000,
                    )
                ]
                for metric in MetricType:
                    reads[f"trend {tenant} {domain} {metric}"] = service.compute_trend(
                        tenant_id=tenant, metric_type=metric, domain=domain, window=7
                    ).model_dump()
                if domain is not None:
                    for days in (1, 3, 30, 3650):
                        reads[f"roi {tenant} {domain} {days}"] = service.compute_roi(
                            tenant_id=tenant,
                            domain=domain,
                            hours_saved_per_success=1.5,
                            cost_per_hour_usd=2.0,
                            window_days=days,
                        ).model_dump()
            reads[f"count {tenant}"] = service.count_events(tenant_id=tenant)
        reads["usage"] = [service._store.usage(tenant) for tenant in ("t1", "t2")]
        reads["health"] = service.health().model_dump()
        return reads

    memory, on_redis = (without_ids(read_all(service)) for service in services.values())
    assert memory.keys() == on_redis.keys()
    for name in memory:
        assert on_redis[name] == memory[name], name
    assert on_redis["count None"] == 600

    # Brute force over what Redis kept: the newest 300 of each tenant by occurred_at.
    redis_service = services["redis"]
    for tenant in ("t1", "t2"):
        kept = redis_service.list_events(tenant_id=tenant, limit=1000)
        expected = sorted(
            (e for e in history if e["tenant"] == tenant), key=lambda e: e["occurred_at"]
        )[-300:]
        assert [e.occurred_at for e in reversed(kept)] == [e["occurred_at"] for e in expected]
        for domain in ("a", "b"):
            mine = [e for e in kept if e.domain == domain]
            dashboard = redis_service.dashboard(tenant_id=tenant, domain=domain, window=40)
            for row in dashboard.week_over_week:
                current = [
                    e.value
                    for e in mine
                    if e.metric_type == row.metric_type and NOW - 7 * DAY <= e.occurred_at <= NOW
                ]
                previous = [
                    e.value
                    for e in mine
                    if e.metric_type == row.metric_type
                    and NOW - 14 * DAY <= e.occurred_at < NOW - 7 * DAY
                ]
                assert row.current_week_avg == exact_average(current)
                assert row.previous_week_avg == exact_average(previous)
            for trend in dashboard.trends:
                series = [e.value for e in reversed(mine) if e.metric_type == trend.metric_type]
                expected_trend = evaluate_trend(
                    metric_type=trend.metric_type, values=series, window=40, domain=domain
                )
                assert trend == expected_trend
            roi = redis_service.compute_roi(
                tenant_id=tenant,
                domain=domain,
                hours_saved_per_success=1.0,
                cost_per_hour_usd=1.0,
                window_days=30,
            )
            in_window = [e for e in mine if NOW - 30 * DAY <= e.occurred_at <= NOW]
            invocations = [e.value for e in in_window if e.metric_type is MetricType.SUCCESS_RATE]
            latencies = [e.value for e in in_window if e.metric_type is MetricType.LATENCY_MS]
            assert (roi.total_invocations, roi.success_count) == (
                len(invocations),
                sum(v >= 1.0 for v in invocations),
            )
            assert roi.avg_latency_ms == exact_average(latencies)
            summary = dashboard.summary
            assert summary.total_events == len(mine)
            assert summary.event_types == sorted({e.event_type for e in mine})
            assert summary.metric_counts == {
                m.value: sum(e.metric_type is m for e in mine) for m in MetricType
            }


def test_range_sums_stay_exact_for_values_of_every_magnitude_through_evictions(redis_url):
    rng = random.Random(5)
    magnitudes = [2.0**e for e in range(-1074, 50, 7)] + [1e15, 0.1, 0.3, 1 / 3]
    minute = (NOW - 3 * DAY).replace(second=0, microsecond=0)
    store = redis_store(redis_url)
    service = OutcomesService(max_events_per_tenant=400, clock=FixedClock(NOW), store=store)
    recorded = []
    for n in range(1200):  # one minute, so one day, hour and minute bucket, sees them all
        value = rng.choice(magnitudes) * rng.choice([1, -1]) * rng.randint(1, 9)
        value = math.copysign(min(abs(value), 1e15), value)
        at = minute + timedelta(seconds=n % 60, milliseconds=n * 37 % 1000)
        recorded.append(
            record(service, metric_type=MetricType.COST_USD, value=value, occurred_at=at)
        )
    kept = sorted(recorded, key=lambda e: e.occurred_at)[-400:]  # ties: later arrival is newer
    spans = [
        (NOW - 7 * DAY, NOW),  # whole days
        (minute - timedelta(minutes=30), minute + timedelta(minutes=30)),  # hours or minutes
        (minute - timedelta(seconds=30), minute + timedelta(seconds=90)),  # a whole minute
        (minute + timedelta(seconds=20), minute + timedelta(seconds=45)),  # a partial minute
        (minute + timedelta(seconds=20.5), minute + timedelta(seconds=45.25)),  # part seconds
        (minute + timedelta(seconds=7.1), minute + timedelta(seconds=7.9)),  # within a second
    ]
    totals = store.totals(tenant_id="t1", domain=None, metrics=[MetricType.COST_USD], spans=spans)
    memory = MemoryEventStore()
    for event in recorded:
        memory.insert(event, caps=service.caps, now=NOW, idempotency_key=None)
    for (start, end), found in zip(spans, totals[MetricType.COST_USD], strict=True):
        inside = [e.value for e in kept if start <= e.occurred_at < end]
        assert (found.count, found.exact_total) == (len(inside), sum(map(scaled, inside)))
        assert found.average == exact_average(inside)
    assert 0 < totals[MetricType.COST_USD][3].count < 400
    assert totals == memory.totals(
        tenant_id="t1", domain=None, metrics=[MetricType.COST_USD], spans=spans
    )
    # Each bucket keeps a short expansion however many magnitudes it has seen.
    client = redis.Redis.from_url(redis_url)
    for level in "dhnxs":
        buckets = client.hgetall(f"{{{PREFIX}:t1}}:o:b:{level}:m:cost_usd").values()
        assert buckets
        for raw in buckets:
            assert len(raw.split(b":")) - 2 <= 24
    client.close()


def test_a_span_of_years_sums_every_day_bucket_as_memory_does(redis_url):
    # A run of 1,500 day buckets is read in several HMGET slices inside the script.
    store = redis_store(redis_url)
    service = OutcomesService(max_events_per_tenant=5_000, clock=FixedClock(NOW), store=store)
    memory = OutcomesService(max_events_per_tenant=5_000, clock=FixedClock(NOW))
    for day in range(1, 1_600):
        at = NOW - day * DAY + timedelta(seconds=day % 61)
        for target in (service, memory):
            record(target, metric_type=MetricType.LATENCY_MS, value=day * 0.1, occurred_at=at)
    spans = [(NOW - 1_500 * DAY, NOW), (NOW - 1_234.5 * DAY, NOW - 3.25 * DAY)]
    totals = store.totals(tenant_id="t1", domain=None, metrics=[MetricType.LATENCY_MS], spans=spans)
    assert [t.count for t in totals[MetricType.LATENCY_MS]] == [1_500, 1_231]
    assert totals == memory._store.totals(
        tenant_id="t1", domain=None, metrics=[MetricType.LATENCY_MS], spans=spans
    )


@pytest.mark.parametrize(
    "case",
    [
        getattr(exact_average_cases, name)
        for name in sorted(dir(exact_average_cases))
        if name.startswith("test_")
    ],
    ids=lambda case: case.__name__,
)
def test_the_exact_average_cases_hold_on_both_backends(installed, case, tenant_a, post_event):
    case(tenant_a, post_event)


def test_the_1e15_then_0_1_case_stays_exact_after_the_huge_value_is_evicted(make_service):
    service = make_service(max_events_per_tenant=2)
    record(service, metric_type=MetricType.COST_USD, value=1e15, occurred_at=NOW - 9 * DAY)
    record(service, metric_type=MetricType.COST_USD, value=0.3, occurred_at=NOW - 8 * DAY)
    record(service, metric_type=MetricType.COST_USD, value=0.1, occurred_at=NOW - DAY)
    row = service.dashboard(tenant_id="t1").week_over_week[3]
    assert (row.current_week_avg, row.previous_week_avg) == (0.1, 0.3)
    assert service.count_events(tenant_id="t1") == 2


# --- idempotency and caps --------------------------------------------------------------------


def test_a_keyed_retry_returns_the_first_event_even_after_eviction(make_service):
    service = make_service(max_events_per_tenant=1)
    first = service.record_event(
        tenant_id="t1",
        domain="d",
        event_type="e",
        metric_type=MetricType.QUALITY_SCORE,
        value=0.25,
        occurred_at=NOW - DAY,
        metadata={"run": 1},
        idempotency_key="k",
    )
    record(service, occurred_at=NOW)
    assert [e.id for e in service.list_events(tenant_id="t1")] != [first.event.id]
    retry = service.record_event(
        tenant_id="t1",
        domain="other",
        event_type="e",
        metric_type=MetricType.COST_USD,
        value=9.0,
        idempotency_key="k",
    )
    assert (retry.created, retry.event) == (False, first.event)
    assert service.count_events(tenant_id="t1") == 1
    # The key is the tenant's own: another tenant's same key records a new event.
    assert service.record_event(
        tenant_id="t2",
        domain="d",
        event_type="e",
        metric_type=MetricType.QUALITY_SCORE,
        value=0.25,
        idempotency_key="k",
    ).created


def test_keys_expire_after_24_hours_and_release_the_bytes_they_held(make_service):
    clock = FixedClock(NOW)
    service = make_service(clock=clock, max_events_per_tenant=1)
    first = record(service, value=0.5, idempotency_key="kept", occurred_at=NOW - DAY)
    record(service, value=0.7)  # evicts the keyed event; its key still holds it
    size = stored_event(first, 0)[SIZE]
    assert service._store.usage("t1") == (1, 2 * size + key_bytes("kept"))
    clock.now = NOW + timedelta(hours=23, minutes=59)
    assert record(service, idempotency_key="kept").id == first.id
    clock.now = NOW + timedelta(hours=24)
    again = service.record_event(
        tenant_id="t1",
        domain="support",
        event_type="run",
        metric_type=MetricType.SUCCESS_RATE,
        value=0.5,
        idempotency_key="kept",
    )
    assert again.created and again.event.id != first.id
    assert service._store.usage("t1") == (1, size + key_bytes("kept"))


def test_a_new_key_past_the_key_cap_is_429_with_memorys_message(settings, installed, tenant_a):
    settings.OUTCOMES_MAX_IDEMPOTENCY_KEYS = 2
    body = {"domain": "d", "event_type": "e", "metric_type": "cost_usd", "value": 0.5}
    firsts = [
        tenant_a.post(EVENTS, body, format="json", HTTP_IDEMPOTENCY_KEY=f"k{n}").json()
        for n in range(2)
    ]
    refused = tenant_a.post(EVENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    assert refused.status_code == 429
    assert refused.json() == {
        "detail": "This tenant holds 2 idempotency keys younger than 24 hours; a new key is "
        "refused until the oldest expires (retry without a key to record anyway).",
        "code": "quota_exceeded",
    }
    assert [e["id"] for e in tenant_a.get(EVENTS).json()] == [f["id"] for f in firsts[::-1]]
    retry = tenant_a.post(EVENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="k0")
    assert (retry.status_code, retry.json()) == (200, firsts[0])
    assert tenant_a.post(EVENTS, body, format="json").status_code == 201


def test_when_live_keys_hold_the_byte_budget_a_write_is_refused_and_stores_nothing(make_service):
    big = {"blob": "x" * 4000}
    probe = OutcomeEvent(
        id="outcome-0000000000000000",
        tenant_id="t1",
        domain="support",
        event_type="run",
        metric_type=MetricType.SUCCESS_RATE,
        value=1.0,
        occurred_at=NOW,
        metadata=big,
    )
    per_event = stored_event(probe, 0)[SIZE] + key_bytes("k0")
    service = make_service(max_bytes_per_tenant=per_event * 2 + 100)
    for n in range(2):
        record(service, metadata=big, idempotency_key=f"k{n}")
    before = service._store.usage("t1")
    with pytest.raises(QuotaExceeded) as refused:
        record(service, metadata=big, idempotency_key="k2")
    assert str(refused.value) == (
        "This tenant's live idempotency keys hold its whole outcomes byte budget "
        f"({per_event * 2 + 100} bytes); retry when they expire."
    )
    with pytest.raises(QuotaExceeded):
        record(service, metadata=big)
    assert service._store.usage("t1") == before == (2, per_event * 2)
    assert service.count_events(tenant_id="t1") == 2


def test_a_backdated_keyed_write_that_evicts_everything_leaves_health_stale(make_service):
    event = record(OutcomesService(clock=FixedClock(NOW)), value=0.5)
    size, key_size = stored_event(event, 0)[SIZE], key_bytes("late")
    # Room for one event and one key: the keyed event, backdated, is evicted first and its
    # key keeps holding it, so the newer event has to go too.
    service = make_service(max_bytes_per_tenant=size + key_size + 10)
    record(service, value=0.5, occurred_at=NOW - timedelta(hours=1))
    late = record(service, value=0.5, occurred_at=NOW - DAY, idempotency_key="late")
    assert service.count_events(tenant_id="t1") == 0
    assert service._store.usage("t1") == (0, size + key_size)
    assert service.health().model_dump() == {"status": "stale", "hours_since_last_event": None}
    assert record(service, idempotency_key="late") == late
    record(service, tenant="t2", value=0.5, occurred_at=NOW - timedelta(hours=2))
    assert service.health().status == "ok"


def test_eviction_goes_oldest_first_by_occurred_at_and_keeps_counters_consistent(make_service):
    service = make_service(max_events_per_tenant=4)
    for hours_ago in [5, 1, 7, 3, 8, 2, 6, 4]:
        record(
            service,
            domain=f"d{hours_ago % 2}",
            event_type=f"e{hours_ago}",
            metric_type=MetricType.FAILURE_CLASS if hours_ago > 4 else MetricType.LATENCY_MS,
            value=float(hours_ago),
            occurred_at=NOW - timedelta(hours=hours_ago),
            metadata={"failure_class": "timeout"},
        )
    assert values(service.list_events(tenant_id="t1", limit=100)) == [1.0, 2.0, 3.0, 4.0]
    dashboard = service.dashboard(tenant_id="t1")
    assert dashboard.summary.total_events == 4
    assert dashboard.summary.domains == ["d0", "d1"]
    assert dashboard.summary.event_types == ["e1", "e2", "e3", "e4"]
    assert dashboard.summary.metric_counts["failure_class"] == 0
    assert dashboard.top_failure_modes == []
    assert service.compute_trend(tenant_id="t1", metric_type=MetricType.LATENCY_MS).values == [
        4.0,
        3.0,
        2.0,
        1.0,
    ]
    assert service.list_events(tenant_id="t1", metric_type=MetricType.FAILURE_CLASS) == []
    # An event older than everything kept is evicted at once; one of the same moment as the
    # oldest, recorded later, is newer and stays.
    record(service, value=9.0, occurred_at=NOW - timedelta(hours=9))
    record(service, value=4.5, occurred_at=NOW - timedelta(hours=4))
    assert values(service.list_events(tenant_id="t1", limit=100)) == [1.0, 2.0, 3.0, 4.5]
    assert service.dashboard(tenant_id="t1", domain="d0").summary.total_events == 1


def test_a_tenants_volume_never_reaches_another_tenant(make_service):
    service = make_service(max_events_per_tenant=3)
    record(service, tenant="b", domain="kept", value=0.5, occurred_at=NOW - 30 * DAY)
    for n in range(10):
        record(service, tenant="a", value=float(n), occurred_at=NOW - timedelta(minutes=n))
    assert values(service.list_events(tenant_id="b")) == [0.5]
    assert service.dashboard(tenant_id="b").summary.domains == ["kept"]
    assert service.compute_trend(tenant_id="b", metric_type=MetricType.SUCCESS_RATE).values == [0.5]
    assert service.count_events(tenant_id="a") == 3
    assert service.dashboard(tenant_id="a").summary.domains == ["support"]


def test_tenants_with_braces_in_their_names_stay_apart(make_service):
    service = make_service()
    record(service, tenant="{a}", value=1.0)
    record(service, tenant="%7Ba%7D", value=2.0)
    record(service, tenant="a", value=3.0)
    assert values(service.list_events(tenant_id="{a}")) == [1.0]
    assert values(service.list_events(tenant_id="%7Ba%7D")) == [2.0]
    assert values(service.list_events(tenant_id="a")) == [3.0]


def test_every_key_of_a_tenant_shares_its_hash_tag(redis_url, redis_client):
    service = OutcomesService(clock=FixedClock(NOW), store=redis_store(redis_url))
    for tenant in ("{a}", "b:c"):
        record(service, tenant=tenant, metric_type=MetricType.FAILURE_CLASS, idempotency_key="k")
        record(service, tenant=tenant, domain="{x}", event_type="}", value=0.5)
    tags = Counter()
    for key in redis_client.scan_iter():
        key = key.decode()
        if key == f"{PREFIX}:o:tenants":
            continue
        # Redis Cluster hashes the text between the first "{" and the next "}".
        tags[key[key.index("{") + 1 : key.index("}")]] += 1
    assert set(tags) == {f"{PREFIX}:{hash_tag('{a}')}", f"{PREFIX}:b:c"}
    assert tags[f"{PREFIX}:%7Ba%7D"] == tags[f"{PREFIX}:b:c"] > 10


# --- operator reads and health ---------------------------------------------------------------


def test_operator_reads_merge_every_tenant(make_service):
    service = make_service()
    record(service, tenant="t1", value=0.1, occurred_at=NOW - timedelta(hours=4))
    record(service, tenant="t2", value=0.2, occurred_at=NOW - timedelta(hours=3))
    record(service, tenant="t1", value=0.9, occurred_at=NOW - timedelta(hours=2))
    record(service, tenant="t2", value=1.0, occurred_at=NOW - timedelta(hours=1))
    for tenant, mode in (("t1", "timeout"), ("t2", "timeout"), ("t2", "oom")):
        record(
            service,
            tenant=tenant,
            domain=tenant,
            metric_type=MetricType.FAILURE_CLASS,
            occurred_at=NOW - 10 * DAY,
            metadata={"failure_class": mode},
        )
    trend = service.compute_trend(tenant_id=None, metric_type=MetricType.SUCCESS_RATE, window=3)
    assert trend.values == [0.2, 0.9, 1.0]
    assert values(service.list_events(tenant_id=None, limit=3)) == [1.0, 0.9, 0.2]
    dashboard = service.dashboard(tenant_id=None)
    assert dashboard.summary.total_events == 7
    assert dashboard.summary.domains == ["support", "t1", "t2"]
    assert [(m.failure_class, m.count) for m in dashboard.top_failure_modes] == [
        ("timeout", 2),
        ("oom", 1),
    ]
    assert dashboard.week_over_week[0].current_week_avg == pytest.approx(0.55)
    roi = service.compute_roi(
        tenant_id=None, domain="support", hours_saved_per_success=1, cost_per_hour_usd=1
    )
    assert (roi.total_invocations, roi.success_count) == (4, 1)
    assert service.count_events(tenant_id=None) == 7
    assert service.dashboard(tenant_id="t1").summary.total_events == 3


def test_health_is_stale_without_events_ok_within_a_day_and_stale_after(make_service):
    clock = FixedClock(NOW)
    service = make_service(clock=clock)
    assert service.health().model_dump() == {"status": "stale", "hours_since_last_event": None}
    record(service, tenant="t1", occurred_at=NOW - timedelta(hours=30))
    record(service, tenant="t2", occurred_at=NOW - timedelta(hours=3))
    record(service, tenant="t1", occurred_at=NOW - timedelta(hours=50))  # older: no change
    assert service.health().status == "ok"
    clock.now = NOW + DAY
    assert service.health().model_dump() == {"status": "stale", "hours_since_last_event": 27.0}


# --- across processes ------------------------------------------------------------------------


def test_eight_processes_racing_one_idempotency_key_store_exactly_one_event(redis_url):
    barrier = threading.Barrier(8)
    results: list[tuple[str, bool]] = []

    def write() -> None:
        service = OutcomesService(clock=FixedClock(NOW), store=redis_store(redis_url))
        barrier.wait()
        recorded = service.record_event(
            tenant_id="t1",
            domain="d",
            event_type="e",
            metric_type=MetricType.COST_USD,
            value=1.0,
            idempotency_key="same",
        )
        results.append((recorded.event.id, recorded.created))

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert len({event_id for event_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    reader = OutcomesService(clock=FixedClock(NOW), store=redis_store(redis_url))
    assert reader.count_events(tenant_id="t1") == 1
    [stored] = reader.list_events(tenant_id="t1")
    assert stored.id == results[0][0]


def test_two_stores_with_their_own_clients_see_each_others_writes(redis_url):
    first = OutcomesService(clock=FixedClock(NOW), store=redis_store(redis_url))
    second = OutcomesService(clock=FixedClock(NOW), store=redis_store(redis_url))
    written = record(first, value=0.25, occurred_at=NOW - DAY, idempotency_key="k")
    record(second, value=0.75, occurred_at=NOW)
    assert values(first.list_events(tenant_id="t1")) == [0.75, 0.25]
    assert second.list_events(tenant_id="t1")[1] == written
    assert record(second, idempotency_key="k") == written
    assert first.dashboard(tenant_id="t1").week_over_week[0].current_week_avg == 0.5
    assert second.health().status == "ok"
    assert first.count_events(tenant_id=None) == second.count_events(tenant_id=None) == 2


def test_a_server_that_forgot_the_scripts_is_taught_them_again(redis_url, redis_client):
    service = OutcomesService(clock=FixedClock(NOW), store=redis_store(redis_url))
    record(service, value=0.5)
    redis_client.script_flush()
    record(service, value=1.5)
    redis_client.script_flush()
    assert values(service.list_events(tenant_id="t1")) == [1.5, 0.5]


# --- round trips -----------------------------------------------------------------------------


def counting_connection_class() -> type[redis.Connection]:
    class CountingConnection(redis.Connection):
        round_trips = 0

        def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            CountingConnection.round_trips += 1
            super().send_packed_command(command, check_health)

    return CountingConnection


READS = [
    ("dashboard", lambda c: c.get(DASHBOARD, {"window": 50})),
    ("domain dashboard", lambda c: c.get(DASHBOARD, {"domain": "d1", "recent_limit": 100})),
    ("trend", lambda c: c.get(trend_url("latency_ms"), {"window": 1000})),
    ("list", lambda c: c.get(EVENTS, {"limit": 1000, "domain": "d2"})),
    ("metric list", lambda c: c.get(EVENTS, {"limit": 200, "metric_type": "cost_usd"})),
]


def measure_reads(url: str, tenant_a, events: int) -> dict[str, tuple[int, dict[str, int]]]:
    """(round trips, commands the server ran) per read over a history of `events` events."""
    connection_class = counting_connection_class()
    pool = redis.ConnectionPool.from_url(url, connection_class=connection_class)
    client = redis.Redis(connection_pool=pool)
    client.flushdb()
    service = outcomes_service.install(
        OutcomesService(clock=FixedClock(NOW), store=RedisEventStore(client=client, prefix=PREFIX))
    )
    for n in range(events):
        record(
            service,
            tenant="tenant-a",
            domain=f"d{n % 3}",
            metric_type=list(MetricType)[n % len(MetricType)],
            value=float(n % 2),
            occurred_at=NOW - timedelta(minutes=n * 17 % (60 * 24 * 20)),
            metadata={"failure_class": f"f{n % 4}"},
        )
    stats = redis.Redis.from_url(url)
    measured = {}
    for name, read in READS:
        stats.config_resetstat()
        connection_class.round_trips = 0
        response = read(tenant_a)
        assert response.status_code == 200
        assert response.json()  # real data came back
        calls = {
            command.removeprefix("cmdstat_"): stat["calls"]
            for command, stat in stats.info("commandstats").items()
            if command not in ("cmdstat_info", "cmdstat_config|resetstat")
        }
        measured[name] = (connection_class.round_trips, calls)
    stats.close()
    client.close()
    return measured


def test_reads_cost_the_same_round_trips_and_commands_at_100_and_5000_events(redis_url, tenant_a):
    small = measure_reads(redis_url, tenant_a, 100)
    large = measure_reads(redis_url, tenant_a, 5000)
    assert small == large
    assert {name: trips for name, (trips, _) in small.items()} == {
        "dashboard": 1,  # tails, newest, totals, summary: together in one pipeline
        "domain dashboard": 1,
        "trend": 1,
        "list": 1,
        "metric list": 1,
    }
    dashboard_calls = small["dashboard"][1]
    assert dashboard_calls["zrevrange"] == 5  # four tails, one page of recent events
    # The page of recent events, and every bucket and edge of the range totals in one script.
    assert dashboard_calls["evalsha"] == 2
    assert dashboard_calls["hgetall"] == 1


def test_a_write_costs_one_script_call_whatever_the_history(redis_url, redis_client):
    service = OutcomesService(clock=FixedClock(NOW), store=redis_store(redis_url))
    for n in range(300):
        record(service, value=float(n), occurred_at=NOW - timedelta(minutes=n))
    redis_client.config_resetstat()
    record(service, value=0.5, occurred_at=NOW - DAY, idempotency_key="k")
    record(service, value=0.5, idempotency_key="k")  # a retry
    stats = redis_client.info("commandstats")
    assert stats["cmdstat_evalsha"]["calls"] == 2
    assert stats["cmdstat_sadd"]["calls"] == 2
    assert stats["cmdstat_zadd"]["calls"] >= 1
    assert service.count_events(tenant_id="t1") == 301


def test_stored_values_are_the_numbers_sent(make_service):
    service = make_service()
    sent = [0.1, -0.0, 5e-324, -1e15, 1e15, 1 / 3, 123456789.123456789]
    for n, value in enumerate(sent):
        record(
            service,
            metric_type=MetricType.QUALITY_SCORE,
            value=value,
            occurred_at=NOW - timedelta(seconds=n),
        )
    listed = [e.value for e in service.list_events(tenant_id="t1", limit=100)]
    assert listed == sent
    assert [math.copysign(1, v) for v in listed] == [math.copysign(1, v) for v in sent]
    trend = service.compute_trend(tenant_id="t1", metric_type=MetricType.QUALITY_SCORE)
    assert trend.values == sent[::-1]
