"""On Redis, an API request costs a small constant number of round trips, whatever the history.

Runs in the `--state-backend=redis` session (`make test` runs it). Each round trip is one
packed command sent on a connection (a single command, a pipeline or a script); the test
counts them for every read and write of the three apps, with 5 and with 200 records of
each kind stored, and asserts the counts are equal and small.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.redis_server import counted

pytestmark = pytest.mark.django_db

SMALL, LARGE = 5, 200
MOST_ROUND_TRIPS = 12
EVENT = {"domain": "billing", "event_type": "run", "metric_type": "latency_ms", "value": 3.5}
EXPERIMENT = "prompt-pack"  # the seeded experiment the experiment calls read and join
VARIANTS = [{"name": "control", "weight": 1}, {"name": "candidate", "weight": 1}]


def _joining_event(subject: str) -> dict:
    return {**EVENT, "metadata": {"experiment": EXPERIMENT, "subject_id": subject}}


@pytest.fixture(autouse=True)
def redis_only(state_backend):
    if state_backend != "redis":
        pytest.skip("counts Redis round trips: runs with --state-backend=redis")


def _seed(client, count: int) -> dict[str, str]:
    """`count` finished records of each kind (plus one live of each), and their ids;
    `count` experiments, and `count` assignments and joined events in the first."""
    for n in range(count):
        key = EXPERIMENT if n == 0 else f"{EXPERIMENT}-{n}"
        experiment = {"key": key, "variants": VARIANTS}
        assert client.post("/v1/outcomes/experiments", experiment, format="json").status_code == 201
        assignment = {"subject_id": f"user-{n}"}
        path = f"/v1/outcomes/experiments/{EXPERIMENT}/assignments"
        assert client.post(path, assignment, format="json").status_code == 201
        joined = client.post("/v1/outcomes/events", _joining_event(f"user-{n}"), format="json")
        assert joined.status_code == 201
        assert client.post("/v1/outcomes/events", EVENT, format="json").status_code == 201
        trace = client.post("/v1/traces", {"task_id": f"t{n}"}, format="json").json()
        client.post(f"/v1/traces/{trace['id']}/complete", {}, format="json")
        request = client.post(
            "/v1/multimodal/requests",
            {"modality": "text_to_speech", "input_text": "hi", "execute_now": True},
            format="json",
        )
        assert request.status_code == 201
    live_trace = client.post("/v1/traces", {"task_id": "live"}, format="json").json()
    budget = client.post(
        "/v1/autonomy/budgets", {"task_id": "b", "agent_id": "a"}, format="json"
    ).json()
    return {"trace": live_trace["id"], "budget": budget["id"], "request": request.json()["id"]}


def _calls(client, ids: dict[str, str]) -> dict[str, Callable]:
    fresh = iter(range(10**6))  # each call of a create names a new record
    experiments = f"/v1/outcomes/experiments/{EXPERIMENT}"
    return {
        "create experiment": lambda: client.post(
            "/v1/outcomes/experiments",
            {"key": f"new-{next(fresh)}", "variants": VARIANTS},
            format="json",
        ),
        "list experiments": lambda: client.get("/v1/outcomes/experiments"),
        "experiment detail": lambda: client.get(experiments),
        "assign": lambda: client.post(
            f"{experiments}/assignments", {"subject_id": f"new-{next(fresh)}"}, format="json"
        ),
        "read assignment": lambda: client.get(f"{experiments}/assignments/user-0"),
        "experiment report": lambda: client.get(f"{experiments}/report"),
        "joining event": lambda: client.post(
            "/v1/outcomes/events", _joining_event(f"new-{next(fresh)}"), format="json"
        ),
        "record event": lambda: client.post("/v1/outcomes/events", EVENT, format="json"),
        "list events": lambda: client.get("/v1/outcomes/events"),
        "trend": lambda: client.get("/v1/outcomes/trends/latency_ms"),
        "dashboard": lambda: client.get("/v1/outcomes/dashboard"),
        "hub": lambda: client.get("/v1/operations/hub"),
        "hub by status": lambda: client.get("/v1/operations/hub?status=completed"),
        "process detail": lambda: client.get(f"/v1/operations/processes/{ids['budget']}"),
        "list traces": lambda: client.get("/v1/traces"),
        "trace detail": lambda: client.get(f"/v1/traces/{ids['trace']}"),
        "list requests": lambda: client.get("/v1/multimodal/requests"),
        "request detail": lambda: client.get(f"/v1/multimodal/requests/{ids['request']}"),
        "create trace": lambda: client.post("/v1/traces", {"task_id": "x"}, format="json"),
    }


def _round_trips(make_client, monkeypatch, stored: int) -> dict[str, int]:
    client = make_client(
        [
            "outcomes:read",
            "outcomes:write",
            "workflows:read",
            "workflows:write",
            "workflows:execute",
            "multimodal:read",
            "multimodal:write",
        ],
        tenant="acme",
    )
    ids = _seed(client, stored)
    trips = {}
    for name, call in _calls(client, ids).items():
        call()  # scripts loaded, connections open: count the steady state
        with counted(monkeypatch) as sent:
            response = call()
        assert response.status_code in (200, 201), (name, response.content[:200])
        trips[name] = sent[0]
    return trips


def test_round_trips_per_request_are_few_and_do_not_grow_with_history(
    make_client, monkeypatch, redis_server, settings
):
    import redis

    settings.OUTCOMES_MAX_EXPERIMENTS_PER_TENANT = 1000  # LARGE experiments, and the creates

    small = _round_trips(make_client, monkeypatch, SMALL)
    redis.Redis.from_url(redis_server.url).flushdb()
    from agent33_core.registry import services

    services.reset_all()
    large = _round_trips(make_client, monkeypatch, LARGE)
    assert large == small
    assert max(small.values()) <= MOST_ROUND_TRIPS, small
    # A page of records is one round trip (EVALSHA in a pipeline, no SCRIPT EXISTS first),
    # and the hub's default view sends its five sources' pages in one (`batched_reads`).
    assert small["hub"] == 1 and small["hub by status"] == 1, small
    assert small["list traces"] == 1, small
    assert small["record event"] == 1, small  # the tenants set and the insert script together
    # The tenants set, the id's tenant and the record together; then the live stream's event.
    assert small["create trace"] == 2, small


def test_an_operator_read_learns_the_tenants_in_one_round_trip_then_reads_them_in_one(
    make_client, monkeypatch
):
    scopes = ["outcomes:read", "outcomes:write", "workflows:read", "workflows:write"]
    for tenant in ("acme", "globex", "initech"):
        client = make_client(scopes, tenant=tenant)
        assert client.post("/v1/outcomes/events", EVENT, format="json").status_code == 201
        assert client.post("/v1/traces", {"task_id": tenant}, format="json").status_code == 201
    operator = make_client(["admin"])
    for path, shown in (
        ("/v1/operations/hub", lambda body: {p["tenant_id"] for p in body["processes"]}),
        ("/v1/outcomes/dashboard", lambda body: {e["tenant_id"] for e in body["recent_events"]}),
    ):
        operator.get(path)  # scripts loaded, connections open: count the steady state
        with counted(monkeypatch) as sent:
            response = operator.get(path)
        assert response.status_code == 200, response.content[:200]
        # Every source's (or the outcomes store's) tenants set in one pipeline, then every
        # tenant's reads in one more: not one round trip per source.
        assert sent[0] == 2, (path, sent[0])
        assert shown(response.json()) == {"acme", "globex", "initech"}
