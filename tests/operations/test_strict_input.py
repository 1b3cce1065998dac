"""Strict input on the hub and the four sources (contract §1): what is accepted comes back
exactly as sent, anything else is a 400 naming the field, and a refused write stores nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import pytest

from tests.operations.helpers import (
    create_budget,
    create_intake,
    create_multimodal_request,
    create_run,
    create_trace,
    hub,
)


@dataclass(frozen=True)
class Write:
    """One write endpoint: where to post, a valid body, and what a refused write must not change."""

    url: str
    body: dict
    stored: Callable[[], object]  # the state the write would change, read over HTTP


def _trace_create(client) -> Write:
    return Write(
        "/v1/traces/", {"task_id": "t"}, lambda: client.get("/v1/traces/?limit=500").json()
    )


def _trace_action(client) -> Write:
    trace = create_trace(client)
    detail = f"/v1/traces/{trace['id']}"
    return Write(
        f"{detail}/actions",
        {"step_id": "plan", "action_id": "a1"},
        lambda: client.get(detail).json(),
    )


def _trace_complete(client) -> Write:
    trace = create_trace(client)
    detail = f"/v1/traces/{trace['id']}"
    return Write(f"{detail}/complete", {}, lambda: client.get(detail).json())


def _budget_create(client) -> Write:
    return Write(
        "/v1/autonomy/budgets/",
        {"task_id": "t", "agent_id": "a"},
        lambda: client.get("/v1/autonomy/budgets/?limit=500").json(),
    )


def _budget_transition(client) -> Write:
    budget = create_budget(client)
    detail = f"/v1/autonomy/budgets/{budget['id']}"
    return Write(f"{detail}/transition", {"to_state": "active"}, lambda: client.get(detail).json())


def _intake_create(client) -> Write:
    return Write(
        "/v1/improvements/intakes/",
        {"title": "idea"},
        lambda: client.get("/v1/improvements/intakes/?limit=500").json(),
    )


def _intake_transition(client) -> Write:
    intake = create_intake(client)
    detail = f"/v1/improvements/intakes/{intake['id']}"
    return Write(
        f"{detail}/transition", {"to_status": "triaged"}, lambda: client.get(detail).json()
    )


def _run_create(client) -> Write:
    return Write(
        "/v1/workflows/executions/",
        {"workflow_name": "w", "trigger_type": "api", "status": "running"},
        lambda: client.get("/v1/workflows/executions/?limit=500").json(),
    )


def _run_event(client) -> Write:
    run = create_run(client)
    detail = f"/v1/workflows/executions/{run['id']}"
    return Write(
        f"{detail}/events",
        {"step_id": "s", "type": "step_started"},
        lambda: client.get(detail).json(),
    )


def _control(client) -> Write:
    trace = create_trace(client)
    detail = f"/v1/operations/processes/{trace['id']}"
    return Write(f"{detail}/control", {"action": "cancel"}, lambda: client.get(detail).json())


WRITES = {
    "trace_create": _trace_create,
    "trace_action": _trace_action,
    "trace_complete": _trace_complete,
    "budget_create": _budget_create,
    "budget_transition": _budget_transition,
    "intake_create": _intake_create,
    "intake_transition": _intake_transition,
    "run_create": _run_create,
    "run_event": _run_event,
    "control": _control,
}

TEXT_FIELDS = [
    ("trace_create", "task_id"),
    ("trace_create", "session_id"),
    ("trace_create", "run_id"),
    ("trace_create", "agent_id"),
    ("trace_create", "agent_role"),
    ("trace_create", "model"),
    ("trace_action", "step_id"),
    ("trace_action", "action_id"),
    ("trace_action", "tool"),
    ("trace_action", "status"),
    ("trace_action", "input_summary"),
    ("trace_action", "output_summary"),
    ("trace_complete", "failure_code"),
    ("trace_complete", "failure_message"),
    ("budget_create", "task_id"),
    ("budget_create", "agent_id"),
    ("budget_create", "description"),
    ("budget_transition", "approved_by"),
    ("intake_create", "title"),
    ("intake_create", "summary"),
    ("run_create", "workflow_name"),
    ("run_create", "error"),
    ("run_create", "job_id"),
    ("run_event", "step_id"),
    ("control", "reason"),
]

CHOICE_FIELDS = [
    ("trace_complete", "status", "escalated"),
    ("budget_transition", "to_state", "pending_approval"),
    ("intake_create", "research_type", "competitive"),
    ("intake_create", "urgency", "critical"),
    ("intake_transition", "to_status", "triaged"),
    ("run_create", "trigger_type", "scheduled"),
    ("run_create", "status", "cancelled"),
    ("run_event", "type", "step_skipped"),
    ("control", "action", "cancel"),
]


def _refused(client, write: Write, body: dict, field: str) -> dict:
    """Post `body`; assert a 400 naming `field` and that nothing changed; return the error."""
    before = write.stored()
    response = client.post(write.url, body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()
    assert error["code"] == "invalid" and field in error["errors"], error
    assert write.stored() == before
    return error


# --- text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("write", "field"), TEXT_FIELDS)
@pytest.mark.parametrize("value", [0, 1.5, True, ["x"], {"x": 1}])
def test_text_field_that_is_not_a_string_is_400_and_stores_nothing(t1, write, field, value):
    target = WRITES[write](t1)
    error = _refused(t1, target, {**target.body, field: value}, field)
    assert error["errors"][field] == ["Must be a string."]


@pytest.mark.parametrize(("write", "field"), TEXT_FIELDS)
def test_text_is_stored_exactly_as_sent_without_trimming(t1, write, field):
    target = WRITES[write](t1)
    value = "  padded\tvalue \u00e9\U0001f600\x00 "
    response = t1.post(target.url, {**target.body, field: value}, format="json")
    assert response.status_code in (200, 201), response.content
    body = response.json()
    if write == "control":
        assert body["control_history"][-1]["reason"] == value
    elif write == "trace_action":
        assert body[field] == value
        assert t1.get(target.url.rsplit("/", 1)[0]).json()["actions"][0][field] == value
    else:
        assert body[field] == value


def test_model_zero_is_refused_rather_than_stored_as_text(t1):
    response = t1.post("/v1/traces/", {"task_id": "t", "model": 0}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "model: Must be a string.",
        "code": "invalid",
        "errors": {"model": ["Must be a string."]},
    }
    assert t1.get("/v1/traces/").json() == []


# --- enums --------------------------------------------------------------------------------


@pytest.mark.parametrize(("write", "field", "valid"), CHOICE_FIELDS)
@pytest.mark.parametrize("value", ["bogus-\u00e9t\u00e9", "", 1, None, [""]])
def test_unknown_enum_value_is_400_naming_the_allowed_values_without_echo(
    t1, write, field, valid, value
):
    target = WRITES[write](t1)
    error = _refused(t1, target, {**target.body, field: value}, field)
    [message] = error["errors"][field]
    if value is None:
        assert message == "This field may not be null."
    else:
        assert message.startswith("Must be one of: ") and valid in message
    assert "bogus" not in json.dumps(error)


# --- free-form objects, numbers and times -------------------------------------------------


@pytest.mark.parametrize(
    ("write", "field"), [("budget_create", "limits"), ("trace_action", "metadata")]
)
def test_free_form_object_over_16_kib_is_400_naming_the_field(t1, write, field):
    target = WRITES[write](t1)
    error = _refused(t1, target, {**target.body, field: {"blob": "x" * 17_000}}, field)
    assert error["errors"][field][0].startswith("Must be at most 16384 bytes as JSON")


@pytest.mark.parametrize(
    ("write", "field"), [("budget_create", "limits"), ("trace_action", "metadata")]
)
@pytest.mark.parametrize("value", [[1, 2], "text", 3])
def test_free_form_field_that_is_not_an_object_is_400(t1, write, field, value):
    target = WRITES[write](t1)
    _refused(t1, target, {**target.body, field: value}, field)


@pytest.mark.parametrize(
    ("write", "field"), [("budget_create", "limits"), ("trace_action", "metadata")]
)
def test_free_form_object_nested_deeper_than_32_levels_is_400(t1, write, field):
    target = WRITES[write](t1)
    deep: dict = {}
    for _ in range(40):
        deep = {"d": deep}
    error = _refused(t1, target, {**target.body, field: deep}, field)
    assert error["errors"][field] == ["JSON may nest at most 32 levels."]


def test_free_form_objects_come_back_exactly_as_sent(t1):
    limits = {"max_tokens": 1000, "nested": {"list": [1, 2.5, None, True, "\u00e9"]}}
    budget = create_budget(t1)
    response = t1.post(
        "/v1/autonomy/budgets/", {"task_id": "t", "agent_id": "a", "limits": limits}, format="json"
    )
    assert response.status_code == 201 and response.json()["limits"] == limits
    assert budget["limits"] == {"max_tokens": 1000}


@pytest.mark.parametrize(
    ("write", "field", "value"),
    [
        ("trace_action", "duration_ms", "12"),
        ("trace_action", "duration_ms", True),
        ("trace_action", "duration_ms", -1),
        ("run_create", "duration_ms", "5"),
        ("run_create", "duration_ms", False),
        ("run_create", "started_at", 1_700_000_000),
        ("run_create", "started_at", ""),
        ("run_create", "started_at", "yesterday"),
        ("run_event", "at", 1_700_000_000),
        ("run_event", "at", "not-a-time"),
    ],
)
def test_numbers_and_times_of_the_wrong_type_are_400(t1, write, field, value):
    target = WRITES[write](t1)
    _refused(t1, target, {**target.body, field: value}, field)


def test_naive_times_are_utc_and_offsets_are_converted_to_utc(t1):
    naive = t1.post(
        "/v1/workflows/executions/",
        {
            "workflow_name": "w",
            "trigger_type": "api",
            "status": "completed",
            "started_at": "2026-01-02T03:04:05",
        },
        format="json",
    )
    offset = t1.post(
        "/v1/workflows/executions/",
        {
            "workflow_name": "w",
            "trigger_type": "api",
            "status": "completed",
            "started_at": "2026-01-02T05:04:05+02:00",
        },
        format="json",
    )
    assert naive.status_code == offset.status_code == 201
    assert naive.json()["started_at"] == offset.json()["started_at"] == "2026-01-02T03:04:05Z"


# --- budgets: AGENT33 compatibility -------------------------------------------------------


def test_budget_without_task_or_agent_is_a_draft_with_empty_ids(t1):
    response = t1.post("/v1/autonomy/budgets/", {}, format="json")
    assert response.status_code == 201, response.content
    budget = response.json()
    assert (budget["task_id"], budget["agent_id"], budget["state"]) == ("", "", "draft")
    t1.post(
        f"/v1/autonomy/budgets/{budget['id']}/transition", {"to_state": "active"}, format="json"
    )
    [entry] = hub(t1, "?include=budgets")["processes"]
    assert entry["name"] == budget["id"]  # the task_id is blank: the id stands in


# --- query parameters ---------------------------------------------------------------------

ARABIC_FIVE = quote("\u0665")  # a non-ASCII digit: not an integer in a query string

LISTS = [
    ("/v1/traces/", "status"),
    ("/v1/autonomy/budgets/", "state"),
    ("/v1/improvements/intakes/", "status"),
    ("/v1/workflows/executions/", "status"),
]


@pytest.mark.parametrize(("base", "status_param"), LISTS)
@pytest.mark.parametrize(
    ("query", "param", "message"),
    [
        ("limit=", "limit", "May not be empty."),
        ("limit=" + ARABIC_FIVE, "limit", "A valid integer is required."),
        ("limit=5.0", "limit", "A valid integer is required."),
        ("limit=%2B", "limit", "A valid integer is required."),
        ("limit=501", "limit", "Ensure this value is less than or equal to 500."),
        ("tenant_id=", "tenant_id", "May not be empty."),
        ("{status}=", "{status}", "May not be empty."),
    ],
)
def test_strict_list_query_parameters_are_400(
    operator_client, base, status_param, query, param, message
):
    query, param = query.format(status=status_param), param.format(status=status_param)
    response = operator_client.get(f"{base}?{query}")
    assert response.status_code == 400
    assert response.json() == {
        "detail": f"{param}: {message}",
        "code": "invalid",
        "errors": {param: [message]},
    }


@pytest.mark.parametrize(("base", "status_param"), LISTS)
def test_unknown_status_filter_is_400_naming_the_allowed_values(t1, base, status_param):
    response = t1.get(f"{base}?{status_param}=bogus")
    assert response.status_code == 400
    [message] = response.json()["errors"][status_param]
    assert message.startswith("Must be one of: ") and "bogus" not in message


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("limit=", "limit"),
        ("limit=" + ARABIC_FIVE, "limit"),
        ("tenant_id=", "tenant_id"),
        ("status=", "status"),
        ("since=", "since"),
        ("include=", "include"),
    ],
)
def test_strict_hub_query_parameters_are_400(operator_client, query, param):
    response = operator_client.get(f"/v1/operations/hub?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and param in body["errors"], body


def test_hub_unknown_status_is_400_naming_every_status_of_every_type(t1):
    response = t1.get("/v1/operations/hub?status=bogus")
    assert response.status_code == 400
    [message] = response.json()["errors"]["status"]
    assert response.json()["detail"] == f"status: {message}"
    allowed = message.removeprefix("Must be one of: ").removesuffix(".").split(", ")
    assert allowed == sorted(allowed)
    assert set(allowed) == {
        *("running", "completed", "failed", "timeout", "cancelled", "escalated"),
        *("draft", "pending_approval", "active", "suspended", "expired", "rejected"),
        *("submitted", "triaged", "analyzing", "accepted", "deferred", "tracked"),
        *("pending", "processing"),
    }


def test_hub_include_of_only_commas_is_400(t1):
    response = t1.get("/v1/operations/hub?include=,,")
    assert response.status_code == 400
    assert response.json()["errors"]["include"] == [
        "Must name at least one of: budgets, improvements, multimodal, traces, workflows."
    ]


def test_process_detail_empty_tenant_filter_is_400(operator_client, t1):
    trace = create_trace(t1)
    response = operator_client.get(f"/v1/operations/processes/{trace['id']}?tenant_id=")
    assert response.status_code == 400
    assert response.json()["errors"] == {"tenant_id": ["May not be empty."]}


# --- hub entries carry tenant_id in metadata ----------------------------------------------


def test_every_hub_entry_metadata_carries_its_tenant_id(t1, operator_client):
    create_trace(t1)
    create_budget(t1, state="active")
    create_intake(t1, analyzing=True)
    create_run(t1)
    create_multimodal_request(t1)
    for client in (t1, operator_client):
        processes = hub(client)["processes"]
        assert {p["type"] for p in processes} == {
            "trace",
            "autonomy_budget",
            "improvement_intake",
            "workflow",
            "multimodal_request",
        }
        for process in processes:
            assert process["metadata"]["tenant_id"] == "t1", process
            detail = client.get(f"/v1/operations/processes/{process['id']}").json()
            assert detail["metadata"]["tenant_id"] == "t1"


# --- no echo of undecodable or unbounded text ---------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v1/traces/trace-%ED%A0%80",
        "/v1/operations/processes/trace-%ED%A0%80",
        "/v1/operations/processes/trace-%FF%FE",
        "/v1/workflows/executions/wfrun-%C0%80",
    ],
)
def test_not_found_for_an_undecodable_id_is_valid_json(t1, path):
    response = t1.get(path)
    assert response.status_code == 404
    body = json.loads(response.content.decode("utf-8"))
    assert body["code"] == "not_found" and "\ud800" not in body["detail"]


def test_not_found_detail_shortens_a_long_id(t1):
    response = t1.get(f"/v1/operations/processes/trace-{'a' * 5000}")
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert len(detail) < 120 and detail.endswith("\u2026'.")
