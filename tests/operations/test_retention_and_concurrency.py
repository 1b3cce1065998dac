"""Bounded memory (records capped per tenant, finished evicted first) and atomic controls."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

from tests.conftest import bearer_client
from tests.operations.conftest import ALL_WORKFLOW_SCOPES
from tests.operations.helpers import control, create_budget, create_run, create_trace, hub


def test_finished_records_are_capped_per_tenant_and_live_ones_kept(settings, t1, t2):
    settings.OPERATIONS_MAX_RECORDS_PER_TENANT = 5  # live and finished together
    running = [create_trace(t1, f"live-{i}") for i in range(2)]
    finished = []
    for i in range(5):
        trace = create_trace(t1, f"done-{i}")
        t1.post(f"/v1/traces/{trace['id']}/complete", {}, format="json")
        finished.append(trace)
    other = create_trace(t2, "t2-done")
    t2.post(f"/v1/traces/{other['id']}/complete", {}, format="json")

    kept = {t["id"] for t in t1.get("/v1/traces/?limit=500").json()}
    assert kept == {t["id"] for t in running + finished[2:]}
    response = t1.get(f"/v1/traces/{finished[0]['id']}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert t2.get(f"/v1/traces/{other['id']}").status_code == 200  # another tenant's quota
    assert hub(t1, "?include=traces")["counts"] == {"trace": 2}
    assert hub(t1, "?status=completed&include=traces")["counts"] == {"trace": 3}


def test_workflow_runs_are_capped_too(settings, t1):
    settings.OPERATIONS_MAX_RECORDS_PER_TENANT = 3
    live = create_run(t1, "live")
    done = [create_run(t1, f"done-{i}", status="completed") for i in range(4)]
    kept = {r["id"] for r in t1.get("/v1/workflows/executions/").json()}
    assert kept == {live["id"], done[2]["id"], done[3]["id"]}


def test_concurrent_pause_and_resume_leave_a_consistent_history(t1):
    budget = create_budget(t1, state="active")
    clients = [bearer_client(ALL_WORKFLOW_SCOPES, tenant="t1", sub=f"u{i}") for i in range(8)]

    def hammer(index: int) -> list[int]:
        action = "pause" if index % 2 == 0 else "resume"
        return [control(clients[index], budget["id"], action).status_code for _ in range(15)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = [code for result in pool.map(hammer, range(8)) for code in result]
    assert set(codes) <= {200, 409}
    detail = t1.get(f"/v1/operations/processes/{budget['id']}").json()
    history = detail["control_history"]
    assert codes.count(200) == len(history) > 0
    for before, after in pairwise(history):  # in the order the controls were applied
        assert after["from_status"] == before["to_status"]
    assert detail["status"] == history[-1]["to_status"]


def test_hub_cancel_and_source_complete_race_has_exactly_one_winner(t1):
    traces = [create_trace(t1, f"race-{i}") for i in range(15)]
    canceller = bearer_client(ALL_WORKFLOW_SCOPES, tenant="t1", sub="canceller")
    completer = bearer_client(ALL_WORKFLOW_SCOPES, tenant="t1", sub="completer")

    def cancel(trace_id: str) -> int:
        return control(canceller, trace_id, "cancel").status_code

    def complete(trace_id: str) -> int:
        return completer.post(f"/v1/traces/{trace_id}/complete", {}, format="json").status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        cancels = [pool.submit(cancel, t["id"]) for t in traces]
        completes = [pool.submit(complete, t["id"]) for t in traces]
        outcomes = [(c.result(), d.result()) for c, d in zip(cancels, completes, strict=True)]
    for trace, (cancel_code, complete_code) in zip(traces, outcomes, strict=True):
        assert sorted([cancel_code, complete_code]) == [200, 409]
        status = t1.get(f"/v1/traces/{trace['id']}").json()["status"]
        assert status == ("cancelled" if cancel_code == 200 else "completed")
