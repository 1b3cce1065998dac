"""The demo seeds: every app's data through its own service, idempotent, covering each state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from multimodal.demo import seed_demo as seed_multimodal
from multimodal.domain import RequestState
from multimodal.services import get_multimodal_service
from operations.demo import seed_demo as seed_operations
from operations.services import get_operations_service
from operations.sources.budgets.services import get_budgets_service
from operations.sources.intakes.services import get_intakes_service
from operations.sources.traces.services import get_traces_service
from operations.sources.workflows.services import get_workflow_runs_service
from outcomes.demo import EXPERIMENT_KEY
from outcomes.demo import seed_demo as seed_outcomes
from outcomes.domain import MetricType
from outcomes.experiments import get_experiment_service
from outcomes.services import get_outcomes_service


def test_operations_demo_has_live_and_finished_work_of_two_tenants_and_the_operator():
    assert seed_operations() is True
    traces = get_traces_service().list(tenant_id=None, status=None, limit=500)
    assert {t.tenant_id for t in traces} == {"acme", "globex", ""}
    assert {t.status for t in traces} == {"running", "completed", "failed", "timeout", "escalated"}
    assert all(t.actions for t in traces if t.tenant_id)
    budgets = get_budgets_service().list(tenant_id="acme", status=None, limit=500)
    assert {b.state for b in budgets} == {
        "active",
        "suspended",
        "draft",
        "pending_approval",
        "expired",
        "completed",
    }
    intakes = get_intakes_service().list(tenant_id="globex", status=None, limit=500)
    assert {"submitted", "triaged", "analyzing", "accepted", "tracked", "deferred"} <= {
        i.status for i in intakes
    }
    runs = get_workflow_runs_service().list(tenant_id=None, status=None, limit=500)
    oldest = min(r.started_at for r in runs)
    assert datetime.now(UTC) - oldest > timedelta(hours=40)
    assert {r.status for r in runs} >= {"running", "completed", "failed"}
    assert all(r.events for r in runs)
    paused = get_budgets_service().list(tenant_id="acme", status="suspended", limit=1)[0]
    detail = get_operations_service().detail(tenant_id=None, process_id=paused.id)
    assert [c.action for c in detail.control_history] == ["pause"]


def test_operations_demo_seeds_only_an_empty_hub():
    assert seed_operations() is True
    before = len(get_traces_service().list(tenant_id=None, status=None, limit=500))
    assert seed_operations() is False
    assert len(get_traces_service().list(tenant_id=None, status=None, limit=500)) == before


def test_multimodal_demo_has_every_state_with_real_outputs():
    assert seed_multimodal() == 14
    service = get_multimodal_service()
    records = service.list_requests(tenant_id=None, limit=500)
    assert {r.state for r in records} == {
        RequestState.PENDING,
        RequestState.PROCESSING,
        RequestState.COMPLETED,
        RequestState.FAILED,
        RequestState.CANCELLED,
    }
    assert {r.tenant_id for r in records} == {"acme", "globex", ""}
    for record in records:
        if record.state is RequestState.COMPLETED:
            result = service.get_result(tenant_id=None, request_id=record.id)
            assert result.output_text or result.output_data.get("audio_base64")
    assert seed_multimodal() == 0
    assert len(service.list_requests(tenant_id=None, limit=500)) == 14


def test_outcomes_demo_has_fourteen_days_per_tenant_with_trends_and_failures():
    assert seed_outcomes() > 1000
    service = get_outcomes_service()
    now = datetime.now(UTC)
    for tenant in ("acme", "globex"):
        events = service.list_events(tenant_id=tenant, limit=1000)
        days = {(now - e.occurred_at).days for e in events}
        assert days == set(range(14))
        failures = service.dashboard(tenant_id=tenant).top_failure_modes
        assert len(failures) >= 3
    acme = service.compute_trend(tenant_id="acme", metric_type=MetricType.SUCCESS_RATE, window=120)
    globex = service.compute_trend(
        tenant_id="globex", metric_type=MetricType.SUCCESS_RATE, window=120
    )
    assert (acme.direction, globex.direction) == ("improving", "declining")
    assert service.count_events(tenant_id="") == 14
    for tenant in ("acme", "globex"):  # the demo experiment's page shows every variant
        report = get_experiment_service().report(tenant_id=tenant, key=EXPERIMENT_KEY)
        assert [[v.n > 0 for v in m.variants] for m in report.metrics] == [[True, True]] * 4
    assert seed_outcomes() == 0
