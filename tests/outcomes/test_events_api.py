"""POST/GET /v1/outcomes/events over HTTP: recording, validation, idempotency, filters,
ordering, limits, scopes and tenancy."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest

from .conftest import EVENTS, READ_WRITE, ago

EVENT_FIELDS = {
    "id",
    "tenant_id",
    "domain",
    "event_type",
    "metric_type",
    "value",
    "occurred_at",
    "metadata",
}
# JSON text, so that literals Python's json accepts but JSON forbids (NaN, 1e999) get through.
RAW_EVENT = '{"domain": "d", "event_type": "e", "metric_type": "cost_usd", "value": VALUE}'
VALID = {"domain": "support", "event_type": "ticket", "metric_type": "quality_score", "value": 0.8}


# --- recording -----------------------------------------------------------------------------


def test_create_returns_201_with_the_stamped_event(tenant_a):
    response = tenant_a.post(
        EVENTS,
        {**VALID, "occurred_at": "2026-03-01T10:00:00+02:00", "metadata": {"run": 7}},
        format="json",
    )
    assert response.status_code == 201
    event = response.json()
    assert set(event) == EVENT_FIELDS
    assert re.fullmatch(r"outcome-[0-9a-f]{12,}", event["id"])
    assert event["tenant_id"] == "tenant-a"
    assert (event["domain"], event["event_type"], event["metric_type"]) == (
        "support",
        "ticket",
        "quality_score",
    )
    assert event["value"] == 0.8
    assert datetime.fromisoformat(event["occurred_at"]) == datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert event["occurred_at"].endswith(("Z", "+00:00"))
    assert event["metadata"] == {"run": 7}


def test_occurred_at_defaults_to_now_and_naive_times_are_utc(tenant_a):
    before = datetime.now(UTC)
    event = tenant_a.post(EVENTS, VALID, format="json").json()
    assert before <= datetime.fromisoformat(event["occurred_at"]) <= datetime.now(UTC)
    naive = tenant_a.post(EVENTS, {**VALID, "occurred_at": "2026-03-01T10:00:00"}, format="json")
    assert datetime.fromisoformat(naive.json()["occurred_at"]) == datetime(
        2026, 3, 1, 10, tzinfo=UTC
    )


def test_integer_value_is_accepted_and_metadata_defaults_to_an_empty_object(tenant_a):
    event = tenant_a.post(EVENTS, {**VALID, "value": 3}, format="json").json()
    assert event["value"] == 3.0
    assert event["metadata"] == {}


def test_both_trailing_slash_forms_answer_without_redirect(tenant_a):
    assert tenant_a.post(EVENTS + "/", VALID, format="json").status_code == 201
    assert tenant_a.get(EVENTS + "/").status_code == 200
    assert tenant_a.get(EVENTS).status_code == 200


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"domain": ""}, "domain"),
        ({"domain": "x" * 201}, "domain"),
        ({"event_type": ""}, "event_type"),
        ({"event_type": "x" * 201}, "event_type"),
        ({"value": "0.5"}, "value"),
        ({"value": "abc"}, "value"),
        ({"value": True}, "value"),
        ({"value": None}, "value"),
        ({"value": [1]}, "value"),
        ({"metric_type": "revenue"}, "metric_type"),
        ({"metric_type": 3}, "metric_type"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": "2026-13-45T00:00:00Z"}, "occurred_at"),
        ({"occurred_at": "0001-01-01T00:00:00+05:00"}, "occurred_at"),
        ({"metadata": ["not", "an", "object"]}, "metadata"),
        ({"metadata": "text"}, "metadata"),
    ],
)
def test_bad_fields_are_400_with_field_errors(tenant_a, change, field):
    response = tenant_a.post(EVENTS, {**VALID, **change}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"]


@pytest.mark.parametrize("missing", ["domain", "event_type", "metric_type", "value"])
def test_missing_required_field_is_400(tenant_a, missing):
    body = {k: v for k, v in VALID.items() if k != missing}
    response = tenant_a.post(EVENTS, body, format="json")
    assert response.status_code == 400
    assert missing in response.json()["errors"]


def test_domain_of_exactly_200_chars_is_accepted(tenant_a):
    assert tenant_a.post(EVENTS, {**VALID, "domain": "x" * 200}, format="json").status_code == 201


@pytest.mark.parametrize(
    "literal", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1" + "0" * 400]
)
def test_non_finite_values_are_400_never_500(tenant_a, literal):
    raw = RAW_EVENT.replace("VALUE", literal)
    response = tenant_a.generic("POST", EVENTS, raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


@pytest.mark.parametrize("literal", ["NaN", "1e999"])
def test_non_finite_numbers_inside_metadata_are_400(tenant_a, literal):
    raw = RAW_EVENT.replace("VALUE", f'1, "metadata": {{"nested": [1, {{"x": {literal}}}]}}')
    response = tenant_a.generic("POST", EVENTS, raw, content_type="application/json")
    assert response.status_code == 400


def test_deeply_nested_metadata_is_400(tenant_a):
    nested: dict = {}
    for _ in range(40):
        nested = {"n": nested}
    response = tenant_a.post(EVENTS, {**VALID, "metadata": nested}, format="json")
    assert response.status_code == 400
    assert "metadata" in response.json()["errors"]


@pytest.mark.parametrize("raw", ["[1, 2]", '"text"', "null", "{not json", ""])
def test_body_that_is_not_an_object_is_400(tenant_a, raw):
    response = tenant_a.generic("POST", EVENTS, raw, content_type="application/json")
    assert response.status_code == 400


def test_nothing_is_stored_by_a_rejected_request(tenant_a):
    tenant_a.post(EVENTS, {**VALID, "value": "NaN"}, format="json")
    assert tenant_a.get(EVENTS).json() == []


# --- idempotency ---------------------------------------------------------------------------


def test_retry_with_the_same_idempotency_key_returns_the_first_event_with_200(tenant_a):
    first = tenant_a.post(EVENTS, VALID, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
    retry = tenant_a.post(EVENTS, VALID, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
    assert first.status_code == 201
    assert retry.status_code == 200
    assert retry.json() == first.json()
    assert len(tenant_a.get(EVENTS).json()) == 1


def test_a_different_idempotency_key_records_a_new_event(tenant_a):
    first = tenant_a.post(EVENTS, VALID, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    second = tenant_a.post(EVENTS, VALID, format="json", HTTP_IDEMPOTENCY_KEY="key-2")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert len(tenant_a.get(EVENTS).json()) == 2


def test_idempotency_keys_are_per_tenant(tenant_a, tenant_b):
    a = tenant_a.post(EVENTS, VALID, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    b = tenant_b.post(EVENTS, VALID, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert (a.status_code, b.status_code) == (201, 201)
    assert b.json()["tenant_id"] == "tenant-b"


def test_without_a_key_every_post_records(tenant_a):
    tenant_a.post(EVENTS, VALID, format="json")
    tenant_a.post(EVENTS, VALID, format="json")
    assert len(tenant_a.get(EVENTS).json()) == 2


def test_overlong_idempotency_key_is_400(tenant_a):
    response = tenant_a.post(EVENTS, VALID, format="json", HTTP_IDEMPOTENCY_KEY="k" * 256)
    assert response.status_code == 400
    assert tenant_a.get(EVENTS).json() == []


def test_concurrent_retries_with_one_key_record_once(make_client):
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def post() -> None:
        client = make_client(READ_WRITE, tenant="tenant-a")
        barrier.wait()
        response = client.post(EVENTS, VALID, format="json", HTTP_IDEMPOTENCY_KEY="race")
        statuses.append(response.status_code)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 7 + [201]
    assert len(make_client(READ_WRITE, tenant="tenant-a").get(EVENTS).json()) == 1


# --- listing -------------------------------------------------------------------------------


def test_list_is_newest_occurred_at_first_whatever_the_recording_order(tenant_a, post_event):
    for hours in (5, 1, 3, 2, 4):
        post_event(tenant_a, value=float(hours), occurred_at=ago(hours=hours))
    values = [e["value"] for e in tenant_a.get(EVENTS).json()]
    assert values == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_list_filters_by_domain_event_type_and_metric_type(tenant_a, post_event):
    post_event(tenant_a, domain="billing", event_type="invoice", metric_type="cost_usd", value=1)
    post_event(tenant_a, domain="billing", event_type="refund", metric_type="cost_usd", value=2)
    post_event(tenant_a, domain="billing", event_type="invoice", metric_type="latency_ms", value=3)
    post_event(tenant_a, domain="search", event_type="invoice", metric_type="cost_usd", value=4)

    def values(query: str) -> list[float]:
        response = tenant_a.get(EVENTS + query)
        assert response.status_code == 200
        return sorted(e["value"] for e in response.json())

    assert values("?domain=billing") == [1, 2, 3]
    assert values("?event_type=invoice") == [1, 3, 4]
    assert values("?metric_type=cost_usd") == [1, 2, 4]
    assert values("?domain=billing&metric_type=cost_usd") == [1, 2]
    assert values("?domain=billing&event_type=invoice&metric_type=cost_usd") == [1]
    assert values("?domain=nowhere") == []


def test_list_filters_by_since_and_until_inclusive(tenant_a, post_event):
    stamps = [f"2026-01-0{day}T00:00:00+00:00" for day in range(1, 6)]
    for day, stamp in enumerate(stamps, start=1):
        post_event(tenant_a, value=float(day), occurred_at=stamp)
    response = tenant_a.get(EVENTS, {"since": stamps[1], "until": stamps[3]})
    assert [e["value"] for e in response.json()] == [4.0, 3.0, 2.0]
    assert [e["value"] for e in tenant_a.get(EVENTS, {"since": stamps[4]}).json()] == [5.0]
    assert [e["value"] for e in tenant_a.get(EVENTS, {"until": stamps[0]}).json()] == [1.0]


def test_limit_defaults_to_50_and_bounds_the_list(tenant_a, post_event):
    for n in range(55):
        post_event(tenant_a, value=float(n), occurred_at=ago(minutes=n))
    assert len(tenant_a.get(EVENTS).json()) == 50
    newest_three = tenant_a.get(EVENTS, {"limit": 3}).json()
    assert [e["value"] for e in newest_three] == [0.0, 1.0, 2.0]
    assert len(tenant_a.get(EVENTS, {"limit": 1000}).json()) == 55


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": -1}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "5.0"}, "limit"),
        ({"since": "not-a-time"}, "since"),
        ({"until": "2026-02-30T00:00:00Z"}, "until"),
        ({"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
        ({"metric_type": "revenue"}, "metric_type"),
        ({"domain": "x" * 201}, "domain"),
    ],
)
def test_bad_query_parameters_are_400(tenant_a, query, field):
    response = tenant_a.get(EVENTS, query)
    assert response.status_code == 400
    assert field in response.json()["errors"]


# --- scopes and tenancy -----------------------------------------------------------------------


def test_anonymous_is_401(anon_client):
    assert anon_client.get(EVENTS).status_code == 401
    response = anon_client.post(EVENTS, VALID, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_bad_token_is_401(anon_client):
    anon_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
    response = anon_client.get(EVENTS)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_read_scope_cannot_record(make_client):
    reader = make_client(["outcomes:read"], tenant="tenant-a")
    response = reader.post(EVENTS, VALID, format="json")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Missing required scope: outcomes:write",
        "code": "permission_denied",
    }
    assert reader.get(EVENTS).status_code == 200


def test_write_scope_cannot_list(make_client):
    writer = make_client(["outcomes:write"], tenant="tenant-a")
    assert writer.post(EVENTS, VALID, format="json").status_code == 201
    response = writer.get(EVENTS)
    assert response.status_code == 403
    assert response.json()["detail"] == "Missing required scope: outcomes:read"


def test_other_apps_scopes_do_not_grant_outcomes(make_client):
    client = make_client(["workflows:read", "multimodal:write"], tenant="tenant-a")
    assert client.get(EVENTS).status_code == 403
    assert client.post(EVENTS, VALID, format="json").status_code == 403


def test_wildcard_and_admin_scopes_grant_both(make_client):
    for scopes in (["outcomes:*"], ["admin"]):
        client = make_client(scopes, tenant="tenant-a")
        assert client.post(EVENTS, VALID, format="json").status_code == 201
        assert client.get(EVENTS).status_code == 200


def test_tenant_sees_only_its_own_events(tenant_a, tenant_b, post_event):
    post_event(tenant_a, value=1.0)
    post_event(tenant_b, value=2.0)
    assert [e["value"] for e in tenant_a.get(EVENTS).json()] == [1.0]
    assert [e["value"] for e in tenant_b.get(EVENTS).json()] == [2.0]


def test_tenant_cannot_widen_its_view_with_tenant_id(tenant_a, tenant_b, post_event):
    post_event(tenant_b, value=2.0)
    assert tenant_a.get(EVENTS, {"tenant_id": "tenant-b"}).json() == []


def test_operator_sees_every_tenant_and_can_narrow(operator, tenant_a, tenant_b, post_event):
    post_event(tenant_a, value=1.0, occurred_at=ago(hours=2))
    post_event(tenant_b, value=2.0, occurred_at=ago(hours=1))
    everything = operator.get(EVENTS).json()
    assert [(e["tenant_id"], e["value"]) for e in everything] == [
        ("tenant-b", 2.0),
        ("tenant-a", 1.0),
    ]
    narrowed = operator.get(EVENTS, {"tenant_id": "tenant-a"}).json()
    assert [e["tenant_id"] for e in narrowed] == ["tenant-a"]
    assert operator.get(EVENTS, {"tenant_id": "nobody"}).json() == []


def test_operator_records_under_the_operator_tenant(operator):
    event = operator.post(EVENTS, VALID, format="json").json()
    assert event["tenant_id"] == ""


# --- many writers ------------------------------------------------------------------------------


def test_eight_threads_posting_250_events_each_store_exactly_2000(make_client):
    barrier = threading.Barrier(8)
    failures: list[int] = []

    def post_many(worker: int) -> None:
        client = make_client(READ_WRITE, tenant="tenant-a")
        barrier.wait()
        for n in range(250):
            body = {**VALID, "domain": f"worker-{worker}", "value": float(n)}
            status = client.post(EVENTS, body, format="json").status_code
            if status != 201:
                failures.append(status)

    threads = [threading.Thread(target=post_many, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    reader = make_client(["outcomes:read"], tenant="tenant-a")
    summary = reader.get("/v1/outcomes/dashboard").json()["summary"]
    assert summary["total_events"] == 2000
    assert summary["domains"] == [f"worker-{w}" for w in range(8)]
    assert summary["metric_counts"]["quality_score"] == 2000
    listed = reader.get(EVENTS, {"limit": 1000}).json()
    assert len({e["id"] for e in listed}) == 1000
    for worker in range(8):
        per_worker = reader.get(EVENTS, {"domain": f"worker-{worker}", "limit": 1000}).json()
        assert len(per_worker) == 250


def test_timestamps_in_the_future_are_accepted(tenant_a):
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert tenant_a.post(EVENTS, {**VALID, "occurred_at": later}, format="json").status_code == 201


@pytest.mark.parametrize("value", [1e15, -1e15, 5e-324, 0])
def test_values_up_to_1e15_in_magnitude_are_accepted(tenant_a, value):
    assert tenant_a.post(EVENTS, {**VALID, "value": value}, format="json").status_code == 201


@pytest.mark.parametrize("value", [1.0000001e15, -1e16, 1e308])
def test_values_beyond_1e15_are_400(tenant_a, value):
    response = tenant_a.post(EVENTS, {**VALID, "value": value}, format="json")
    assert response.status_code == 400
    assert "value" in response.json()["errors"]
