"""Thin DRF viewsets of the outcomes API: parse, call `OutcomesService`, return its models.

The project's renderer writes the service's pydantic models; the output serializers only
describe that JSON for the schema (a test holds the two together).

Each viewset declares the scope of each action in `scope_map` (read by the project's
permission class). The kit's tenant rule decides whose events a call sees: a tenant
reads and writes only its own; an operator reads every tenant, or one with `?tenant_id=`.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from agent33_core.fields import TenantQuerySerializer
from agent33_core.views import KitViewSet

from .domain import MetricType
from .experiments import get_experiment_service, is_key, is_subject
from .experiments_store import ExperimentNotFound
from .serializers import (
    IDEMPOTENCY_HEADER,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    AssignmentInputSerializer,
    AssignmentSerializer,
    DashboardQuerySerializer,
    DashboardSerializer,
    EventListQuerySerializer,
    ExperimentInputSerializer,
    ExperimentListQuerySerializer,
    ExperimentReadQuerySerializer,
    ExperimentReportQuerySerializer,
    ExperimentReportSerializer,
    ExperimentSerializer,
    IdempotencyKeySerializer,
    OutcomeEventInputSerializer,
    OutcomeEventSerializer,
    OutcomeHealthSerializer,
    OutcomeTrendSerializer,
    RoiInputSerializer,
    RoiReportSerializer,
    TrendPathSerializer,
    TrendQuerySerializer,
)
from .services import get_outcomes_service

READ = "outcomes:read"
WRITE = "outcomes:write"
TAGS = ["outcomes"]
IDEMPOTENCY_META_KEY = "HTTP_" + IDEMPOTENCY_HEADER.upper().replace("-", "_")

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    name=IDEMPOTENCY_HEADER,
    location=OpenApiParameter.HEADER,
    required=False,
    type={"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH},
    description="Retrying with the same key (same tenant, within 24 h) returns the first "
    "event with 200 instead of recording it again. A key is never forgotten before 24 h; "
    "a tenant holding OUTCOMES_MAX_IDEMPOTENCY_KEYS (10,000) live keys gets a 429 "
    "`quota_exceeded` for a new one. An empty header is a 400.",
)


class OutcomeEventViewSet(KitViewSet):
    """`/v1/outcomes/events`: record an event, list events."""

    scope_map = {"list": READ, "create": WRITE}

    @extend_schema(
        operation_id="outcomes_events_create",
        tags=TAGS,
        summary="Record an outcome event",
        description="Stamped with the caller's tenant. `value` must be a JSON number of at "
        "most 1e15 in magnitude (no NaN or Infinity), `metadata` a JSON object of at most "
        "16 KiB serialized, `occurred_at` at most 5 minutes in the future. With an "
        "`Idempotency-Key`, a retry (same tenant, within 24 h) returns the first event with "
        "200 instead of recording it twice.",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=OutcomeEventInputSerializer,
        responses={
            201: OutcomeEventSerializer,
            200: OpenApiResponse(
                OutcomeEventSerializer, description="A retry: the event first recorded."
            ),
            429: OpenApiResponse(
                description="`quota_exceeded`: a new Idempotency-Key while the tenant holds "
                "OUTCOMES_MAX_IDEMPOTENCY_KEYS live keys, or no room in the tenant's byte "
                "budget that evicting events could make."
            ),
        },
    )
    def create(self, request: Request) -> Response:
        data = self.body(OutcomeEventInputSerializer)
        # From META: `request.headers` would build a dict of every header for this one.
        key = request.META.get(IDEMPOTENCY_META_KEY)
        if key is not None:
            key = self.validated(IdempotencyKeySerializer, {IDEMPOTENCY_HEADER: key})[
                IDEMPOTENCY_HEADER
            ]
        recorded = get_outcomes_service().record_event(
            tenant_id=self.writing_tenant(),
            domain=data["domain"],
            event_type=data["event_type"],
            metric_type=MetricType(data["metric_type"]),
            value=data["value"],
            occurred_at=data.get("occurred_at"),
            metadata=data.get("metadata"),
            idempotency_key=key,
        )
        return Response(
            recorded.event,
            status=status.HTTP_201_CREATED if recorded.created else status.HTTP_200_OK,
        )

    @extend_schema(
        operation_id="outcomes_events_list",
        tags=TAGS,
        summary="List outcome events, newest occurred_at first",
        description="Every filter narrows the list; `since`/`until` bound occurred_at "
        "(inclusive). `limit` 1-1000, default 50.",
        parameters=[EventListQuerySerializer],
        responses=OutcomeEventSerializer(many=True),
    )
    def list(self, request: Request) -> Response:
        query = self.query(EventListQuerySerializer)
        metric = query.get("metric_type")
        events = get_outcomes_service().list_events(
            tenant_id=self.reading_tenant(query),
            domain=query.get("domain"),
            event_type=query.get("event_type"),
            metric_type=MetricType(metric) if metric else None,
            since=query.get("since"),
            until=query.get("until"),
            limit=query["limit"],
        )
        return Response(events)


class OutcomeTrendViewSet(KitViewSet):
    """`/v1/outcomes/trends/{metric_type}`: the trend direction of one metric."""

    scope_map = {"retrieve": READ}
    lookup_field = "metric_type"
    lookup_value_regex = "[^/]+"  # any text reaches the view, so an unknown metric is a 400

    @extend_schema(
        operation_id="outcomes_trends_retrieve",
        tags=TAGS,
        summary="Trend direction of a metric over its last `window` values",
        description="The last `window` values by occurred_at, split at len // 2 into previous "
        "and current. delta = current_avg - previous_avg, negated for latency_ms and cost_usd; "
        "ratio = delta / (|previous_avg| or 1). Above 0.05 is improving, below -0.05 "
        "declining, else stable; fewer than 2 values is stable.",
        parameters=[
            OpenApiParameter(
                "metric_type",
                location=OpenApiParameter.PATH,
                enum=[m.value for m in MetricType],
                description="Unknown metric types are a 400.",
            ),
            TrendQuerySerializer,
        ],
        responses=OutcomeTrendSerializer,
    )
    def retrieve(self, request: Request, metric_type: str) -> Response:
        metric = self.validated(TrendPathSerializer, {"metric_type": metric_type})["metric_type"]
        query = self.query(TrendQuerySerializer)
        trend = get_outcomes_service().compute_trend(
            tenant_id=self.reading_tenant(query),
            metric_type=MetricType(metric),
            domain=query.get("domain"),
            window=query["window"],
        )
        return Response(trend)


class OutcomeInsightViewSet(KitViewSet):
    """`/v1/outcomes/dashboard`, `/v1/outcomes/roi` and the public `/v1/outcomes/health`."""

    scope_map = {"dashboard": READ, "roi": READ}

    @extend_schema(
        operation_id="outcomes_dashboard_retrieve",
        tags=TAGS,
        summary="Trends, recent events, summary, week-over-week and top failure modes",
        description="Trends of success_rate, quality_score, latency_ms and cost_usd (in that "
        "order); the newest `recent_limit` events; counts; averages of the last 7 days against "
        "the 7 before; failure_class events grouped by `metadata.failure_class`.",
        parameters=[DashboardQuerySerializer],
        responses=DashboardSerializer,
    )
    @action(detail=False, methods=["get"])
    def dashboard(self, request: Request) -> Response:
        query = self.query(DashboardQuerySerializer)
        dashboard = get_outcomes_service().dashboard(
            tenant_id=self.reading_tenant(query),
            domain=query.get("domain"),
            window=query["window"],
            recent_limit=query["recent_limit"],
        )
        return Response(dashboard)

    @extend_schema(
        operation_id="outcomes_roi_create",
        tags=TAGS,
        summary="Return on investment of a domain over the last `window_days`",
        description="Each success_rate event of the domain in the window is one invocation, "
        "a success when its value is at least 1.0. Hours saved = successes x "
        "hours_saved_per_success; value = hours saved x cost_per_hour_usd.",
        parameters=[TenantQuerySerializer],
        request=RoiInputSerializer,
        responses={200: RoiReportSerializer},
    )
    @action(detail=False, methods=["post"])
    def roi(self, request: Request) -> Response:
        query = self.query(TenantQuerySerializer)
        data = self.body(RoiInputSerializer)
        report = get_outcomes_service().compute_roi(
            tenant_id=self.reading_tenant(query),
            domain=data["domain"],
            hours_saved_per_success=data["hours_saved_per_success"],
            cost_per_hour_usd=data["cost_per_hour_usd"],
            window_days=data["window_days"],
        )
        return Response(report)

    @extend_schema(
        operation_id="outcomes_health_retrieve",
        tags=TAGS,
        summary="Whether outcome events are still arriving (public)",
        description="`ok` when any tenant's event occurred in the last 24 h; otherwise `stale` "
        "with the hours since the latest event (null when there has never been one).",
        auth=[],
        responses=OutcomeHealthSerializer,
    )
    @action(
        detail=False,
        methods=["get"],
        authentication_classes=[],
        permission_classes=[permissions.AllowAny],
    )
    def health(self, request: Request) -> Response:
        return Response(get_outcomes_service().health())


KEY_PARAMETER = OpenApiParameter(
    "key",
    location=OpenApiParameter.PATH,
    type={"type": "string", "minLength": 1, "maxLength": 200},
    description="The experiment's key (unknown, malformed or another tenant's: 404).",
)
SUBJECT_PARAMETER = OpenApiParameter(
    "subject_id",
    location=OpenApiParameter.PATH,
    type={"type": "string", "minLength": 1, "maxLength": 200},
    description="The subject (no assignment yet, or malformed: 404).",
)
_NO_EXPERIMENT = "No such experiment."


class ExperimentViewSet(KitViewSet):
    """`/v1/outcomes/experiments`: experiments, sticky assignments, the report (contract §8).

    A key names an experiment within a tenant: a tenant reaches only its own; an operator
    lists every tenant's and reaches one tenant's keys with `?tenant_id=` (default its own).
    """

    scope_map = {
        "list": READ,
        "create": WRITE,
        "retrieve": READ,
        "assign": WRITE,
        "assignment": READ,
        "report": READ,
    }
    lookup_field = "key"
    lookup_value_regex = "[^/]+"  # any text reaches the view; a malformed key is a 404

    def _keyed_tenant(
        self, serializer_class: type = ExperimentReadQuerySerializer
    ) -> tuple[str, dict[str, Any]]:
        """The tenant whose key a read names (an operator's own "" unless it narrows)."""
        query = self.query(serializer_class)
        return self.reading_tenant(query) or "", query

    @staticmethod
    def _checked_key(key: str) -> str:
        if not is_key(key):
            raise ExperimentNotFound(_NO_EXPERIMENT)
        return key

    @extend_schema(
        operation_id="outcomes_experiments_create",
        tags=TAGS,
        summary="Create an experiment",
        description="Stamped with the caller's tenant. 2-10 variants with distinct names and "
        "weights > 0 (the first is the control); `metric_types` the numeric metrics it "
        "compares (default all four). A key the tenant already has is a 409 "
        "`already_exists`; past OUTCOMES_MAX_EXPERIMENTS_PER_TENANT or the tenant's "
        "experiment byte budget a 429.",
        request=ExperimentInputSerializer,
        responses={
            201: ExperimentSerializer,
            409: OpenApiResponse(
                description="`already_exists`: the tenant has an experiment with this key."
            ),
            429: OpenApiResponse(
                description="`quota_exceeded`: the tenant holds its cap of experiments, or its "
                "experiment byte budget is full."
            ),
        },
    )
    def create(self, request: Request) -> Response:
        data = self.body(ExperimentInputSerializer)
        experiment = get_experiment_service().create_experiment(
            tenant_id=self.writing_tenant(),
            key=data["key"],
            variants=[(variant["name"], variant["weight"]) for variant in data["variants"]],
            metric_types=[MetricType(m) for m in data.get("metric_types") or ()],
            description=data["description"],
        )
        return Response(experiment, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="outcomes_experiments_list",
        tags=TAGS,
        summary="List experiments, newest first",
        description="`limit` 1-1000, default 50. Operators see every tenant's, or one "
        "tenant's with `tenant_id`.",
        parameters=[ExperimentListQuerySerializer],
        responses=ExperimentSerializer(many=True),
    )
    def list(self, request: Request) -> Response:
        query = self.query(ExperimentListQuerySerializer)
        experiments = get_experiment_service().list_experiments(
            tenant_id=self.reading_tenant(query), limit=query["limit"]
        )
        return Response(experiments)

    @extend_schema(
        operation_id="outcomes_experiments_retrieve",
        tags=TAGS,
        summary="One experiment",
        parameters=[KEY_PARAMETER, ExperimentReadQuerySerializer],
        responses=ExperimentSerializer,
    )
    def retrieve(self, request: Request, key: str) -> Response:
        tenant, _ = self._keyed_tenant()
        experiment = get_experiment_service().get_experiment(
            tenant_id=tenant, key=self._checked_key(key)
        )
        return Response(experiment)

    @extend_schema(
        operation_id="outcomes_experiments_assign",
        tags=TAGS,
        summary="Assign a subject to a variant (sticky)",
        description="Deterministic: sha256 of the key and the subject against the cumulative "
        "weights. The first call stores the assignment (201); every later call, from any "
        "process, returns the same body (200). Past OUTCOMES_MAX_ASSIGNMENTS_PER_EXPERIMENT "
        "or the tenant's experiment byte budget, a new subject is a 429.",
        parameters=[KEY_PARAMETER],
        request=AssignmentInputSerializer,
        responses={
            201: AssignmentSerializer,
            200: OpenApiResponse(AssignmentSerializer, description="Already assigned."),
            429: OpenApiResponse(
                description="`quota_exceeded`: the experiment holds its cap of assignments, "
                "or the tenant's experiment byte budget is full."
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="assignments")
    def assign(self, request: Request, key: str) -> Response:
        data = self.body(AssignmentInputSerializer)
        assignment, created = get_experiment_service().assign(
            tenant_id=self.writing_tenant(),
            key=self._checked_key(key),
            subject_id=data["subject_id"],
        )
        return Response(
            assignment, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(
        operation_id="outcomes_experiments_assignment_retrieve",
        tags=TAGS,
        summary="A subject's assignment",
        parameters=[KEY_PARAMETER, SUBJECT_PARAMETER, ExperimentReadQuerySerializer],
        responses=AssignmentSerializer,
    )
    @action(detail=True, methods=["get"], url_path=r"assignments/(?P<subject_id>[^/]+)")
    def assignment(self, request: Request, key: str, subject_id: str) -> Response:
        tenant, _ = self._keyed_tenant()
        key = self._checked_key(key)
        if not is_subject(subject_id):
            raise ExperimentNotFound("This subject has no assignment in this experiment.")
        found = get_experiment_service().get_assignment(
            tenant_id=tenant, key=key, subject_id=subject_id
        )
        return Response(found)

    @extend_schema(
        operation_id="outcomes_experiments_report_retrieve",
        tags=TAGS,
        summary="Compare the variants: per metric, stats and Welch's t-test against the control",
        description="Observations are the values of events that joined the experiment "
        "(`metadata.experiment` = key, `metadata.subject_id`), each counted for the "
        "subject's stored variant, with occurred_at within `since`..`until` (inclusive). "
        "Per variant n, mean, sample stddev and a 95 % t-interval; each non-first variant "
        "against the first: difference, relative lift, Welch's p-value and a verdict "
        "(better/worse when p < 0.05 and both n >= 30, lower is better for latency_ms and "
        "cost_usd; else inconclusive).",
        parameters=[KEY_PARAMETER, ExperimentReportQuerySerializer],
        responses=ExperimentReportSerializer,
    )
    @action(detail=True, methods=["get"])
    def report(self, request: Request, key: str) -> Response:
        tenant, query = self._keyed_tenant(ExperimentReportQuerySerializer)
        report = get_experiment_service().report(
            tenant_id=tenant,
            key=self._checked_key(key),
            since=query.get("since"),
            until=query.get("until"),
        )
        return Response(report)
