"""The Python SDK generated from our schema drives the real server, one realistic flow per app.

The client is generated offline with openapi-python-client (as `make sdk` does) from the
schema the code generates, imported from a temp folder, and pointed at pytest-django's
`live_server`. Every call goes through the generated client only; assertions read its
typed models (enum members, datetimes), never raw dicts.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from types import SimpleNamespace

import pytest

from agent33_site.security.tokens import issue_token

from .conftest import REPO_ROOT, reset_all_services

PACKAGE = "agent33_client"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
GENERATOR_CONFIG = REPO_ROOT / "tools" / "sdk-config.yml"  # the one `make sdk` uses

pytestmark = pytest.mark.usefixtures("transactional_db")


@pytest.fixture(scope="session")
def sdk(tmp_path_factory: pytest.TempPathFactory, generated_schema_text: str) -> SimpleNamespace:
    """The generated package, imported once per session: `sdk.models`, `sdk.call(tag, op)`."""
    folder = tmp_path_factory.mktemp("sdk")
    (folder / "schema.yml").write_text(generated_schema_text)
    completed = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(folder / "schema.yml"),
            "--config",
            str(GENERATOR_CONFIG),
            "--meta",
            "none",
            "--output-path",
            str(folder / PACKAGE),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    sys.path.insert(0, str(folder))
    try:
        modules = {
            name: importlib.import_module(f"{PACKAGE}.{name}")
            for name in ("client", "models", "types")
        }
    finally:
        sys.path.remove(str(folder))

    def call(tag: str, operation_id: str):
        return importlib.import_module(f"{PACKAGE}.api.{tag}.{operation_id}")

    return SimpleNamespace(call=call, **modules)


@pytest.fixture
def client_for(sdk, live_server):
    """`client_for(scopes, tenant=...)`: an AuthenticatedClient with a real signed token."""
    reset_all_services()

    def build(scopes: list[str], tenant: str = "", sub: str = "sdk-user"):
        token = issue_token(sub=sub, scopes=scopes, tenant_id=tenant)
        return sdk.client.AuthenticatedClient(
            base_url=live_server.url, token=token, raise_on_unexpected_status=True
        )

    yield build
    reset_all_services()


def test_outcomes_flow_records_events_and_reads_an_improving_trend_and_the_dashboard(
    sdk, client_for
):
    m = sdk.models
    client = client_for(["outcomes:read", "outcomes:write"], tenant="acme")
    create = sdk.call("outcomes", "outcomes_events_create")
    start = datetime.now(UTC) - timedelta(hours=4)
    for step, value in enumerate([0.2, 0.3, 0.8, 0.9]):
        body = m.OutcomeEventInputRequest(
            domain="support",
            event_type="ticket_resolved",
            metric_type=m.MetricType.SUCCESS_RATE,
            value=value,
            occurred_at=start + timedelta(hours=step),
        )
        response = create.sync_detailed(client=client, body=body)
        assert response.status_code == HTTPStatus.CREATED
        event = response.parsed
        assert isinstance(event, m.OutcomeEvent)
        assert event.id.startswith("outcome-")
        assert event.tenant_id == "acme"
        assert event.metric_type is m.MetricType.SUCCESS_RATE
        assert event.occurred_at == start + timedelta(hours=step)
        assert event.occurred_at.utcoffset() == timedelta(0)

    trend = sdk.call("outcomes", "outcomes_trends_retrieve").sync(
        m.MetricType.SUCCESS_RATE, client=client, domain="support", window=10
    )
    assert isinstance(trend, m.OutcomeTrend)
    assert trend.direction is m.TrendDirection.IMPROVING
    assert (trend.domain, trend.window, trend.sample_size) == ("support", 10, 4)
    assert trend.values == [0.2, 0.3, 0.8, 0.9]
    assert trend.previous_avg == pytest.approx(0.25)
    assert trend.current_avg == pytest.approx(0.85)

    dashboard = sdk.call("outcomes", "outcomes_dashboard_retrieve").sync(
        client=client, recent_limit=2
    )
    assert isinstance(dashboard, m.Dashboard)
    assert [t.metric_type for t in dashboard.trends] == [
        m.MetricType.SUCCESS_RATE,
        m.MetricType.QUALITY_SCORE,
        m.MetricType.LATENCY_MS,
        m.MetricType.COST_USD,
    ]
    assert dashboard.trends[0].direction is m.TrendDirection.IMPROVING
    assert dashboard.summary.total_events == 4
    assert dashboard.summary.domains == ["support"]
    assert [e.value for e in dashboard.recent_events] == [0.9, 0.8]
    assert all(isinstance(e.occurred_at, datetime) for e in dashboard.recent_events)


def test_multimodal_flow_creates_executes_reads_the_result_and_cannot_cancel_it(sdk, client_for):
    m = sdk.models
    client = client_for(["multimodal:read", "multimodal:write"], tenant="acme", sub="alice")
    body = m.MultimodalRequestCreateRequest(
        modality=m.Modality.TEXT_TO_SPEECH, input_text="Hello from the SDK.", execute_now=False
    )
    created = sdk.call("multimodal", "multimodal_requests_create").sync_detailed(
        client=client, body=body
    )
    assert created.status_code == HTTPStatus.CREATED
    request = created.parsed
    assert isinstance(request, m.MultimodalRequest)
    assert request.id.startswith("mmreq-")
    assert request.state is m.RequestState.PENDING
    assert request.modality is m.Modality.TEXT_TO_SPEECH
    assert request.requested_by == "alice"
    assert request.result_id == ""
    assert isinstance(request.created_at, datetime)

    executed = sdk.call("multimodal", "multimodal_requests_execute").sync(request.id, client=client)
    assert isinstance(executed, m.MultimodalRequest)
    assert executed.state is m.RequestState.COMPLETED
    assert executed.result_id.startswith("mmres-")
    assert executed.updated_at >= executed.created_at

    result = sdk.call("multimodal", "multimodal_requests_result").sync(request.id, client=client)
    assert isinstance(result, m.MultimodalResult)
    assert (result.id, result.request_id) == (executed.result_id, request.id)
    assert result.state is m.ResultState.COMPLETED
    assert result.completed_at >= result.started_at
    assert result.completed_at.utcoffset() == timedelta(0)

    cancelled = sdk.call("multimodal", "multimodal_requests_cancel").sync_detailed(
        request.id, client=client
    )
    assert cancelled.status_code == HTTPStatus.CONFLICT
    assert isinstance(cancelled.parsed, m.Error)
    assert cancelled.parsed.code == "invalid_transition"
    assert "completed" in cancelled.parsed.detail


def test_operations_flow_feeds_a_trace_and_a_budget_reads_the_hub_and_pauses_the_budget(
    sdk, client_for
):
    m = sdk.models
    client = client_for(
        ["workflows:read", "workflows:write", "workflows:execute"], tenant="acme", sub="ops"
    )
    trace = sdk.call("traces", "traces_create").sync(
        client=client,
        body=m.TraceCreateInputRequest(task_id="task-sdk", agent_id="agent-7", model="m-1"),
    )
    assert isinstance(trace, m.TraceOutput)
    assert trace.id.startswith("trace-")
    assert trace.status is m.TraceStatus.RUNNING

    budget = sdk.call("autonomy", "autonomy_budgets_create").sync(
        client=client, body=m.BudgetCreateInputRequest(task_id="task-sdk", agent_id="agent-7")
    )
    assert isinstance(budget, m.BudgetOutput)
    assert budget.id.startswith("budget-")
    assert budget.state is m.BudgetState.DRAFT
    budget = sdk.call("autonomy", "autonomy_budgets_transition").sync(
        budget.id,
        client=client,
        body=m.BudgetTransitionInputRequest(to_state=m.BudgetState.ACTIVE),
    )
    assert budget.state is m.BudgetState.ACTIVE

    hub = sdk.call("operations", "operations_hub_retrieve").sync(
        client=client, include="traces,budgets"
    )
    assert isinstance(hub, m.HubOutput)
    assert hub.timestamp.utcoffset() == timedelta(0)
    assert hub.active_count == 2
    assert {(p.id, p.type_, p.status) for p in hub.processes} == {
        (trace.id, m.ProcessType.TRACE, "running"),
        (budget.id, m.ProcessType.AUTONOMY_BUDGET, "active"),
    }
    assert hub.counts[m.ProcessType.TRACE.value] == 1
    assert all(isinstance(p.started_at, datetime) for p in hub.processes)

    control = sdk.call("operations", "operations_processes_control")
    paused = control.sync(
        budget.id,
        client=client,
        body=m.ControlInputRequest(action=m.ControlAction.PAUSE, reason="cost review"),
    )
    assert isinstance(paused, m.ProcessDetailOutput)
    assert paused.type_ is m.ProcessType.AUTONOMY_BUDGET
    assert paused.status == "suspended"
    assert m.ControlAction.RESUME in paused.controls
    assert paused.control_history[-1].action is m.ControlAction.PAUSE
    assert paused.control_history[-1].actor == "ops"

    resumed = control.sync(
        budget.id, client=client, body=m.ControlInputRequest(action=m.ControlAction.RESUME)
    )
    assert resumed.status == "active"
    assert [r.action for r in resumed.control_history] == [
        m.ControlAction.PAUSE,
        m.ControlAction.RESUME,
    ]
    budget = sdk.call("autonomy", "autonomy_budgets_retrieve").sync(budget.id, client=client)
    assert budget.state is m.BudgetState.ACTIVE

    refused = control.sync_detailed(
        trace.id, client=client, body=m.ControlInputRequest(action=m.ControlAction.PAUSE)
    )
    assert refused.status_code == HTTPStatus.CONFLICT
    assert refused.parsed.code == "unsupported_action"


def test_experiment_flow_creates_assigns_records_events_and_reads_the_report(sdk, client_for):
    m = sdk.models
    client = client_for(["outcomes:read", "outcomes:write"], tenant="acme")
    created = sdk.call("outcomes", "outcomes_experiments_create").sync_detailed(
        client=client,
        body=m.ExperimentInputRequest(
            key="prompt-pack-v2",
            variants=[
                m.ExperimentVariantInputRequest(name="v1", weight=1.0),
                m.ExperimentVariantInputRequest(name="v2", weight=1.0),
            ],
            metric_types=[m.MetricType.LATENCY_MS],
            description="Does the v2 prompt pack answer faster?",
        ),
    )
    assert created.status_code == HTTPStatus.CREATED
    experiment = created.parsed
    assert isinstance(experiment, m.Experiment)
    assert [v.name for v in experiment.variants] == ["v1", "v2"]
    assert experiment.metric_types == [m.MetricType.LATENCY_MS]

    assign = sdk.call("outcomes", "outcomes_experiments_assign")
    variants: dict[str, list[str]] = {"v1": [], "v2": []}
    subject = 0
    while min(len(group) for group in variants.values()) < 30:
        response = assign.sync_detailed(
            "prompt-pack-v2", client=client, body=m.AssignmentInputRequest(subject_id=f"u{subject}")
        )
        assert response.status_code == HTTPStatus.CREATED
        assert isinstance(response.parsed, m.Assignment)
        variants[response.parsed.variant].append(response.parsed.subject_id)
        subject += 1
    again = assign.sync_detailed(
        "prompt-pack-v2", client=client, body=m.AssignmentInputRequest(subject_id="u0")
    )
    assert again.status_code == HTTPStatus.OK
    read = sdk.call("outcomes", "outcomes_experiments_assignment_retrieve").sync(
        "prompt-pack-v2", "u0", client=client
    )
    assert read.variant == again.parsed.variant

    record = sdk.call("outcomes", "outcomes_events_create")
    for name, latency in (("v1", 300.0), ("v2", 200.0)):
        for index, subject_id in enumerate(variants[name][:30]):
            metadata = m.OutcomeEventInputRequestMetadata.from_dict(
                {"experiment": "prompt-pack-v2", "subject_id": subject_id, "variant": "v1"}
            )
            event = record.sync(
                client=client,
                body=m.OutcomeEventInputRequest(
                    domain="support",
                    event_type="answer",
                    metric_type=m.MetricType.LATENCY_MS,
                    value=latency + index % 5,
                    metadata=metadata,
                ),
            )
            assert isinstance(event, m.OutcomeEvent)

    report = sdk.call("outcomes", "outcomes_experiments_report_retrieve").sync(
        "prompt-pack-v2", client=client
    )
    assert isinstance(report, m.ExperimentReport)
    (latency,) = report.metrics
    assert latency.metric_type is m.MetricType.LATENCY_MS
    assert [(v.variant, v.n) for v in latency.variants] == [("v1", 30), ("v2", 30)]
    assert latency.variants[0].mean == pytest.approx(302.0)
    (comparison,) = latency.comparisons
    assert (comparison.variant, comparison.against) == ("v2", "v1")
    assert comparison.difference == pytest.approx(-100.0)
    assert comparison.p_value < 0.05
    assert comparison.verdict is m.ExperimentVerdict.BETTER
