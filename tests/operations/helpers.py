"""Small HTTP helpers that create one process of each kind and return its body."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def create_trace(client, task_id: str = "task-1") -> dict:
    response = client.post(
        "/v1/traces/",
        {
            "task_id": task_id,
            "session_id": "s1",
            "run_id": "r1",
            "agent_id": "agent-1",
            "agent_role": "coder",
            "model": "gpt-x",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def create_budget(client, task_id: str = "task-b", state: str | None = None) -> dict:
    response = client.post(
        "/v1/autonomy/budgets/",
        {"task_id": task_id, "agent_id": "agent-1", "limits": {"max_tokens": 1000}},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    if state is not None:
        body = move_budget(client, body["id"], state)
    return body


def move_budget(client, budget_id: str, to_state: str) -> dict:
    response = client.post(
        f"/v1/autonomy/budgets/{budget_id}/transition", {"to_state": to_state}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def create_intake(client, title: str = "Try a new planner", analyzing: bool = False) -> dict:
    response = client.post("/v1/improvements/intakes/", {"title": title}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    if analyzing:
        for to_status in ("triaged", "analyzing"):
            response = client.post(
                f"/v1/improvements/intakes/{body['id']}/transition",
                {"to_status": to_status},
                format="json",
            )
            assert response.status_code == 200, response.content
        body = response.json()
    return body


def create_run(
    client, name: str = "nightly", status: str = "running", hours_ago: float | None = None
) -> dict:
    payload = {"workflow_name": name, "trigger_type": "scheduled", "status": status}
    if hours_ago is not None:
        payload["started_at"] = (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat()
    response = client.post("/v1/workflows/executions/", payload, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def create_multimodal_request(client) -> dict:
    response = client.post(
        "/v1/multimodal/requests",
        {"modality": "text_to_speech", "input_text": "hi", "execute_now": False},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def hub(client, query: str = "") -> dict:
    response = client.get(f"/v1/operations/hub{query}")
    assert response.status_code == 200, response.content
    return response.json()


def control(client, process_id: str, action: str, reason: str = ""):
    return client.post(
        f"/v1/operations/processes/{process_id}/control",
        {"action": action, "reason": reason},
        format="json",
    )
