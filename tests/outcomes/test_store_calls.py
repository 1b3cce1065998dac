"""Every outcomes request costs the same small number of event-store calls, whatever the
history size (a networked store answers each call in one round trip)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from outcomes.domain import MetricType
from outcomes.services import OutcomesService, outcomes_service
from outcomes.store import EventStore, make_event_store

from .conftest import DASHBOARD, EVENTS, HEALTH, ROI, trend_url

NOW = datetime.now(UTC)


class CountingStore:
    """The real store, counting the calls the service makes to it."""

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return method(*args, **kwargs)

        return counted


def store_with(events: int) -> CountingStore:
    store = CountingStore(make_event_store())
    service = outcomes_service.install(OutcomesService(store=store))
    for n in range(events):
        service.record_event(
            tenant_id="tenant-a",
            domain=f"d{n % 3}",
            event_type="run",
            metric_type=list(MetricType)[n % len(MetricType)],
            value=float(n % 2),
            occurred_at=NOW - timedelta(minutes=n),
            metadata={"failure_class": f"f{n % 4}"},
        )
    store.calls.clear()
    return store


REQUESTS = [
    ("get", DASHBOARD, None, {"dashboard_reads": 1}),
    ("get", DASHBOARD + "?domain=d1&window=500", None, None),
    ("get", trend_url("latency_ms") + "?window=1000", None, {"tails": 1}),
    ("get", EVENTS + "?limit=1000&domain=d2", None, {"newest": 1}),
    ("post", ROI, {"domain": "d0", "hours_saved_per_success": 1, "cost_per_hour_usd": 2}, None),
    ("get", HEALTH, None, {"newest_occurred_at": 1}),
    (
        "post",
        EVENTS,
        {"domain": "d", "event_type": "e", "metric_type": "cost_usd", "value": 1},
        {"insert": 1},
    ),
]


@pytest.mark.parametrize(("method", "url", "body", "expected"), REQUESTS)
def test_a_request_makes_the_same_store_calls_for_ten_events_as_for_two_thousand(
    tenant_a, method, url, body, expected
):
    seen = []
    for size in (10, 2000):
        store = store_with(size)
        response = getattr(tenant_a, method)(url, body, format="json")
        assert response.status_code in (200, 201), response.content
        seen.append(dict(store.calls))
    assert seen[0] == seen[1]
    assert sum(seen[0].values()) <= 4
    if expected is not None:
        assert seen[0] == expected
