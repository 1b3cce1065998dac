"""The outcomes contract (§3): metric and direction enums, the event and report models,
and the trend rule as a pure function.

Nothing here holds state or knows about HTTP; `services.py` calls `evaluate_trend` with
the values it read from its store.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

ID_PREFIX = "outcome"  # ids are `agent33_core.clock.new_id(ID_PREFIX)`
DOMAIN_ALL = "all"  # the `domain` a trend reports when it covers every domain
UNKNOWN_FAILURE_CLASS = "unknown"
TREND_THRESHOLD = 0.05  # a change of more than 5 % of the previous average is a direction
SUCCESS_THRESHOLD = 1.0  # a `success_rate` event at or above this is one success


class MetricType(StrEnum):
    SUCCESS_RATE = "success_rate"
    QUALITY_SCORE = "quality_score"
    LATENCY_MS = "latency_ms"
    COST_USD = "cost_usd"
    FAILURE_CLASS = "failure_class"


class TrendDirection(StrEnum):
    IMPROVING = "improving"
    STABLE = "stable"
    DECLINING = "declining"


# |value| of an event at most this: sums over any retention stay finite and exact enough.
VALUE_LIMIT = 1e15

# The dashboard's trends and week-over-week rows, in this order.
NUMERIC_METRICS: tuple[MetricType, ...] = (
    MetricType.SUCCESS_RATE,
    MetricType.QUALITY_SCORE,
    MetricType.LATENCY_MS,
    MetricType.COST_USD,
)

# For these a falling value is an improvement.
LOWER_IS_BETTER: frozenset[MetricType] = frozenset({MetricType.LATENCY_MS, MetricType.COST_USD})


def saturate(number: float) -> float:
    """`number` clamped into the finite floats, since JSON has no Infinity.

    Finite inputs can still overflow: a change relative to a tiny previous average, or
    ROI rates multiplied together. NaN cannot come from bounded inputs; 0 stands in for it.
    """
    if math.isfinite(number):
        return number
    return 0.0 if math.isnan(number) else math.copysign(sys.float_info.max, number)


# A computed figure in a report: always a finite number.
Figure = Annotated[float, AfterValidator(saturate)]


class OutcomeEvent(BaseModel):
    """One recorded outcome: a metric value of a domain at a moment, owned by a tenant."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    domain: str = Field(min_length=1, max_length=200)
    event_type: str = Field(min_length=1, max_length=200)
    metric_type: MetricType
    value: float = Field(allow_inf_nan=False, ge=-VALUE_LIMIT, le=VALUE_LIMIT)
    occurred_at: datetime
    metadata: dict[str, Any] = Field(default_factory=dict)


def failure_class_of(event: OutcomeEvent) -> str:
    """The mode of a failure_class event: `metadata.failure_class`, or unknown if none.

    Missing, empty and non-string values all count as unknown.
    """
    name = event.metadata.get("failure_class")
    return name if isinstance(name, str) and name else UNKNOWN_FAILURE_CLASS


class OutcomeTrend(BaseModel):
    metric_type: MetricType
    domain: str
    window: int
    direction: TrendDirection
    sample_size: int
    values: list[float]
    previous_avg: Figure
    current_avg: Figure


def _mean(values: Sequence[float]) -> float:
    # fsum is exact before its one rounding: a 1e15 next to 0.1 cannot swallow it.
    return math.fsum(values) / len(values) if values else 0.0


def evaluate_trend(
    *, metric_type: MetricType, values: Sequence[float], window: int, domain: str = DOMAIN_ALL
) -> OutcomeTrend:
    """The contract's trend rule over `values` ordered by occurred_at (oldest first).

    Keep the last `window` values; split at len // 2 into previous and current; the
    change of the averages (negated when lower is better), relative to the previous
    average (or 1.0 when that is 0), decides the direction beyond +/- 5 %.
    """
    kept = list(values[-window:]) if window > 0 else []
    if len(kept) < 2:
        single = kept[0] if kept else 0.0
        return OutcomeTrend(
            metric_type=metric_type,
            domain=domain,
            window=window,
            direction=TrendDirection.STABLE,
            sample_size=len(kept),
            values=kept,
            previous_avg=single,
            current_avg=single,
        )
    middle = len(kept) // 2
    previous_avg, current_avg = _mean(kept[:middle]), _mean(kept[middle:])
    delta = current_avg - previous_avg
    if metric_type in LOWER_IS_BETTER:
        delta = -delta
    ratio = delta / (abs(previous_avg) or 1.0)
    if ratio > TREND_THRESHOLD:
        direction = TrendDirection.IMPROVING
    elif ratio < -TREND_THRESHOLD:
        direction = TrendDirection.DECLINING
    else:
        direction = TrendDirection.STABLE
    return OutcomeTrend(
        metric_type=metric_type,
        domain=domain,
        window=window,
        direction=direction,
        sample_size=len(kept),
        values=kept,
        previous_avg=previous_avg,
        current_avg=current_avg,
    )


class WeekOverWeek(BaseModel):
    metric_type: MetricType
    current_week_avg: Figure
    previous_week_avg: Figure
    pct_change: Figure


def week_over_week(
    *, metric_type: MetricType, current_avg: float, previous_avg: float
) -> WeekOverWeek:
    """pct_change = (current - previous) / |previous| * 100, and 0 when previous is 0."""
    pct = (current_avg - previous_avg) / abs(previous_avg) * 100 if previous_avg else 0.0
    return WeekOverWeek(
        metric_type=metric_type,
        current_week_avg=current_avg,
        previous_week_avg=previous_avg,
        pct_change=pct,
    )


class FailureMode(BaseModel):
    failure_class: str
    count: int


class OutcomeSummary(BaseModel):
    total_events: int
    domains: list[str]
    event_types: list[str]
    metric_counts: dict[str, int]  # a key for every MetricType


class Dashboard(BaseModel):
    trends: list[OutcomeTrend]
    recent_events: list[OutcomeEvent]
    summary: OutcomeSummary
    week_over_week: list[WeekOverWeek]
    top_failure_modes: list[FailureMode]


class RoiReport(BaseModel):
    total_invocations: int
    success_count: int
    failure_count: int
    estimated_hours_saved: Figure
    estimated_value_usd: Figure
    success_rate: Figure
    avg_latency_ms: Figure


def roi_report(
    *,
    total_invocations: int,
    success_count: int,
    avg_latency_ms: float,
    hours_saved_per_success: float,
    cost_per_hour_usd: float,
) -> RoiReport:
    hours_saved = success_count * hours_saved_per_success
    return RoiReport(
        total_invocations=total_invocations,
        success_count=success_count,
        failure_count=total_invocations - success_count,
        estimated_hours_saved=hours_saved,
        estimated_value_usd=hours_saved * cost_per_hour_usd,
        success_rate=success_count / total_invocations if total_invocations else 0.0,
        avg_latency_ms=avg_latency_ms,
    )


class HealthStatus(BaseModel):
    status: Literal["ok", "stale"]
    hours_since_last_event: float | None = None  # None: stale with no event at all

    @model_serializer(mode="wrap")
    def _ok_is_only_the_status(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        if self.status == "ok":
            data.pop("hours_since_last_event", None)
        return data


# --- experiments (contract §8) ------------------------------------------------------------


class Verdict(StrEnum):
    """How a variant compares with the control, direction-aware (lower latency/cost is better)."""

    BETTER = "better"
    WORSE = "worse"
    INCONCLUSIVE = "inconclusive"


# A verdict needs p below this and at least this many samples on each side.
SIGNIFICANCE_LEVEL = 0.05
MIN_SAMPLES_FOR_VERDICT = 30
CONFIDENCE = 0.95


class ExperimentVariant(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    weight: float


class Experiment(BaseModel):
    """An A/B(/n) experiment of a tenant: variants with weights, the metrics it compares."""

    model_config = ConfigDict(frozen=True)

    key: str
    tenant_id: str
    variants: list[ExperimentVariant]
    metric_types: list[MetricType]
    description: str = ""
    created_at: datetime


class Assignment(BaseModel):
    """The variant a subject was assigned in an experiment (sticky: it never changes)."""

    experiment: str
    subject_id: str
    variant: str


class VariantStats(BaseModel):
    """One variant's sample of one metric: mean, sample stddev and 95 % t-interval."""

    variant: str
    n: int
    mean: Figure | None  # None: no sample
    stddev: Figure | None  # None: fewer than 2 samples
    ci95_low: Figure | None
    ci95_high: Figure | None


class VariantComparison(BaseModel):
    """A variant against the control: Welch's t-test and a direction-aware verdict."""

    variant: str
    against: str
    difference: Figure | None  # mean(variant) - mean(control); None when either has no sample
    relative_lift: Figure | None  # difference / |mean(control)|; None when that mean is 0
    p_value: Figure | None  # None when the test cannot be computed
    verdict: Verdict


class MetricReport(BaseModel):
    metric_type: MetricType
    variants: list[VariantStats]
    comparisons: list[VariantComparison]


class ExperimentReport(BaseModel):
    experiment: str
    since: datetime | None
    until: datetime | None
    metrics: list[MetricReport]
