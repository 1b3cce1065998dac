"""Memory per tenant is bounded in bytes (contract §1): past
`OUTCOMES_MAX_BYTES_PER_TENANT` the oldest events are evicted; when only what live
idempotency keys hold remains, a new write is a 429 `quota_exceeded` that stores nothing."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

import pytest

from agent33_core.sizing import block_bytes, text_bytes
from outcomes.index import RECORD_OVERHEAD_BYTES
from outcomes.services import OutcomesService, outcomes_service

from .conftest import EVENTS, ago

BIG_METADATA = {"k": "x" * 16_000}  # 16,008 bytes as compact JSON, under the 16 KiB cap
# record, metadata (its bytes object as a heap block), two short texts: as `StoredEvent` sizes it
BIG_EVENT_BYTES = (
    RECORD_OVERHEAD_BYTES
    + block_bytes(sys.getsizeof(bytes(16_008)))
    + text_bytes("support")
    + text_bytes("ticket")
)
VALID = {"domain": "support", "event_type": "ticket", "metric_type": "cost_usd", "value": 0.5}


@pytest.fixture
def budget_for_three_big_events(settings) -> int:
    settings.OUTCOMES_MAX_BYTES_PER_TENANT = int(BIG_EVENT_BYTES * 3.5)
    return settings.OUTCOMES_MAX_BYTES_PER_TENANT


def post_big(client, n: int, **headers):
    body = {**VALID, "value": float(n), "metadata": BIG_METADATA, "occurred_at": ago(hours=10 - n)}
    return client.post(EVENTS, body, format="json", **headers)


def test_past_the_byte_budget_the_oldest_events_are_evicted(
    budget_for_three_big_events, tenant_a, tenant_b
):
    for n in range(6):
        assert post_big(tenant_a, n).status_code == 201
    listed = tenant_a.get(EVENTS).json()
    assert [e["value"] for e in listed] == [5.0, 4.0, 3.0]
    assert all(e["metadata"] == BIG_METADATA for e in listed)
    # The budget is per tenant.
    assert post_big(tenant_b, 0).status_code == 201
    assert len(tenant_a.get(EVENTS).json()) == 3


def test_when_live_keys_hold_the_budget_a_new_write_is_429_and_stores_nothing(
    budget_for_three_big_events, tenant_a
):
    firsts = [post_big(tenant_a, n, HTTP_IDEMPOTENCY_KEY=f"k{n}").json() for n in range(3)]
    refused = post_big(tenant_a, 3, HTTP_IDEMPOTENCY_KEY="k3")
    assert refused.status_code == 429
    assert refused.json()["code"] == "quota_exceeded"
    refused = post_big(tenant_a, 3)
    assert refused.status_code == 429
    assert [e["value"] for e in tenant_a.get(EVENTS).json()] == [2.0, 1.0, 0.0]
    # A small event still fits beside them, and every key still answers its first event.
    assert tenant_a.post(EVENTS, VALID, format="json").status_code == 201
    retry = post_big(tenant_a, 0, HTTP_IDEMPOTENCY_KEY="k0")
    assert (retry.status_code, retry.json()) == (200, firsts[0])


def test_expired_keys_release_what_they_held(settings, tenant_a):
    settings.OUTCOMES_MAX_BYTES_PER_TENANT = int(BIG_EVENT_BYTES * 3.5)
    now = {"at": datetime(2026, 6, 15, 12, tzinfo=UTC)}
    outcomes_service.install(OutcomesService(clock=lambda: now["at"]))

    def post(n: int, **headers):
        body = {**VALID, "value": float(n), "metadata": BIG_METADATA}
        return tenant_a.post(EVENTS, body, format="json", **headers)

    for n in range(3):
        assert post(n, HTTP_IDEMPOTENCY_KEY=f"k{n}").status_code == 201
    assert post(3).status_code == 429
    now["at"] += timedelta(hours=24)
    assert post(3).status_code == 201
    assert [e["value"] for e in tenant_a.get(EVENTS).json()] == [3.0, 2.0, 1.0]
