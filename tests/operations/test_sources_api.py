"""The four source APIs: create, list, detail, transitions (legal and 409), bad input."""

from __future__ import annotations

import re

import pytest

from tests.operations.helpers import create_budget, create_intake, create_run, create_trace

# --- traces ---------------------------------------------------------------------------


def test_create_trace_returns_the_full_running_record(t1):
    trace = create_trace(t1)
    assert re.fullmatch(r"trace-[0-9a-f]{12,}", trace["id"])
    assert trace["status"] == "running"
    assert trace["tenant_id"] == "t1"
    assert trace["task_id"] == "task-1" and trace["model"] == "gpt-x"
    assert trace["actions"] == [] and trace["completed_at"] is None
    assert trace["started_at"] and trace["created_at"] and trace["updated_at"]


def test_collections_answer_with_and_without_trailing_slash(t1):
    response = t1.post("/v1/traces", {"task_id": "x"}, format="json")
    assert response.status_code == 201
    assert [t["task_id"] for t in t1.get("/v1/traces").json()] == ["x"]
    assert t1.get("/v1/traces/").status_code == 200


def test_trace_actions_are_recorded_and_listed_on_the_trace(t1):
    trace = create_trace(t1)
    response = t1.post(
        f"/v1/traces/{trace['id']}/actions",
        {
            "step_id": "plan",
            "action_id": "a1",
            "tool": "search",
            "status": "success",
            "duration_ms": 12.5,
            "metadata": {"q": "x"},
        },
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["step_id"] == "plan" and response.json()["duration_ms"] == 12.5
    detail = t1.get(f"/v1/traces/{trace['id']}").json()
    assert [a["action_id"] for a in detail["actions"]] == ["a1"]


def test_complete_trace_then_every_further_write_is_409(t1):
    trace = create_trace(t1)
    response = t1.post(
        f"/v1/traces/{trace['id']}/complete",
        {"status": "failed", "failure_code": "E1", "failure_message": "boom"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "failed" and body["failure_code"] == "E1"
    assert body["completed_at"] is not None
    again = t1.post(f"/v1/traces/{trace['id']}/complete", {"status": "completed"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    action = t1.post(
        f"/v1/traces/{trace['id']}/actions", {"step_id": "s", "action_id": "a"}, format="json"
    )
    assert action.status_code == 409 and action.json()["code"] == "invalid_transition"


@pytest.mark.parametrize("status", ["completed", "failed", "timeout", "cancelled", "escalated"])
def test_trace_can_end_in_every_final_status(t1, status):
    trace = create_trace(t1)
    response = t1.post(f"/v1/traces/{trace['id']}/complete", {"status": status}, format="json")
    assert response.status_code == 200 and response.json()["status"] == status


def test_trace_list_filters_by_status_newest_first_and_bounds_limit(t1):
    first, second = create_trace(t1, "a"), create_trace(t1, "b")
    t1.post(f"/v1/traces/{first['id']}/complete", {"status": "completed"}, format="json")
    assert [t["task_id"] for t in t1.get("/v1/traces/").json()] == ["b", "a"]
    running = t1.get("/v1/traces/?status=running").json()
    assert [t["id"] for t in running] == [second["id"]]
    assert len(t1.get("/v1/traces/?limit=1").json()) == 1
    for bad in ("0", "501", "x"):
        response = t1.get(f"/v1/traces/?limit={bad}")
        assert response.status_code == 400 and "limit" in response.json()["errors"]
    response = t1.get("/v1/traces/?status=sleeping")
    assert response.status_code == 400 and "status" in response.json()["errors"]


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("/v1/traces/", {}, "task_id"),
        ("/v1/traces/", {"task_id": ["x"]}, "task_id"),
        ("/v1/autonomy/budgets/", {"task_id": "t", "agent_id": 7}, "agent_id"),
        ("/v1/autonomy/budgets/", {"task_id": "t", "agent_id": "a", "limits": [1]}, "limits"),
        ("/v1/improvements/intakes/", {"title": "x", "urgency": "now"}, "urgency"),
        ("/v1/improvements/intakes/", {"title": "x", "research_type": "gut"}, "research_type"),
        (
            "/v1/workflows/executions/",
            {"workflow_name": "w", "trigger_type": "cron", "status": "running"},
            "trigger_type",
        ),
        (
            "/v1/workflows/executions/",
            {"workflow_name": "w", "trigger_type": "api", "status": "done"},
            "status",
        ),
        (
            "/v1/workflows/executions/",
            {
                "workflow_name": "w",
                "trigger_type": "api",
                "status": "running",
                "started_at": "yesterday",
            },
            "started_at",
        ),
        (
            "/v1/workflows/executions/",
            {
                "workflow_name": "w",
                "trigger_type": "api",
                "status": "running",
                "duration_ms": "1e400",
            },
            "duration_ms",
        ),
    ],
)
def test_bad_create_input_is_400_with_field_errors(t1, path, payload, field):
    response = t1.post(path, payload, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and field in response.json()["errors"]


def test_malformed_json_is_400(t1):
    response = t1.post("/v1/traces/", "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"


def test_bad_trace_action_and_complete_input_is_400(t1):
    trace = create_trace(t1)
    response = t1.post(
        f"/v1/traces/{trace['id']}/actions",
        {"step_id": "s", "action_id": "a", "duration_ms": -1},
        format="json",
    )
    assert response.status_code == 400 and "duration_ms" in response.json()["errors"]
    response = t1.post(f"/v1/traces/{trace['id']}/complete", {"status": "running"}, format="json")
    assert response.status_code == 400 and "status" in response.json()["errors"]


# --- budgets ----------------------------------------------------------------------------


def test_create_budget_is_a_draft_with_its_fields(t1):
    budget = create_budget(t1)
    assert re.fullmatch(r"budget-[0-9a-f]{12,}", budget["id"])
    assert budget["state"] == "draft" and budget["tenant_id"] == "t1"
    assert budget["limits"] == {"max_tokens": 1000} and budget["agent_id"] == "agent-1"


@pytest.mark.parametrize(
    "path",
    [
        ["pending_approval", "active", "suspended", "active", "completed"],
        ["pending_approval", "rejected", "draft", "active", "expired"],
        ["active", "suspended", "expired"],
    ],
)
def test_budget_legal_transitions(t1, path):
    budget = create_budget(t1)
    for to_state in path:
        response = t1.post(
            f"/v1/autonomy/budgets/{budget['id']}/transition",
            {"to_state": to_state, "approved_by": "carol"},
            format="json",
        )
        assert response.status_code == 200, (to_state, response.json())
        assert response.json()["state"] == to_state
        assert response.json()["approved_by"] == "carol"


@pytest.mark.parametrize(
    ("setup", "to_state"),
    [
        ([], "completed"),
        ([], "suspended"),
        (["active", "expired"], "active"),
        (["active", "completed"], "draft"),
        (["pending_approval"], "suspended"),
    ],
)
def test_budget_illegal_transitions_are_409(t1, setup, to_state):
    budget = create_budget(t1)
    for state in setup:
        t1.post(
            f"/v1/autonomy/budgets/{budget['id']}/transition", {"to_state": state}, format="json"
        )
    response = t1.post(
        f"/v1/autonomy/budgets/{budget['id']}/transition", {"to_state": to_state}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert "Cannot move autonomy budget from" in response.json()["detail"]


def test_budget_unknown_to_state_is_400(t1):
    budget = create_budget(t1)
    response = t1.post(
        f"/v1/autonomy/budgets/{budget['id']}/transition", {"to_state": "gone"}, format="json"
    )
    assert response.status_code == 400 and "to_state" in response.json()["errors"]


def test_budget_list_filters_by_state(t1):
    draft, active = create_budget(t1, "a"), create_budget(t1, "b", state="active")
    assert [b["id"] for b in t1.get("/v1/autonomy/budgets/?state=active").json()] == [active["id"]]
    assert [b["id"] for b in t1.get("/v1/autonomy/budgets").json()] == [active["id"], draft["id"]]
    assert t1.get(f"/v1/autonomy/budgets/{draft['id']}").json()["task_id"] == "a"


# --- intakes ----------------------------------------------------------------------------


def test_create_intake_defaults_and_full_record(t1):
    intake = create_intake(t1)
    assert re.fullmatch(r"intake-[0-9a-f]{12,}", intake["id"])
    assert intake["status"] == "submitted"
    assert intake["research_type"] == "external" and intake["urgency"] == "medium"
    assert intake["summary"] == "" and intake["tenant_id"] == "t1"


@pytest.mark.parametrize(
    "path",
    [
        ["triaged", "analyzing", "accepted", "tracked"],
        ["triaged", "analyzing", "deferred", "triaged", "analyzing", "rejected"],
    ],
)
def test_intake_legal_transitions(t1, path):
    intake = create_intake(t1)
    for to_status in path:
        response = t1.post(
            f"/v1/improvements/intakes/{intake['id']}/transition",
            {"to_status": to_status},
            format="json",
        )
        assert response.status_code == 200 and response.json()["status"] == to_status


@pytest.mark.parametrize("to_status", ["analyzing", "accepted", "tracked", "submitted"])
def test_intake_illegal_transitions_are_409(t1, to_status):
    intake = create_intake(t1)
    response = t1.post(
        f"/v1/improvements/intakes/{intake['id']}/transition",
        {"to_status": to_status},
        format="json",
    )
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"


def test_intake_list_and_detail(t1):
    intake = create_intake(t1, analyzing=True)
    create_intake(t1, "other")
    listed = t1.get("/v1/improvements/intakes/?status=analyzing").json()
    assert [i["id"] for i in listed] == [intake["id"]]
    assert t1.get(f"/v1/improvements/intakes/{intake['id']}").json()["status"] == "analyzing"
    response = t1.post(f"/v1/improvements/intakes/{intake['id']}/transition", {}, format="json")
    assert response.status_code == 400 and "to_status" in response.json()["errors"]


# --- workflow runs ----------------------------------------------------------------------


def test_create_workflow_run_keeps_its_fields(t1):
    response = t1.post(
        "/v1/workflows/executions/",
        {
            "workflow_name": "nightly",
            "trigger_type": "api",
            "status": "failed",
            "started_at": "2026-01-02T03:04:05",
            "duration_ms": 1500,
            "error": "boom",
            "job_id": "job-9",
        },
        format="json",
    )
    assert response.status_code == 201
    run = response.json()
    assert re.fullmatch(r"wfrun-[0-9a-f]{12,}", run["id"])
    assert run["started_at"] in ("2026-01-02T03:04:05Z", "2026-01-02T03:04:05+00:00")
    assert run["status"] == "failed" and run["error"] == "boom" and run["job_id"] == "job-9"
    assert run["duration_ms"] == 1500 and run["events"] == []


def test_workflow_step_events_are_recorded(t1):
    run = create_run(t1)
    response = t1.post(
        f"/v1/workflows/executions/{run['id']}/events",
        {"step_id": "build", "type": "step_started"},
        format="json",
    )
    assert response.status_code == 201 and response.json()["type"] == "step_started"
    detail = t1.get(f"/v1/workflows/executions/{run['id']}").json()
    assert [e["step_id"] for e in detail["events"]] == ["build"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"step_id": "s", "type": "step_exploded"}, "type"),
        ({"step_id": "s", "type": "step_started", "at": "not-a-time"}, "at"),
        ({"type": "step_started"}, "step_id"),
    ],
)
def test_bad_step_event_is_400(t1, payload, field):
    run = create_run(t1)
    response = t1.post(f"/v1/workflows/executions/{run['id']}/events", payload, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]


def test_workflow_run_list_filters_by_status(t1):
    running, done = create_run(t1), create_run(t1, status="completed")
    listed = t1.get("/v1/workflows/executions/?status=completed").json()
    assert [r["id"] for r in listed] == [done["id"]]
    assert {r["id"] for r in t1.get("/v1/workflows/executions").json()} == {
        running["id"],
        done["id"],
    }


# --- tenancy and scopes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("create", "base"),
    [
        (create_trace, "/v1/traces"),
        (create_budget, "/v1/autonomy/budgets"),
        (create_intake, "/v1/improvements/intakes"),
        (create_run, "/v1/workflows/executions"),
    ],
)
def test_another_tenants_records_are_invisible(t1, t2, operator_client, create, base):
    record = create(t1)
    assert t2.get(base).json() == []
    response = t2.get(f"{base}/{record['id']}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert [r["id"] for r in operator_client.get(base).json()] == [record["id"]]
    assert operator_client.get(f"{base}?tenant_id=t2").json() == []
    assert len(operator_client.get(f"{base}?tenant_id=t1").json()) == 1


def test_tenant_b_cannot_transition_tenant_a_records(t1, t2):
    budget, trace = create_budget(t1), create_trace(t1)
    response = t2.post(
        f"/v1/autonomy/budgets/{budget['id']}/transition", {"to_state": "active"}, format="json"
    )
    assert response.status_code == 404
    response = t2.post(f"/v1/traces/{trace['id']}/complete", {}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_operator_writes_are_stamped_with_the_empty_tenant(operator_client):
    trace = create_trace(operator_client)
    assert trace["tenant_id"] == ""


@pytest.mark.parametrize(
    "base",
    [
        "/v1/traces/",
        "/v1/autonomy/budgets/",
        "/v1/improvements/intakes/",
        "/v1/workflows/executions/",
    ],
)
def test_source_scopes_read_vs_write(make_client, anon_client, base):
    reader = make_client(["workflows:read"], tenant="t1")
    executor = make_client(["workflows:execute"], tenant="t1")
    assert reader.get(base).status_code == 200
    response = reader.post(base, {}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "Missing required scope: workflows:write"
    response = executor.get(base)
    assert response.status_code == 403
    assert response.json()["detail"] == "Missing required scope: workflows:read"
    assert anon_client.get(base).status_code == 401


def test_unknown_record_is_404(t1):
    for path in (
        "/v1/traces/trace-0000000000000",
        "/v1/autonomy/budgets/nope",
        "/v1/improvements/intakes/intake-00",
        "/v1/workflows/executions/wfrun-1",
    ):
        response = t1.get(path)
        assert response.status_code == 404 and response.json()["code"] == "not_found"
