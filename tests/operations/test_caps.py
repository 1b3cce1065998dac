"""Memory bounded in count and bytes (contract §1, §5): nested lists, per-tenant stores, lists
without nested arrays, and control history kept per tenant. Caps are made small per test.
"""

from __future__ import annotations

from tests.operations.helpers import control, create_budget, create_run, create_trace, hub


def _action(client, trace_id: str, action_id: str, **extra):
    return client.post(
        f"/v1/traces/{trace_id}/actions",
        {"step_id": "plan", "action_id": action_id, **extra},
        format="json",
    )


def _event(client, run_id: str, step_id: str):
    return client.post(
        f"/v1/workflows/executions/{run_id}/events",
        {"step_id": step_id, "type": "step_started"},
        format="json",
    )


def _complete(client, trace_id: str) -> None:
    response = client.post(f"/v1/traces/{trace_id}/complete", {}, format="json")
    assert response.status_code == 200, response.content


# --- nested lists -------------------------------------------------------------------------


def test_a_trace_holds_at_most_the_configured_actions_then_409(settings, t1):
    settings.OPERATIONS_MAX_ACTIONS_PER_TRACE = 3
    trace = create_trace(t1)
    for i in range(3):
        assert _action(t1, trace["id"], f"a{i}").status_code == 201
    response = _action(t1, trace["id"], "a3")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "A trace holds at most 3 actions.",
        "code": "invalid_transition",
    }
    detail = t1.get(f"/v1/traces/{trace['id']}").json()
    assert [a["action_id"] for a in detail["actions"]] == ["a0", "a1", "a2"]
    assert detail["action_count"] == 3


def test_a_workflow_run_holds_at_most_as_many_events_then_409(settings, t1):
    settings.OPERATIONS_MAX_ACTIONS_PER_TRACE = 2
    run = create_run(t1)
    assert _event(t1, run["id"], "s0").status_code == 201
    assert _event(t1, run["id"], "s1").status_code == 201
    response = _event(t1, run["id"], "s2")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "A workflow run holds at most 2 events.",
        "code": "invalid_transition",
    }
    detail = t1.get(f"/v1/workflows/executions/{run['id']}").json()
    assert [e["step_id"] for e in detail["events"]] == ["s0", "s1"]
    assert detail["event_count"] == 2


# --- lists never embed nested arrays ------------------------------------------------------


def test_trace_list_items_carry_action_count_and_the_detail_the_actions(t1):
    trace = create_trace(t1)
    for i in range(2):
        _action(t1, trace["id"], f"a{i}")
    [item] = t1.get("/v1/traces/?limit=50").json()
    assert "actions" not in item and item["action_count"] == 2
    assert item["id"] == trace["id"] and item["status"] == "running"
    detail = t1.get(f"/v1/traces/{trace['id']}").json()
    assert [a["action_id"] for a in detail["actions"]] == ["a0", "a1"]
    assert detail["action_count"] == 2
    assert {k: v for k, v in detail.items() if k != "actions"} == {
        **item,
        "updated_at": detail["updated_at"],
    }
    assert trace["action_count"] == 0 and trace["actions"] == []  # create answers in full


def test_run_list_items_carry_event_count_and_the_detail_the_events(t1):
    run = create_run(t1)
    _event(t1, run["id"], "build")
    [item] = t1.get("/v1/workflows/executions/").json()
    assert "events" not in item and item["event_count"] == 1
    detail = t1.get(f"/v1/workflows/executions/{run['id']}").json()
    assert [e["step_id"] for e in detail["events"]] == ["build"] and detail["event_count"] == 1
    assert run["event_count"] == 0 and run["events"] == []


# --- per-tenant record caps ---------------------------------------------------------------


def test_live_traces_beyond_the_record_cap_are_429_and_store_nothing(settings, t1, t2):
    settings.OPERATIONS_MAX_RECORDS_PER_TENANT = 3
    live = [create_trace(t1, f"live-{i}") for i in range(3)]
    response = t1.post("/v1/traces/", {"task_id": "one-too-many"}, format="json")
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "quota_exceeded"
    assert "at most 3 records" in body["detail"]
    listed = t1.get("/v1/traces/?limit=500").json()
    assert [t["id"] for t in listed] == [t["id"] for t in reversed(live)]
    assert hub(t1, "?include=traces")["counts"] == {"trace": 3}
    assert create_trace(t2, "other-tenant")["tenant_id"] == "t2"  # t2 has its own quota


def test_finishing_a_live_record_makes_room_by_evicting_it_first(settings, t1):
    settings.OPERATIONS_MAX_RECORDS_PER_TENANT = 2
    first, second = create_trace(t1, "first"), create_trace(t1, "second")
    _complete(t1, first["id"])
    third = create_trace(t1, "third")
    assert {t["id"] for t in t1.get("/v1/traces/").json()} == {second["id"], third["id"]}
    response = t1.get(f"/v1/traces/{first['id']}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_finished_records_are_evicted_earliest_finished_first(settings, t1):
    settings.OPERATIONS_MAX_RECORDS_PER_TENANT = 3
    traces = [create_trace(t1, f"t{i}") for i in range(3)]
    for trace in (traces[2], traces[0], traces[1]):  # finish order differs from start order
        _complete(t1, trace["id"])
    create_trace(t1, "new-1")
    create_trace(t1, "new-2")
    kept = {t["task_id"] for t in t1.get("/v1/traces/").json()}
    assert kept == {"t1", "new-1", "new-2"}


def test_live_workflow_runs_and_budgets_are_capped_too(settings, t1):
    settings.OPERATIONS_MAX_RECORDS_PER_TENANT = 2
    runs = [create_run(t1, f"r{i}") for i in range(2)]
    response = t1.post(
        "/v1/workflows/executions/",
        {"workflow_name": "r2", "trigger_type": "api", "status": "running"},
        format="json",
    )
    assert response.status_code == 429 and response.json()["code"] == "quota_exceeded"
    assert {r["id"] for r in t1.get("/v1/workflows/executions/").json()} == {r["id"] for r in runs}
    budgets = [create_budget(t1, f"b{i}", state="active") for i in range(2)]
    response = t1.post("/v1/autonomy/budgets/", {"task_id": "b2"}, format="json")
    assert response.status_code == 429 and response.json()["code"] == "quota_exceeded"
    assert {b["id"] for b in t1.get("/v1/autonomy/budgets/").json()} == {b["id"] for b in budgets}


def test_a_tenant_that_finishes_its_work_never_hits_the_quota(settings, t1):
    settings.OPERATIONS_MAX_RECORDS_PER_TENANT = 5
    settings.OPERATIONS_MAX_BYTES_PER_TENANT = 40_000
    for i in range(40):
        trace = create_trace(t1, f"t{i}")
        assert _action(t1, trace["id"], "a", metadata={"blob": "z" * 5_000}).status_code == 201
        _complete(t1, trace["id"])
    kept = [t["task_id"] for t in t1.get("/v1/traces/?limit=500").json()]
    assert kept[0] == "t39" and 1 <= len(kept) <= 5
    assert kept == [f"t{i}" for i in range(39, 39 - len(kept), -1)]


# --- per-tenant byte caps -----------------------------------------------------------------

BIG_LIMITS = {"blob": "x" * 15_000}  # about 22.5 KB a budget as `agent33_core.sizing` bounds it


def test_byte_cap_evicts_finished_records_earliest_first(settings, t1):
    settings.OPERATIONS_MAX_BYTES_PER_TENANT = 50_000  # two big budgets, not three
    drafts = []
    for i in range(3):
        response = t1.post(
            "/v1/autonomy/budgets/", {"task_id": f"d{i}", "limits": BIG_LIMITS}, format="json"
        )
        assert response.status_code == 201
        drafts.append(response.json())
    kept = [b["task_id"] for b in t1.get("/v1/autonomy/budgets/").json()]
    assert kept == ["d2", "d1"]


def test_byte_cap_full_of_live_records_refuses_a_create_with_429(settings, t1):
    settings.OPERATIONS_MAX_BYTES_PER_TENANT = 50_000
    for i in range(2):
        response = t1.post(
            "/v1/autonomy/budgets/", {"task_id": f"b{i}", "limits": BIG_LIMITS}, format="json"
        )
        t1.post(
            f"/v1/autonomy/budgets/{response.json()['id']}/transition",
            {"to_state": "active"},
            format="json",
        )
    before = t1.get("/v1/autonomy/budgets/").json()
    response = t1.post(
        "/v1/autonomy/budgets/", {"task_id": "b2", "limits": BIG_LIMITS}, format="json"
    )
    assert response.status_code == 429
    assert response.json()["code"] == "quota_exceeded"
    assert "50000 bytes" in response.json()["detail"]
    assert t1.get("/v1/autonomy/budgets/").json() == before


def test_a_growing_trace_is_refused_with_429_when_its_tenant_has_no_room(settings, t1, t2):
    settings.OPERATIONS_MAX_BYTES_PER_TENANT = 75_000  # a trace and three 21 KB actions
    trace = create_trace(t1)
    metadata = {"blob": "y" * 15_000}
    codes = [_action(t1, trace["id"], f"a{i}", metadata=metadata).status_code for i in range(5)]
    assert codes == [201, 201, 201, 429, 429]
    response = _action(t1, trace["id"], "a5", metadata=metadata)
    assert response.json()["code"] == "quota_exceeded"
    detail = t1.get(f"/v1/traces/{trace['id']}").json()
    assert detail["action_count"] == 3 and len(detail["actions"]) == 3
    other = create_trace(t2)  # another tenant's bytes are its own
    assert _action(t2, other["id"], "a0", metadata=metadata).status_code == 201
    _complete(t1, trace["id"])  # a status change is never refused, even at the cap
    assert t1.get(f"/v1/traces/{trace['id']}").json()["status"] == "completed"


def test_a_transition_that_grows_a_live_record_past_the_byte_cap_is_429(settings, t1):
    settings.OPERATIONS_MAX_BYTES_PER_TENANT = 46_000  # two big budgets with a little room
    budgets = []
    for i in range(2):
        response = t1.post(
            "/v1/autonomy/budgets/", {"task_id": f"b{i}", "limits": BIG_LIMITS}, format="json"
        )
        budgets.append(response.json())
    url = f"/v1/autonomy/budgets/{budgets[0]['id']}"
    assert t1.post(f"{url}/transition", {"to_state": "active"}, format="json").status_code == 200
    url = f"/v1/autonomy/budgets/{budgets[1]['id']}"
    response = t1.post(
        f"{url}/transition", {"to_state": "active", "approved_by": "😀" * 200}, format="json"
    )
    assert response.status_code == 429 and response.json()["code"] == "quota_exceeded"
    assert t1.get(url).json()["state"] == "draft" and t1.get(url).json()["approved_by"] == ""
    response = t1.post(
        f"{url}/transition", {"to_state": "active", "approved_by": "c"}, format="json"
    )
    assert response.status_code == 200 and response.json()["state"] == "active"


# --- control history ----------------------------------------------------------------------


def test_one_tenants_control_flood_never_evicts_another_tenants_history(settings, t1, t2):
    settings.OPERATIONS_MAX_CONTROL_HISTORY_PER_TENANT = 4
    theirs = create_budget(t2, state="active")
    assert control(t2, theirs["id"], "pause", reason="t2 audit").status_code == 200
    mine = create_budget(t1, state="active")
    for i in range(10):
        action = "pause" if i % 2 == 0 else "resume"
        assert control(t1, mine["id"], action).status_code == 200
    history = t2.get(f"/v1/operations/processes/{theirs['id']}").json()["control_history"]
    assert [(h["action"], h["reason"]) for h in history] == [("pause", "t2 audit")]
    own = t1.get(f"/v1/operations/processes/{mine['id']}").json()["control_history"]
    assert [h["action"] for h in own] == ["pause", "resume", "pause", "resume"]  # newest four


def test_control_history_evicts_the_tenants_least_recently_controlled_process_first(settings, t1):
    settings.OPERATIONS_MAX_CONTROL_HISTORY_PER_TENANT = 2
    old, new = create_trace(t1, "old"), create_budget(t1, state="active")
    assert control(t1, old["id"], "cancel").status_code == 200
    assert control(t1, new["id"], "pause").status_code == 200
    assert control(t1, new["id"], "resume").status_code == 200
    assert t1.get(f"/v1/operations/processes/{old['id']}").json()["control_history"] == []
    history = t1.get(f"/v1/operations/processes/{new['id']}").json()["control_history"]
    assert [h["action"] for h in history] == ["pause", "resume"]


def test_operator_controls_count_against_the_process_tenant(settings, t1, t2, operator_client):
    settings.OPERATIONS_MAX_CONTROL_HISTORY_PER_TENANT = 1
    theirs = create_budget(t2, state="active")
    control(t2, theirs["id"], "pause")
    mine = create_budget(t1, state="active")
    for action in ("pause", "resume", "pause"):
        assert control(operator_client, mine["id"], action).status_code == 200
    history = t2.get(f"/v1/operations/processes/{theirs['id']}").json()["control_history"]
    assert len(history) == 1
    own = t1.get(f"/v1/operations/processes/{mine['id']}").json()["control_history"]
    assert [(h["action"], h["actor"]) for h in own] == [("pause", "operator")]


def test_control_history_is_bounded_in_bytes_per_tenant(settings, t1, t2):
    reason_chars = 1000
    settings.OPERATIONS_MAX_CONTROL_HISTORY_BYTES_PER_TENANT = 10_000
    theirs = create_budget(t2, state="active")
    control(t2, theirs["id"], "pause", reason="r" * reason_chars)
    mine = create_budget(t1, state="active")
    for i in range(20):
        control(t1, mine["id"], "pause" if i % 2 == 0 else "resume", reason="\u00e9" * reason_chars)
    own = t1.get(f"/v1/operations/processes/{mine['id']}").json()["control_history"]
    assert 1 <= len(own) <= 3  # each record is ~10 KB as `agent33_core.sizing` bounds it
    assert own[-1]["action"] == "resume"
    history = t2.get(f"/v1/operations/processes/{theirs['id']}").json()["control_history"]
    assert len(history) == 1
