"""GET /v1/operations/hub: the live view of five process types, include/since/status/limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from tests.operations.helpers import (
    create_budget,
    create_intake,
    create_multimodal_request,
    create_run,
    create_trace,
    hub,
    move_budget,
)


def _seed_one_live_of_each(client) -> dict[str, dict]:
    return {
        "trace": create_trace(client, "task-trace"),
        "autonomy_budget": create_budget(client, "task-budget", state="active"),
        "improvement_intake": create_intake(client, "Faster planner", analyzing=True),
        "workflow": create_run(client, "nightly-build"),
        "multimodal_request": create_multimodal_request(client),
    }


def test_hub_aggregates_all_five_process_types(t1):
    created = _seed_one_live_of_each(t1)
    body = hub(t1)
    assert body["counts"] == {
        "trace": 1,
        "autonomy_budget": 1,
        "improvement_intake": 1,
        "workflow": 1,
        "multimodal_request": 1,
    }
    assert body["active_count"] == 5
    by_type = {p["type"]: p for p in body["processes"]}
    for process_type, record in created.items():
        assert by_type[process_type]["id"] == record["id"]
        assert by_type[process_type]["tenant_id"] == "t1"
    assert by_type["trace"]["name"] == "task-trace"
    assert by_type["autonomy_budget"]["name"] == "task-budget"
    assert by_type["improvement_intake"]["name"] == "Faster planner"
    assert by_type["workflow"]["name"] == "nightly-build"
    assert by_type["multimodal_request"]["name"] == "text_to_speech"
    assert by_type["multimodal_request"]["status"] == "pending"
    assert set(by_type["trace"]) == {
        "id",
        "type",
        "status",
        "started_at",
        "name",
        "tenant_id",
        "metadata",
    }
    started = [p["started_at"] for p in body["processes"]]
    assert started == sorted(started, reverse=True)
    assert body["timestamp"]


def test_hub_leaves_out_processes_that_are_not_live(t1):
    trace = create_trace(t1)
    t1.post(f"/v1/traces/{trace['id']}/complete", {}, format="json")
    create_budget(t1)  # draft
    create_budget(t1, state="active")
    expired = create_budget(t1, state="active")
    move_budget(t1, expired["id"], "expired")
    create_intake(t1)  # submitted
    suspended = create_budget(t1, state="active")
    move_budget(t1, suspended["id"], "suspended")
    body = hub(t1)
    assert body["counts"]["trace"] == 0
    assert body["counts"]["autonomy_budget"] == 2  # the active one and the suspended one
    assert body["counts"]["improvement_intake"] == 0
    assert {p["status"] for p in body["processes"]} == {"active", "suspended"}


def test_hub_include_narrows_the_types(t1):
    _seed_one_live_of_each(t1)
    body = hub(t1, "?include=traces,workflows")
    assert body["counts"] == {"trace": 1, "workflow": 1}
    assert {p["type"] for p in body["processes"]} == {"trace", "workflow"}
    assert hub(t1, "?include=multimodal")["counts"] == {"multimodal_request": 1}


def test_hub_invalid_include_is_400_naming_the_sorted_values(t1):
    response = t1.get("/v1/operations/hub?include=traces,zeta,alpha")
    assert response.status_code == 400
    assert response.json()["detail"] == "Invalid include values: alpha, zeta"
    assert response.json()["code"] == "invalid"


def test_workflow_run_started_30_hours_ago_is_outside_the_default_window(t1):
    old = create_run(t1, "old-run", hours_ago=30)
    recent = create_run(t1, "recent-run", status="completed", hours_ago=1)
    body = hub(t1, "?include=workflows")
    assert [p["id"] for p in body["processes"]] == [recent["id"]]
    since_48h = quote((datetime.now(UTC) - timedelta(hours=48)).isoformat())
    body = hub(t1, f"?include=workflows&since={since_48h}")
    assert [p["id"] for p in body["processes"]] == [recent["id"], old["id"]]
    since_2h = quote((datetime.now(UTC) - timedelta(hours=2)).isoformat())
    assert hub(t1, f"?since={since_2h}")["counts"]["workflow"] == 1


def test_since_does_not_hide_long_running_live_processes(t1):
    trace = create_trace(t1)
    since = quote((datetime.now(UTC) + timedelta(hours=1)).isoformat())
    body = hub(t1, f"?since={since}&include=traces,workflows")
    assert [p["id"] for p in body["processes"]] == [trace["id"]]


@pytest.mark.parametrize("since", ["yesterday", "2026-13-45T00:00:00", "1"])
def test_hub_invalid_since_is_400(t1, since):
    response = t1.get(f"/v1/operations/hub?since={since}")
    assert response.status_code == 400 and "since" in response.json()["errors"]


def test_hub_status_lists_every_process_of_that_status(t1):
    done_trace = create_trace(t1)
    t1.post(f"/v1/traces/{done_trace['id']}/complete", {}, format="json")
    create_trace(t1)  # running
    old_done_run = create_run(t1, status="completed", hours_ago=72)
    completed_budget = create_budget(t1, state="active")
    move_budget(t1, completed_budget["id"], "completed")
    body = hub(t1, "?status=completed")
    assert body["counts"] == {
        "trace": 1,
        "autonomy_budget": 1,
        "improvement_intake": 0,
        "workflow": 1,
        "multimodal_request": 0,
    }
    assert {p["id"] for p in body["processes"]} == {
        done_trace["id"],
        old_done_run["id"],
        completed_budget["id"],
    }
    assert all(p["status"] == "completed" for p in body["processes"])
    assert hub(t1, "?status=pending&include=traces")["processes"] == []  # a status of another type


def test_hub_limit_cuts_the_newest_first_list_but_not_the_counts(t1):
    traces = [create_trace(t1, f"task-{i}") for i in range(3)]
    body = hub(t1, "?limit=2")
    assert [p["id"] for p in body["processes"]] == [traces[2]["id"], traces[1]["id"]]
    assert body["active_count"] == 3 and body["counts"]["trace"] == 3


@pytest.mark.parametrize("limit", ["0", "101", "ten", "-1", "1.5"])
def test_hub_out_of_range_limit_is_400(t1, limit):
    response = t1.get(f"/v1/operations/hub?limit={limit}")
    assert response.status_code == 400 and "limit" in response.json()["errors"]


def test_hub_shows_a_tenant_only_its_own_processes_before_the_limit(t1, t2, operator_client):
    own = create_trace(t1, "mine")
    for i in range(3):
        create_trace(t2, f"theirs-{i}")
    body = hub(t1, "?limit=1")
    assert [p["id"] for p in body["processes"]] == [own["id"]]
    assert body["active_count"] == 1
    assert hub(t1, "?tenant_id=t2")["active_count"] == 1  # a tenant cannot widen its view
    assert hub(operator_client)["active_count"] == 4
    narrowed = hub(operator_client, "?tenant_id=t1")
    assert [p["id"] for p in narrowed["processes"]] == [own["id"]]


def test_hub_needs_workflows_read(make_client, anon_client):
    response = make_client(["workflows:execute", "workflows:write"], tenant="t1").get(
        "/v1/operations/hub"
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "Missing required scope: workflows:read"
    assert anon_client.get("/v1/operations/hub").status_code == 401
    reader = make_client(["workflows:read"], tenant="t1")
    assert reader.get("/v1/operations/hub/").status_code == 200
