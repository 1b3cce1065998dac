"""Experiments over HTTP (contract §8): create/list/detail, sticky assignments, events that
join, tenancy, caps and hostile input. Runs on both state backends."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from outcomes.experiments import assign_variant, get_experiment_service

from .conftest import EVENTS, READ_WRITE

EXPERIMENTS = "/v1/outcomes/experiments"
AB = [{"name": "control", "weight": 1}, {"name": "treatment", "weight": 1}]


def experiment_url(key: str, suffix: str = "") -> str:
    return f"{EXPERIMENTS}/{key}{suffix}"


def create(client: APIClient, key: str = "prompt-pack", **fields: Any) -> dict[str, Any]:
    body = {"key": key, "variants": AB, **fields}
    response = client.post(EXPERIMENTS, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def post_json(client: APIClient, url: str, body: Any):
    """POST `body` as JSON text (escaped ASCII, so a lone surrogate is really sent)."""
    return client.generic("POST", url, json.dumps(body), content_type="application/json")


def assign(client: APIClient, key: str, subject: Any) -> tuple[int, dict[str, Any]]:
    response = post_json(client, experiment_url(key, "/assignments"), {"subject_id": subject})
    return response.status_code, response.json()


def joined_event(client: APIClient, key: str, subject: str, value: float, **extra: Any) -> dict:
    metadata = {"experiment": key, "subject_id": subject, **extra.pop("metadata", {})}
    body = {
        "domain": "support",
        "event_type": "run",
        "metric_type": "success_rate",
        "value": value,
        "metadata": metadata,
        **extra,
    }
    response = client.post(EVENTS, body, format="json")
    assert response.status_code in (200, 201), response.content
    return response.json()


def report(client: APIClient, key: str, query: str = "") -> dict[str, Any]:
    response = client.get(experiment_url(key, "/report") + query)
    assert response.status_code == 200, response.content
    return response.json()


def variant_rows(body: dict[str, Any], metric: str) -> dict[str, dict[str, Any]]:
    entry = next(m for m in body["metrics"] if m["metric_type"] == metric)
    return {row["variant"]: row for row in entry["variants"]}


# --- create, list, detail ---------------------------------------------------------------------


def test_create_returns_the_experiment_with_defaults(tenant_a):
    body = create(tenant_a, description="Prompt pack v2 against v1")
    created_at = body.pop("created_at")
    assert datetime.fromisoformat(created_at.replace("Z", "+00:00")).utcoffset() == timedelta(0)
    assert body == {
        "key": "prompt-pack",
        "tenant_id": "tenant-a",
        "variants": [{"name": "control", "weight": 1.0}, {"name": "treatment", "weight": 1.0}],
        "metric_types": ["success_rate", "quality_score", "latency_ms", "cost_usd"],
        "description": "Prompt pack v2 against v1",
    }
    detail = tenant_a.get(experiment_url("prompt-pack"))
    assert detail.status_code == 200
    assert detail.json() == {**body, "created_at": created_at}


def test_both_trailing_slash_forms_answer(tenant_a):
    response = tenant_a.post(EXPERIMENTS + "/", {"key": "slash", "variants": AB}, format="json")
    assert response.status_code == 201, response.content
    assert tenant_a.get(experiment_url("slash") + "/").json()["key"] == "slash"
    assert [e["key"] for e in tenant_a.get(EXPERIMENTS + "/").json()] == ["slash"]


def test_a_duplicate_key_in_the_tenant_is_a_409_and_changes_nothing(tenant_a, tenant_b):
    first = create(tenant_a, metric_types=["latency_ms"])
    again = tenant_a.post(EXPERIMENTS, {"key": "prompt-pack", "variants": AB}, format="json")
    assert again.status_code == 409
    assert again.json() == {
        "detail": "An experiment with the key 'prompt-pack' exists.",
        "code": "already_exists",
    }
    assert tenant_a.get(experiment_url("prompt-pack")).json() == first
    # Keys are per tenant: another tenant may use the same one.
    assert create(tenant_b)["tenant_id"] == "tenant-b"


def test_list_is_newest_first_bounded_and_tenant_scoped(tenant_a, tenant_b, operator):
    for key in ("first", "second", "third"):
        create(tenant_a, key)
    create(tenant_b, "theirs")
    listed = tenant_a.get(EXPERIMENTS)
    assert listed.status_code == 200
    assert [e["key"] for e in listed.json()] == ["third", "second", "first"]
    assert [e["key"] for e in tenant_a.get(EXPERIMENTS + "?limit=2").json()] == [
        "third",
        "second",
    ]
    assert [e["key"] for e in tenant_b.get(EXPERIMENTS).json()] == ["theirs"]
    everyone = operator.get(EXPERIMENTS).json()
    assert [(e["tenant_id"], e["key"]) for e in everyone] == [
        ("tenant-b", "theirs"),
        ("tenant-a", "third"),
        ("tenant-a", "second"),
        ("tenant-a", "first"),
    ]
    narrowed = operator.get(EXPERIMENTS + "?tenant_id=tenant-b").json()
    assert [e["key"] for e in narrowed] == ["theirs"]
    # A tenant's `tenant_id` is ignored: it still sees only its own.
    assert [e["key"] for e in tenant_b.get(EXPERIMENTS + "?tenant_id=tenant-a").json()] == [
        "theirs"
    ]


@pytest.mark.parametrize("limit", ["0", "1001", "", "x", "1.5", "٣"])
def test_list_limit_out_of_range_or_not_an_integer_is_a_400(tenant_a, limit):
    response = tenant_a.get(f"{EXPERIMENTS}?limit={limit}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "limit" in response.json()["errors"]


def test_another_tenants_experiment_is_a_404_everywhere(tenant_a, tenant_b):
    create(tenant_a)
    assign(tenant_a, "prompt-pack", "user-1")
    not_found = {"detail": "No such experiment.", "code": "not_found"}
    for url in (
        experiment_url("prompt-pack"),
        experiment_url("prompt-pack", "/report"),
        experiment_url("prompt-pack", "/assignments/user-1"),
    ):
        response = tenant_b.get(url)
        assert (response.status_code, response.json()) == (404, not_found), url
    status, body = assign(tenant_b, "prompt-pack", "user-1")
    assert (status, body) == (404, not_found)


def test_an_operator_reaches_a_tenants_experiment_with_tenant_id(tenant_a, operator):
    created = create(tenant_a)
    assert operator.get(experiment_url("prompt-pack")).status_code == 404
    narrowed = operator.get(experiment_url("prompt-pack") + "?tenant_id=tenant-a")
    assert (narrowed.status_code, narrowed.json()) == (200, created)
    own = create(operator, "ops-own")
    assert own["tenant_id"] == ""
    assert operator.get(experiment_url("ops-own")).json() == own


def test_scopes_are_required(make_client, tenant_a):
    create(tenant_a)
    reader = make_client(["outcomes:read"], tenant="tenant-a")
    refused = reader.post(EXPERIMENTS, {"key": "k", "variants": AB}, format="json")
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "Missing required scope: outcomes:write",
        "code": "permission_denied",
    }
    assert assign(reader, "prompt-pack", "u")[0] == 403
    assert reader.get(experiment_url("prompt-pack", "/report")).status_code == 200
    writer = make_client(["outcomes:write"], tenant="tenant-a")
    assert writer.get(EXPERIMENTS).status_code == 403
    assert APIClient().get(EXPERIMENTS).status_code == 401


# --- hostile input ----------------------------------------------------------------------------

HOSTILE_BODIES = [
    ({"variants": AB}, "key"),
    ({"key": 5, "variants": AB}, "key"),
    ({"key": "", "variants": AB}, "key"),
    ({"key": "has space", "variants": AB}, "key"),
    ({"key": "slash/key", "variants": AB}, "key"),
    ({"key": "..", "variants": AB}, "key"),
    ({"key": ".hidden", "variants": AB}, "key"),
    ({"key": "trailing\n", "variants": AB}, "key"),
    ({"key": "caf\u00e9", "variants": AB}, "key"),
    ({"key": "bad\ud800", "variants": AB}, None),
    ({"key": "k" * 201, "variants": AB}, "key"),
    ({"key": "k", "variants": AB[:1]}, "variants"),
    ({"key": "k", "variants": [{"name": f"v{i}", "weight": 1} for i in range(11)]}, "variants"),
    ({"key": "k", "variants": "ab"}, "variants"),
    ({"key": "k", "variants": {"name": "a"}}, "variants"),
    ({"key": "k", "variants": [AB[0], AB[0]]}, "variants"),
    ({"key": "k", "variants": [AB[0], {"name": "b", "weight": 0}]}, "variants.1.weight"),
    ({"key": "k", "variants": [AB[0], {"name": "b", "weight": -1}]}, "variants.1.weight"),
    ({"key": "k", "variants": [AB[0], {"name": "b", "weight": "1"}]}, "variants.1.weight"),
    ({"key": "k", "variants": [AB[0], {"name": "b", "weight": True}]}, "variants.1.weight"),
    ({"key": "k", "variants": [AB[0], {"name": "b", "weight": 10**400}]}, None),
    ({"key": "k", "variants": [AB[0], {"name": "b"}]}, "variants.1.weight"),
    ({"key": "k", "variants": [AB[0], {"name": "b\ud800", "weight": 1}]}, None),
    ({"key": "k", "variants": [AB[0], {"name": "", "weight": 1}]}, "variants.1.name"),
    ({"key": "k", "variants": [AB[0], "b"]}, "variants.1"),
    ({"key": "k", "variants": AB, "metric_types": ["failure_class"]}, "metric_types"),
    ({"key": "k", "variants": AB, "metric_types": ["cost_usd", "cost_usd"]}, "metric_types"),
    ({"key": "k", "variants": AB, "metric_types": ["speed"]}, "metric_types.0"),
    ({"key": "k", "variants": AB, "metric_types": []}, "metric_types"),
    ({"key": "k", "variants": AB, "metric_types": "cost_usd"}, "metric_types"),
    ({"key": "k", "variants": AB, "description": 7}, "description"),
    ({"key": "k", "variants": AB, "description": "x\ud800"}, None),
    ({"key": "k", "variants": AB, "description": "x" * 2001}, "description"),
]


@pytest.mark.parametrize(("body", "field"), HOSTILE_BODIES)
def test_hostile_experiment_bodies_are_a_400_naming_the_field_and_store_nothing(
    tenant_a, body, field
):
    response = post_json(tenant_a, EXPERIMENTS, body)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    if field is not None:  # a lone surrogate is refused by the parser, for the whole body
        assert field in response.json()["errors"], response.json()
    assert tenant_a.get(EXPERIMENTS).json() == []


def test_non_finite_numbers_in_raw_json_are_a_400(tenant_a):
    raw = '{"key": "k", "variants": [{"name": "a", "weight": 1e999}, {"name": "b", "weight": 1}]}'
    response = tenant_a.post(EXPERIMENTS, raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert tenant_a.get(EXPERIMENTS).json() == []


@pytest.mark.parametrize(
    "subject", [None, 5, "", "has space", "a/b", "x" * 201, "bad\ud800", "\u00e9"]
)
def test_hostile_subject_ids_are_a_400(tenant_a, subject):
    create(tenant_a)
    status, body = assign(tenant_a, "prompt-pack", subject)
    assert status == 400, body
    assert body["code"] == "invalid"
    assert "subject_id" in body.get("errors", {"subject_id": "parser"})


@pytest.mark.parametrize("key", ["no-such", "%ED%A0%80", "caf%C3%A9", "x" * 300, "..."])
def test_unknown_or_malformed_keys_in_the_path_are_a_404(tenant_a, key):
    create(tenant_a)
    for url in (experiment_url(key), experiment_url(key, "/report")):
        response = tenant_a.get(url)
        assert response.status_code == 404, (url, response.content)
        assert response.json() == {"detail": "No such experiment.", "code": "not_found"}


@pytest.mark.parametrize(
    "query", ["?since=yesterday", "?until=", "?since=2026-01-02T00:00:00&until=2026-01-01T00:00:00"]
)
def test_bad_report_queries_are_a_400(tenant_a, query):
    create(tenant_a)
    response = tenant_a.get(experiment_url("prompt-pack", "/report") + query)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


# --- assignments ------------------------------------------------------------------------------


def test_assignment_is_201_first_then_200_with_the_same_body_and_readable(tenant_a):
    create(tenant_a)
    status, first = assign(tenant_a, "prompt-pack", "user-42")
    expected_variant = ["control", "treatment"][assign_variant("prompt-pack", "user-42", [1, 1])]
    assert (status, first) == (
        201,
        {"experiment": "prompt-pack", "subject_id": "user-42", "variant": expected_variant},
    )
    assert assign(tenant_a, "prompt-pack", "user-42") == (200, first)
    read = tenant_a.get(experiment_url("prompt-pack", "/assignments/user-42"))
    assert (read.status_code, read.json()) == (200, first)


def test_reading_an_assignment_that_does_not_exist_is_a_404(tenant_a):
    create(tenant_a)
    for subject in ("nobody", "bad%20subject"):
        response = tenant_a.get(experiment_url("prompt-pack", f"/assignments/{subject}"))
        assert response.status_code == 404
        assert response.json() == {
            "detail": "This subject has no assignment in this experiment.",
            "code": "not_found",
        }


def test_assignments_through_http_follow_the_hash_and_weights(tenant_a):
    variants = [{"name": "a", "weight": 1}, {"name": "b", "weight": 2}, {"name": "c", "weight": 7}]
    create(tenant_a, "three-way", variants=variants)
    for index in range(30):
        subject = f"s-{index}"
        status, body = assign(tenant_a, "three-way", subject)
        assert status == 201
        assert body["variant"] == "abc"[assign_variant("three-way", subject, [1, 2, 7])]


def test_concurrent_assignments_of_one_subject_store_exactly_one(make_client):
    clients = [make_client(READ_WRITE, tenant="tenant-a") for _ in range(12)]
    create(clients[0], "race")
    barrier = threading.Barrier(len(clients))
    replies: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def run(client: APIClient) -> None:
        barrier.wait()
        reply = assign(client, "race", "subject-1")
        with lock:
            replies.append(reply)

    threads = [threading.Thread(target=run, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in replies) == [200] * 11 + [201]
    assert len({body["variant"] for _, body in replies}) == 1


def test_concurrent_service_assignments_create_each_subject_once():
    service = get_experiment_service()
    service.create_experiment(tenant_id="t", key="svc", variants=[("a", 1.0), ("b", 1.0)])
    barrier = threading.Barrier(8)
    created: list[bool] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        for index in range(50):
            _, new = service.assign(tenant_id="t", key="svc", subject_id=f"s{index}")
            with lock:
                created.append(new)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert created.count(True) == 50
    assert len(created) == 400


def test_the_assignment_cap_is_a_429_and_existing_subjects_still_answer(tenant_a, settings):
    settings.OUTCOMES_MAX_ASSIGNMENTS_PER_EXPERIMENT = 2
    create(tenant_a)
    assert assign(tenant_a, "prompt-pack", "u1")[0] == 201
    assert assign(tenant_a, "prompt-pack", "u2")[0] == 201
    status, body = assign(tenant_a, "prompt-pack", "u3")
    assert status == 429
    assert body["code"] == "quota_exceeded"
    assert "OUTCOMES_MAX_ASSIGNMENTS_PER_EXPERIMENT" in body["detail"]
    assert assign(tenant_a, "prompt-pack", "u1")[0] == 200
    missing = tenant_a.get(experiment_url("prompt-pack", "/assignments/u3"))
    assert missing.status_code == 404


def test_the_experiment_cap_is_a_429_per_tenant(tenant_a, tenant_b, settings):
    settings.OUTCOMES_MAX_EXPERIMENTS_PER_TENANT = 2
    create(tenant_a, "one")
    create(tenant_a, "two")
    refused = tenant_a.post(EXPERIMENTS, {"key": "three", "variants": AB}, format="json")
    assert refused.status_code == 429
    assert refused.json()["code"] == "quota_exceeded"
    assert [e["key"] for e in tenant_a.get(EXPERIMENTS).json()] == ["two", "one"]
    assert create(tenant_b, "three")["key"] == "three"


def test_the_byte_budget_bounds_experiments_assignments_and_observations(tenant_a, settings):
    settings.OUTCOMES_MAX_EXPERIMENT_BYTES_PER_TENANT = 12_000
    create(tenant_a, metric_types=["success_rate"])
    service = get_experiment_service()
    for index in range(4):
        joined_event(tenant_a, "prompt-pack", "subject-0", float(index))
    statuses = [assign(tenant_a, "prompt-pack", f"subject-{i}")[0] for i in range(1, 100)]
    assert 201 in statuses and 429 in statuses
    assert statuses.index(429) == statuses.count(201)  # refused once full, never before
    assert service.usage("tenant-a")[1] <= 12_000
    # A full budget: each new observation evicts its experiment's oldest, never grows.
    for index in range(4, 60):
        joined_event(tenant_a, "prompt-pack", "subject-0", float(index))
    assert service.usage("tenant-a")[1] <= 12_000
    rows = variant_rows(report(tenant_a, "prompt-pack"), "success_rate")
    kept = [row for row in rows.values() if row["n"]]
    assert len(kept) == 1 and 1 <= kept[0]["n"] <= 4
    assert kept[0]["mean"] == sum(range(60 - kept[0]["n"], 60)) / kept[0]["n"]
    refused = tenant_a.post(EXPERIMENTS, {"key": "more", "variants": AB}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (429, "quota_exceeded")


# --- events joining an experiment -------------------------------------------------------------


def test_events_join_through_metadata_and_a_claimed_variant_never_overrides(tenant_a):
    create(tenant_a)
    _, assigned = assign(tenant_a, "prompt-pack", "user-1")
    other = "treatment" if assigned["variant"] == "control" else "control"
    event = joined_event(tenant_a, "prompt-pack", "user-1", 0.25, metadata={"variant": other})
    assert event["metadata"] == {
        "experiment": "prompt-pack",
        "subject_id": "user-1",
        "variant": other,
    }
    rows = variant_rows(report(tenant_a, "prompt-pack"), "success_rate")
    assert rows[assigned["variant"]]["n"] == 1
    assert rows[assigned["variant"]]["mean"] == 0.25
    assert rows[other]["n"] == 0


def test_an_event_of_an_unassigned_subject_assigns_it_by_the_same_hash(tenant_a):
    create(tenant_a)
    joined_event(tenant_a, "prompt-pack", "new-user", 3.0, metric_type="latency_ms")
    expected = ["control", "treatment"][assign_variant("prompt-pack", "new-user", [1, 1])]
    read = tenant_a.get(experiment_url("prompt-pack", "/assignments/new-user"))
    assert (read.status_code, read.json()["variant"]) == (200, expected)
    assert assign(tenant_a, "prompt-pack", "new-user") == (200, read.json())
    rows = variant_rows(report(tenant_a, "prompt-pack"), "latency_ms")
    assert rows[expected]["n"] == 1


def test_events_that_do_not_join_are_recorded_and_ignored(tenant_a, tenant_b):
    create(tenant_a, metric_types=["success_rate"])
    joined_event(tenant_a, "prompt-pack", "u1", 1.0, metric_type="cost_usd")  # not tracked
    joined_event(tenant_a, "no-such-experiment", "u1", 1.0)
    joined_event(tenant_a, "prompt-pack", "bad subject", 1.0)
    joined_event(tenant_a, "prompt-pack", "u1", 1.0, metric_type="failure_class")
    for metadata in ({"experiment": "prompt-pack"}, {"experiment": 5, "subject_id": "u1"}):
        response = tenant_a.post(
            EVENTS,
            {
                "domain": "d",
                "event_type": "e",
                "metric_type": "success_rate",
                "value": 1,
                "metadata": metadata,
            },
            format="json",
        )
        assert response.status_code == 201
    joined_event(tenant_b, "prompt-pack", "u1", 1.0)  # another tenant's event, same key
    body = report(tenant_a, "prompt-pack")
    assert [m["metric_type"] for m in body["metrics"]] == ["success_rate"]
    assert [row["n"] for row in body["metrics"][0]["variants"]] == [0, 0]
    missing = tenant_a.get(experiment_url("prompt-pack", "/assignments/u1"))
    assert missing.status_code == 404


def test_an_idempotent_replay_adds_no_observation(tenant_a):
    create(tenant_a)
    body = {
        "domain": "d",
        "event_type": "e",
        "metric_type": "quality_score",
        "value": 0.5,
        "metadata": {"experiment": "prompt-pack", "subject_id": "u1"},
    }
    first = tenant_a.post(EVENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = tenant_a.post(EVENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 200)
    rows = variant_rows(report(tenant_a, "prompt-pack"), "quality_score")
    assert sum(row["n"] for row in rows.values()) == 1


def test_since_and_until_filter_observations_by_occurred_at(tenant_a):
    create(tenant_a, metric_types=["cost_usd"])
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    for day in range(3):
        joined_event(
            tenant_a,
            "prompt-pack",
            "u1",
            float(day + 1),
            metric_type="cost_usd",
            occurred_at=(base + timedelta(days=day)).isoformat(),
        )
    since = (base + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    until = (base + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    body = report(tenant_a, "prompt-pack", f"?since={since}&until={until}")
    assert body["since"] == since and body["until"] == until
    row = next(r for r in body["metrics"][0]["variants"] if r["n"])
    assert (row["n"], row["mean"]) == (1, 2.0)
    everything = report(tenant_a, "prompt-pack")
    assert (everything["since"], everything["until"]) == (None, None)
    row = next(r for r in everything["metrics"][0]["variants"] if r["n"])
    assert (row["n"], row["mean"]) == (3, 2.0)


def test_the_observation_cap_keeps_the_newest_by_occurred_at(tenant_a, settings):
    settings.OUTCOMES_MAX_OBSERVATIONS_PER_EXPERIMENT = 3
    create(tenant_a, metric_types=["quality_score"])
    base = datetime.now(UTC) - timedelta(hours=10)
    for hour in (5, 1, 4, 2, 3):  # out of order: the oldest by occurred_at go first
        joined_event(
            tenant_a,
            "prompt-pack",
            "u1",
            float(hour),
            metric_type="quality_score",
            occurred_at=(base + timedelta(hours=hour)).isoformat(),
        )
    row = next(r for r in report(tenant_a, "prompt-pack")["metrics"][0]["variants"] if r["n"])
    # Arrivals 5, 1, 4 fill it; 2 evicts 1; 3 evicts 2: kept 3, 4, 5.
    assert (row["n"], row["mean"]) == (3, 4.0)
