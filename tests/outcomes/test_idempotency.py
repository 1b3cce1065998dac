"""`Idempotency-Key` over HTTP (contract §3): a key younger than 24 h is never forgotten;
past `OUTCOMES_MAX_IDEMPOTENCY_KEYS` live keys a new keyed write is a 429 that stores
nothing; an empty header is a 400 (the schema declares minLength 1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from outcomes.domain import MetricType
from outcomes.services import OutcomesService, outcomes_service

from .conftest import EVENTS

VALID = {"domain": "support", "event_type": "ticket", "metric_type": "cost_usd", "value": 0.5}
NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)


class MovableClock:
    service: OutcomesService

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> MovableClock:
    """The views' service reads this clock; tests move it."""
    clock = MovableClock()
    clock.service = outcomes_service.install(OutcomesService(clock=clock))
    return clock


def post(client, key: str, **fields):
    return client.post(EVENTS, {**VALID, **fields}, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_empty_idempotency_key_is_400_naming_the_header_and_stores_nothing(tenant_a):
    response = post(tenant_a, "")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["errors"]) == ["Idempotency-Key"]
    assert tenant_a.get(EVENTS).json() == []


def test_idempotency_key_of_255_characters_is_accepted_and_256_is_400(tenant_a):
    assert post(tenant_a, "k" * 255).status_code == 201
    response = post(tenant_a, "k" * 256)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["Idempotency-Key"]
    assert len(tenant_a.get(EVENTS).json()) == 1


def test_a_new_key_past_the_cap_is_429_and_stores_nothing(settings, tenant_a):
    settings.OUTCOMES_MAX_IDEMPOTENCY_KEYS = 3
    firsts = [post(tenant_a, f"k{n}", value=float(n)).json() for n in range(3)]
    response = post(tenant_a, "k3", value=3.0)
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "quota_exceeded"
    assert "idempotency keys" in body["detail"]
    assert [e["value"] for e in tenant_a.get(EVENTS).json()] == [2.0, 1.0, 0.0]
    # Every live key still answers its first event.
    for n, first in enumerate(firsts):
        retry = post(tenant_a, f"k{n}", value=99.0)
        assert (retry.status_code, retry.json()) == (200, first)
    # Writes without a key are not limited by the key cap.
    assert tenant_a.post(EVENTS, VALID, format="json").status_code == 201


def test_the_key_cap_is_per_tenant(settings, tenant_a, tenant_b):
    settings.OUTCOMES_MAX_IDEMPOTENCY_KEYS = 2
    for n in range(2):
        assert post(tenant_a, f"k{n}").status_code == 201
    assert post(tenant_a, "k2").status_code == 429
    assert post(tenant_b, "k2").status_code == 201


def test_a_one_minute_old_key_is_honoured_after_10000_other_keys(clock, tenant_a):
    first = post(tenant_a, "the-retry").json()
    clock.now = NOW + timedelta(seconds=1)
    # Up to the default cap of 10,000 live keys through the service (10,000 posts is slow).
    for n in range(9_999):
        clock.service.record_event(
            tenant_id="tenant-a",
            domain="support",
            event_type="bulk",
            metric_type=MetricType.COST_USD,
            value=float(n),
            idempotency_key=f"other-{n}",
        )
    clock.now = NOW + timedelta(minutes=1)
    retry = post(tenant_a, "the-retry", value=42.0)
    assert (retry.status_code, retry.json()) == (200, first)
    refused = post(tenant_a, "one-too-many")
    assert (refused.status_code, refused.json()["code"]) == (429, "quota_exceeded")
    assert clock.service.count_events(tenant_id="tenant-a") == 10_000


def test_keys_expire_after_24_hours_making_room_for_new_ones(settings, clock, tenant_a):
    settings.OUTCOMES_MAX_IDEMPOTENCY_KEYS = 2
    first = post(tenant_a, "k0").json()
    post(tenant_a, "k1")
    clock.now = NOW + timedelta(hours=23, minutes=59)
    assert post(tenant_a, "k2").status_code == 429
    assert post(tenant_a, "k0").json() == first
    clock.now = NOW + timedelta(hours=24)
    assert post(tenant_a, "k2").status_code == 201
    again = post(tenant_a, "k0")
    assert again.status_code == 201
    assert again.json()["id"] != first["id"]


def test_retry_returns_the_first_event_even_after_retention_evicted_it(settings, tenant_a):
    settings.OUTCOMES_MAX_EVENTS_PER_TENANT = 1
    first = post(tenant_a, "kept", metadata={"run": 1}).json()
    tenant_a.post(EVENTS, VALID, format="json")
    assert first["id"] not in [e["id"] for e in tenant_a.get(EVENTS).json()]
    retry = post(tenant_a, "kept")
    assert (retry.status_code, retry.json()) == (200, first)
