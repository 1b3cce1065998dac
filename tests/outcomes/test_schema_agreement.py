"""The OpenAPI description of the outcomes API matches what the views return."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.renderers import JSONRenderer

from agent33_core.renderers import PydanticJSONRenderer
from outcomes import serializers
from outcomes.domain import MetricType, OutcomeEvent
from outcomes.experiments import ExperimentService
from outcomes.experiments_store import MemoryExperimentStore
from outcomes.services import OutcomesService

NOW = datetime(2026, 6, 15, 12, 30, 15, 123456, tzinfo=UTC)

OPERATIONS = {
    ("/v1/outcomes/events/", "post"): "outcomes_events_create",
    ("/v1/outcomes/events/", "get"): "outcomes_events_list",
    ("/v1/outcomes/trends/{metric_type}/", "get"): "outcomes_trends_retrieve",
    ("/v1/outcomes/dashboard/", "get"): "outcomes_dashboard_retrieve",
    ("/v1/outcomes/roi/", "post"): "outcomes_roi_create",
    ("/v1/outcomes/health/", "get"): "outcomes_health_retrieve",
    ("/v1/outcomes/experiments/", "post"): "outcomes_experiments_create",
    ("/v1/outcomes/experiments/", "get"): "outcomes_experiments_list",
    ("/v1/outcomes/experiments/{key}/", "get"): "outcomes_experiments_retrieve",
    ("/v1/outcomes/experiments/{key}/assignments/", "post"): "outcomes_experiments_assign",
    (
        "/v1/outcomes/experiments/{key}/assignments/{subject_id}/",
        "get",
    ): "outcomes_experiments_assignment_retrieve",
    ("/v1/outcomes/experiments/{key}/report/", "get"): "outcomes_experiments_report_retrieve",
}


@pytest.fixture(scope="module")
def openapi() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_every_outcomes_operation_has_its_id_and_tag(openapi):
    found = {
        (path, method): operation["operationId"]
        for path, item in openapi["paths"].items()
        if path.startswith("/v1/outcomes/")
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert found == OPERATIONS
    for path, method in OPERATIONS:
        assert openapi["paths"][path][method]["tags"] == ["outcomes"]


def test_health_is_documented_as_public(openapi):
    operation = openapi["paths"]["/v1/outcomes/health/"]["get"]
    assert not any(operation.get("security", []))


def test_metric_type_and_direction_are_named_enum_components(openapi):
    schemas = openapi["components"]["schemas"]
    assert sorted(schemas["MetricType"]["enum"]) == sorted(m.value for m in MetricType)
    assert sorted(schemas["TrendDirection"]["enum"]) == ["declining", "improving", "stable"]
    assert sorted(schemas["ExperimentVerdict"]["enum"]) == ["better", "inconclusive", "worse"]


def test_experiment_conflicts_and_caps_are_documented(openapi):
    create = openapi["paths"]["/v1/outcomes/experiments/"]["post"]["responses"]
    assert "already_exists" in create["409"]["description"]
    assert "quota_exceeded" in create["429"]["description"]
    assign = openapi["paths"]["/v1/outcomes/experiments/{key}/assignments/"]["post"]
    assert {"200", "201", "404", "429"} <= set(assign["responses"])


@pytest.fixture
def service() -> OutcomesService:
    service = OutcomesService(clock=lambda: NOW)
    for hours, metric, value, metadata in [
        (1, MetricType.SUCCESS_RATE, 1.0, {"run": 1}),
        (2, MetricType.LATENCY_MS, 120.5, {}),
        (50, MetricType.FAILURE_CLASS, 1.0, {"failure_class": "timeout"}),
        (200, MetricType.COST_USD, 0.25, {"nested": {"list": [1, "two"]}}),
    ]:
        service.record_event(
            tenant_id="t",
            domain="support",
            event_type="run",
            metric_type=metric,
            value=value,
            occurred_at=NOW - timedelta(hours=hours),
            metadata=metadata,
        )
    return service


def test_responses_are_exactly_what_the_output_serializers_describe(service):
    cases = [
        (serializers.OutcomeEventSerializer, service.list_events(tenant_id="t")[0]),
        (
            serializers.OutcomeTrendSerializer,
            service.compute_trend(tenant_id="t", metric_type=MetricType.SUCCESS_RATE),
        ),
        (serializers.DashboardSerializer, service.dashboard(tenant_id="t")),
        (
            serializers.RoiReportSerializer,
            service.compute_roi(
                tenant_id="t", domain="support", hours_saved_per_success=1, cost_per_hour_usd=2
            ),
        ),
        (serializers.OutcomeHealthSerializer, service.health()),
        (serializers.OutcomeHealthSerializer, OutcomesService().health()),
        *experiment_cases(),
    ]
    renderer = PydanticJSONRenderer()
    for serializer_class, model in cases:
        as_served = json.loads(renderer.render(model))
        described = json.loads(JSONRenderer().render(serializer_class(model).data))
        assert described == as_served, serializer_class.__name__


def experiment_cases() -> list[tuple[type, object]]:
    """Each experiment answer: an empty report (nulls), a full one, n = 1, assignments."""
    experiments = ExperimentService(store=MemoryExperimentStore(), clock=lambda: NOW)
    experiment = experiments.create_experiment(
        tenant_id="t",
        key="pack-v2",
        variants=[("control", 1.0), ("treatment", 2.5)],
        metric_types=[MetricType.COST_USD, MetricType.LATENCY_MS],
        description="two packs",
    )
    empty = experiments.report(tenant_id="t", key="pack-v2")
    for index in range(40):
        for metric, value in ((MetricType.COST_USD, 0.1 * index), (MetricType.LATENCY_MS, 1.0)):
            experiments.observe(
                OutcomeEvent(
                    id=f"outcome-{index:012x}",
                    tenant_id="t",
                    domain="d",
                    event_type="e",
                    metric_type=metric,
                    value=value,
                    occurred_at=NOW - timedelta(minutes=index),
                    metadata={"experiment": "pack-v2", "subject_id": f"s{index}"},
                )
            )
    full = experiments.report(tenant_id="t", key="pack-v2", since=NOW - timedelta(days=1))
    assignment, _ = experiments.assign(tenant_id="t", key="pack-v2", subject_id="s1")
    return [
        (serializers.ExperimentSerializer, experiment),
        (serializers.ExperimentReportSerializer, empty),
        (serializers.ExperimentReportSerializer, full),
        (serializers.AssignmentSerializer, assignment),
    ]
