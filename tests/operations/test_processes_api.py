"""Process detail and lifecycle controls through /v1/operations/processes/{id}."""

from __future__ import annotations

import pytest

from tests.operations.helpers import (
    control,
    create_budget,
    create_intake,
    create_multimodal_request,
    create_run,
    create_trace,
)


def test_trace_detail_has_entry_actions_per_step_controls_and_history(t1):
    trace = create_trace(t1, "task-x")
    for step, action_id in (("plan", "a1"), ("plan", "a2"), ("code", "a3")):
        t1.post(
            f"/v1/traces/{trace['id']}/actions",
            {"step_id": step, "action_id": action_id, "tool": "shell"},
            format="json",
        )
    response = t1.get(f"/v1/operations/processes/{trace['id']}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == trace["id"] and body["type"] == "trace" and body["status"] == "running"
    assert body["name"] == "task-x" and body["tenant_id"] == "t1"
    assert body["metadata"]["action_count"] == 3
    steps = {a["step_id"]: a for a in body["actions"]}
    assert steps["plan"]["action_count"] == 2 and steps["code"]["action_count"] == 1
    assert steps["plan"]["completed_at"] is not None
    assert body["controls"] == ["cancel"]
    assert body["control_history"] == []


def test_workflow_run_detail_counts_step_events(t1):
    run = create_run(t1)
    for step, event_type in (
        ("build", "step_started"),
        ("build", "step_completed"),
        ("test", "step_started"),
    ):
        t1.post(
            f"/v1/workflows/executions/{run['id']}/events",
            {"step_id": step, "type": event_type, "at": "2026-03-01T10:00:00Z"},
            format="json",
        )
    body = t1.get(f"/v1/operations/processes/{run['id']}").json()
    steps = {a["step_id"]: a for a in body["actions"]}
    assert steps["build"] == {
        "step_id": "build",
        "action_count": 2,
        "completed_at": "2026-03-01T10:00:00Z",
    }
    assert steps["test"]["completed_at"] is None
    assert body["controls"] == []


def test_cancel_a_running_trace_records_the_control_history(t1):
    trace = create_trace(t1)
    response = control(t1, trace["id"], "cancel", reason="runaway loop")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "cancelled" and body["controls"] == []
    [entry] = body["control_history"]
    assert entry["action"] == "cancel" and entry["reason"] == "runaway loop"
    assert entry["actor"] == "alice"
    assert (entry["from_status"], entry["to_status"]) == ("running", "cancelled")
    assert entry["at"]
    assert t1.get(f"/v1/traces/{trace['id']}").json()["status"] == "cancelled"
    again = control(t1, trace["id"], "cancel")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    history = t1.get(f"/v1/operations/processes/{trace['id']}").json()["control_history"]
    assert len(history) == 1


@pytest.mark.parametrize("action", ["pause", "resume"])
def test_trace_has_no_pause_or_resume(t1, action):
    trace = create_trace(t1)
    response = control(t1, trace["id"], action)
    assert response.status_code == 409 and response.json()["code"] == "unsupported_action"


def test_budget_pause_resume_cancel_through_the_hub(t1):
    budget = create_budget(t1, state="active")
    detail = t1.get(f"/v1/operations/processes/{budget['id']}").json()
    assert detail["controls"] == ["pause", "cancel"]
    paused = control(t1, budget["id"], "pause", reason="over budget")
    assert paused.status_code == 200 and paused.json()["status"] == "suspended"
    assert paused.json()["controls"] == ["resume", "cancel"]
    resumed = control(t1, budget["id"], "resume")
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"
    cancelled = control(t1, budget["id"], "cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "expired"
    history = cancelled.json()["control_history"]
    assert [(h["action"], h["from_status"], h["to_status"]) for h in history] == [
        ("pause", "active", "suspended"),
        ("resume", "suspended", "active"),
        ("cancel", "active", "expired"),
    ]
    assert t1.get(f"/v1/autonomy/budgets/{budget['id']}").json()["state"] == "expired"


def test_cancel_a_suspended_budget_expires_it(t1):
    budget = create_budget(t1, state="active")
    control(t1, budget["id"], "pause")
    response = control(t1, budget["id"], "cancel")
    assert response.status_code == 200 and response.json()["status"] == "expired"


@pytest.mark.parametrize(
    ("state", "action"),
    [
        ("draft", "pause"),
        ("draft", "cancel"),
        ("active", "resume"),
        ("pending_approval", "pause"),
        ("expired", "resume"),
    ],
)
def test_budget_control_refused_by_its_state_is_409(t1, state, action):
    budget = create_budget(t1)
    for step in {
        "draft": [],
        "active": ["active"],
        "pending_approval": ["pending_approval"],
        "expired": ["active", "expired"],
    }[state]:
        t1.post(
            f"/v1/autonomy/budgets/{budget['id']}/transition", {"to_state": step}, format="json"
        )
    response = control(t1, budget["id"], action)
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    assert state in response.json()["detail"]


@pytest.mark.parametrize("action", ["pause", "resume", "cancel"])
def test_intakes_and_workflow_runs_have_no_controls(t1, action):
    for process in (create_intake(t1, analyzing=True), create_run(t1)):
        response = control(t1, process["id"], action)
        assert response.status_code == 409
        assert response.json()["code"] == "unsupported_action"


def test_cancel_a_multimodal_request_through_the_hub(t1):
    request = create_multimodal_request(t1)
    detail = t1.get(f"/v1/operations/processes/{request['id']}").json()
    assert detail["type"] == "multimodal_request" and detail["controls"] == ["cancel"]
    response = control(t1, request["id"], "cancel", reason="not needed")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert response.json()["control_history"][0]["from_status"] == "pending"
    assert t1.get(f"/v1/multimodal/requests/{request['id']}").json()["state"] == "cancelled"
    assert control(t1, request["id"], "cancel").status_code == 409
    paused = control(t1, request["id"], "pause")
    assert paused.status_code == 409 and paused.json()["code"] == "unsupported_action"


@pytest.mark.parametrize(
    "process_id", ["nope-123456789abc", "trace-0123456789abcdef", "no_prefix", "mmreq-000000000000"]
)
def test_unknown_process_is_404(t1, process_id):
    response = t1.get(f"/v1/operations/processes/{process_id}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    response = control(t1, process_id, "cancel")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_tenant_b_cannot_see_or_control_tenant_a_processes(t1, t2, operator_client):
    trace, budget = create_trace(t1), create_budget(t1, state="active")
    request = create_multimodal_request(t1)
    for process_id in (trace["id"], budget["id"], request["id"]):
        assert t2.get(f"/v1/operations/processes/{process_id}").status_code == 404
        response = control(t2, process_id, "cancel")
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert t1.get(f"/v1/traces/{trace['id']}").json()["status"] == "running"
    response = operator_client.get(f"/v1/operations/processes/{trace['id']}?tenant_id=t2")
    assert response.status_code == 404
    response = control(operator_client, budget["id"], "pause")
    assert response.status_code == 200
    assert response.json()["control_history"][0]["actor"] == "operator"


@pytest.mark.parametrize(
    "payload",
    [{"action": "explode"}, {}, {"action": ["cancel"]}, {"action": "cancel", "reason": {"x": 1}}],
)
def test_bad_control_body_is_400(t1, payload):
    trace = create_trace(t1)
    response = t1.post(f"/v1/operations/processes/{trace['id']}/control", payload, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert response.json()["errors"]


def test_control_needs_workflows_execute_and_detail_needs_read(make_client, t1):
    trace = create_trace(t1)
    reader = make_client(["workflows:read", "workflows:write"], tenant="t1")
    response = control(reader, trace["id"], "cancel")
    assert response.status_code == 403
    assert response.json()["detail"] == "Missing required scope: workflows:execute"
    assert reader.get(f"/v1/operations/processes/{trace['id']}").status_code == 200
    executor = make_client(["workflows:execute"], tenant="t1")
    response = executor.get(f"/v1/operations/processes/{trace['id']}")
    assert response.status_code == 403
    assert response.json()["detail"] == "Missing required scope: workflows:read"
    response = control(executor, trace["id"], "cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
