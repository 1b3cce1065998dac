"""What the outcomes API reads and writes: input, query and output serializers.

Input and query serializers are built from `agent33_core.fields` (contract §1): text is a
JSON string kept exactly as sent, enums name the allowed values without echoing input,
integers are integers (ASCII digits in a query), `metadata` is at most 16 KiB of JSON;
anything else is a 400 with field errors.
Output serializers describe the JSON the views return (the domain models dumped by
pydantic) and drive the OpenAPI schema; `tests/outcomes` checks they agree.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers

from agent33_core.fields import (
    FiniteFloatField,
    JSONObjectField,
    QueryIntegerField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    TenantQuerySerializer,
    UTCDateTimeField,
)

from .domain import NUMERIC_METRICS, VALUE_LIMIT, MetricType, TrendDirection, Verdict
from .experiments import KEY_MAX_LENGTH, KEY_PATTERN, SUBJECT_PATTERN

TEXT_MAX_LENGTH = 200
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = 255
ROI_MAX_WINDOW_DAYS = 3650
# Far above any real rate, and small enough that the ROI products stay finite.
ROI_MAX_RATE = 1_000_000


def _text_field(**kwargs: Any) -> StrictCharField:
    return StrictCharField(min_length=1, max_length=TEXT_MAX_LENGTH, **kwargs)


def _metric_field(**kwargs: Any) -> StrictChoiceField:
    return StrictChoiceField(choices=[m.value for m in MetricType], **kwargs)


# --- input ------------------------------------------------------------------------------


class OutcomeEventInputSerializer(serializers.Serializer):
    domain = _text_field()
    event_type = _text_field()
    metric_type = _metric_field()
    value = FiniteFloatField(min_value=-VALUE_LIMIT, max_value=VALUE_LIMIT)
    occurred_at = UTCDateTimeField(
        required=False,
        help_text="ISO-8601; naive is UTC; defaults to now; at most 5 minutes in the future.",
    )
    metadata = JSONObjectField(required=False)


class RoiInputSerializer(serializers.Serializer):
    domain = _text_field()
    hours_saved_per_success = FiniteFloatField(min_value=0, max_value=ROI_MAX_RATE)
    cost_per_hour_usd = FiniteFloatField(min_value=0, max_value=ROI_MAX_RATE)
    window_days = StrictIntegerField(
        required=False, default=30, min_value=1, max_value=ROI_MAX_WINDOW_DAYS
    )


# --- query parameters ---------------------------------------------------------------------
# Views validate `request.query_params.dict()`: a plain dict, so an empty value (`?limit=`)
# reaches the field and is a 400 instead of DRF's "absent" for form-like input.


class EventListQuerySerializer(TenantQuerySerializer):
    domain = _text_field(required=False)
    event_type = _text_field(required=False)
    metric_type = _metric_field(required=False)
    since = UTCDateTimeField(required=False, help_text="occurred_at at or after (ISO-8601).")
    until = UTCDateTimeField(required=False, help_text="occurred_at at or before (ISO-8601).")
    limit = QueryIntegerField(required=False, default=50, min_value=1, max_value=1000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since is not None and until is not None and until < since:
            raise serializers.ValidationError({"until": ["Must not be earlier than `since`."]})
        return attrs


class TrendQuerySerializer(TenantQuerySerializer):
    domain = _text_field(required=False)
    window = QueryIntegerField(required=False, default=20, min_value=1, max_value=1000)


class TrendPathSerializer(serializers.Serializer):
    metric_type = _metric_field()


class DashboardQuerySerializer(TrendQuerySerializer):
    recent_limit = QueryIntegerField(required=False, default=10, min_value=0, max_value=100)


class IdempotencyKeySerializer(serializers.Serializer):
    """The `Idempotency-Key` header: 1-255 characters; an empty header is a 400 (not absent),
    as the schema's `minLength: 1` says. Errors are named after the header."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            IDEMPOTENCY_HEADER: StrictCharField(min_length=1, max_length=IDEMPOTENCY_KEY_MAX_LENGTH)
        }


# --- output -------------------------------------------------------------------------------


class OutcomeEventSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="`outcome-` followed by hex digits.")
    tenant_id = serializers.CharField(help_text='The owning tenant ("" for an operator).')
    domain = serializers.CharField()
    event_type = serializers.CharField()
    metric_type = _metric_field()
    value = serializers.FloatField()
    occurred_at = serializers.DateTimeField()
    metadata = serializers.DictField()


class OutcomeTrendSerializer(serializers.Serializer):
    metric_type = _metric_field()
    domain = serializers.CharField(help_text='The domain, or "all".')
    window = serializers.IntegerField()
    direction = serializers.ChoiceField(choices=[d.value for d in TrendDirection])
    sample_size = serializers.IntegerField()
    values = serializers.ListField(child=serializers.FloatField(), help_text="Oldest first.")
    previous_avg = serializers.FloatField()
    current_avg = serializers.FloatField()


class MetricCountsSerializer(serializers.Serializer):
    success_rate = serializers.IntegerField()
    quality_score = serializers.IntegerField()
    latency_ms = serializers.IntegerField()
    cost_usd = serializers.IntegerField()
    failure_class = serializers.IntegerField()


class OutcomeSummarySerializer(serializers.Serializer):
    total_events = serializers.IntegerField()
    domains = serializers.ListField(child=serializers.CharField(), help_text="Sorted.")
    event_types = serializers.ListField(child=serializers.CharField(), help_text="Sorted.")
    metric_counts = MetricCountsSerializer()


class WeekOverWeekSerializer(serializers.Serializer):
    metric_type = _metric_field()
    current_week_avg = serializers.FloatField(help_text="Average over the last 7 days.")
    previous_week_avg = serializers.FloatField(help_text="Average from 14 to 7 days ago.")
    pct_change = serializers.FloatField(help_text="0 when the previous average is 0.")


class FailureModeSerializer(serializers.Serializer):
    failure_class = serializers.CharField(help_text='`metadata.failure_class`, or "unknown".')
    count = serializers.IntegerField()


class DashboardSerializer(serializers.Serializer):
    trends = OutcomeTrendSerializer(
        many=True, help_text="success_rate, quality_score, latency_ms, cost_usd, in that order."
    )
    recent_events = OutcomeEventSerializer(many=True, help_text="Newest first.")
    summary = OutcomeSummarySerializer()
    week_over_week = WeekOverWeekSerializer(many=True)
    top_failure_modes = FailureModeSerializer(
        many=True, help_text="At most 10, most frequent first (ties by name)."
    )


class RoiReportSerializer(serializers.Serializer):
    total_invocations = serializers.IntegerField()
    success_count = serializers.IntegerField()
    failure_count = serializers.IntegerField()
    estimated_hours_saved = serializers.FloatField()
    estimated_value_usd = serializers.FloatField()
    success_rate = serializers.FloatField()
    avg_latency_ms = serializers.FloatField()


class OutcomeHealthSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='"ok" or "stale".')
    hours_since_last_event = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text="Only when stale; null when no event was ever recorded.",
    )

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        if data["status"] == "ok":
            data.pop("hours_since_last_event", None)  # the contract's ok body is just the status
        return data


# --- experiments (contract §8) --------------------------------------------------------------

EXPERIMENT_MIN_VARIANTS = 2
EXPERIMENT_MAX_VARIANTS = 10
VARIANT_NAME_MAX_LENGTH = 100
VARIANT_MAX_WEIGHT = 1_000_000
EXPERIMENT_DESCRIPTION_MAX_LENGTH = 2000


class PatternTextField(StrictCharField):
    """Text of a fixed URL-safe charset (`pattern`, matched whole; no trailing newline)."""

    default_error_messages = {
        "pattern": "Must be {length} of A-Z a-z 0-9 {others}, starting with a letter or digit."
    }

    def __init__(self, *, pattern: str, others: str, **kwargs: Any) -> None:
        self._whole = re.compile(pattern[:-1] + r"\Z")
        self._others = others
        super().__init__(min_length=1, **kwargs)
        self.validators.append(RegexValidator(pattern))  # the schema's `pattern`

    def to_internal_value(self, data: Any) -> str:
        text = super().to_internal_value(data)
        if not self._whole.match(text) or len(text) > self.max_length:
            self.fail("pattern", length=f"1-{self.max_length} characters", others=self._others)
        return text


def _key_field(**kwargs: Any) -> PatternTextField:
    return PatternTextField(
        pattern=KEY_PATTERN, others=". _ -", max_length=KEY_MAX_LENGTH, **kwargs
    )


def _subject_field(**kwargs: Any) -> PatternTextField:
    return PatternTextField(
        pattern=SUBJECT_PATTERN, others=". _ - : @", max_length=KEY_MAX_LENGTH, **kwargs
    )


class ExperimentVariantInputSerializer(serializers.Serializer):
    name = PatternTextField(pattern=KEY_PATTERN, others=". _ -", max_length=VARIANT_NAME_MAX_LENGTH)
    weight = FiniteFloatField(
        min_value=0,
        max_value=VARIANT_MAX_WEIGHT,
        help_text="Greater than 0; a variant's share of subjects is its weight over the sum.",
    )

    def validate_weight(self, value: float) -> float:
        if value <= 0:
            raise serializers.ValidationError("Must be greater than 0.")
        return value


class ExperimentInputSerializer(serializers.Serializer):
    key = _key_field(
        help_text="Unique in the tenant (a duplicate is a 409): 1-200 characters of "
        "A-Z a-z 0-9 . _ -, starting with a letter or digit."
    )
    variants = serializers.ListField(
        child=ExperimentVariantInputSerializer(),
        min_length=EXPERIMENT_MIN_VARIANTS,
        max_length=EXPERIMENT_MAX_VARIANTS,
        help_text="2-10 variants with distinct names; the first is the control.",
    )
    metric_types = serializers.ListField(
        child=_metric_field(),
        required=False,
        min_length=1,
        max_length=len(NUMERIC_METRICS),
        help_text="Distinct numeric metrics to compare (not failure_class); default all four.",
    )
    description = StrictCharField(
        required=False, default="", allow_blank=True, max_length=EXPERIMENT_DESCRIPTION_MAX_LENGTH
    )

    def validate_variants(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names = [variant["name"] for variant in value]
        if len(set(names)) != len(names):
            raise serializers.ValidationError("Variant names must be distinct.")
        return value

    def validate_metric_types(self, value: list[str]) -> list[str]:
        numeric = {metric.value for metric in NUMERIC_METRICS}
        if any(metric not in numeric for metric in value):
            raise serializers.ValidationError(f"Must be among: {', '.join(sorted(numeric))}.")
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Metric types must be distinct.")
        return value


class AssignmentInputSerializer(serializers.Serializer):
    subject_id = _subject_field(
        help_text="Whom to assign: 1-200 characters of A-Z a-z 0-9 . _ - : @, starting with "
        "a letter or digit."
    )


class ExperimentListQuerySerializer(TenantQuerySerializer):
    limit = QueryIntegerField(required=False, default=50, min_value=1, max_value=1000)


class ExperimentReadQuerySerializer(serializers.Serializer):
    tenant_id = StrictCharField(
        required=False,
        min_length=1,
        max_length=200,
        help_text="Operators only: the tenant whose experiment this is (default: the "
        'operators\' own, tenant ""). Ignored for tenant principals.',
    )


class ExperimentReportQuerySerializer(ExperimentReadQuerySerializer):
    since = UTCDateTimeField(required=False, help_text="occurred_at at or after (ISO-8601).")
    until = UTCDateTimeField(required=False, help_text="occurred_at at or before (ISO-8601).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since is not None and until is not None and until < since:
            raise serializers.ValidationError({"until": ["Must not be earlier than `since`."]})
        return attrs


class ExperimentVariantSerializer(serializers.Serializer):
    name = serializers.CharField()
    weight = serializers.FloatField()


class ExperimentSerializer(serializers.Serializer):
    key = serializers.CharField()
    tenant_id = serializers.CharField(help_text='The owning tenant ("" for an operator).')
    variants = ExperimentVariantSerializer(many=True, help_text="The first is the control.")
    metric_types = serializers.ListField(child=_metric_field())
    description = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()


class AssignmentSerializer(serializers.Serializer):
    experiment = serializers.CharField(help_text="The experiment's key.")
    subject_id = serializers.CharField()
    variant = serializers.CharField(help_text="The variant's name; it never changes.")


class VariantStatsSerializer(serializers.Serializer):
    variant = serializers.CharField()
    n = serializers.IntegerField(help_text="Observations in the time range.")
    mean = serializers.FloatField(allow_null=True, help_text="null when n is 0.")
    stddev = serializers.FloatField(
        allow_null=True, help_text="Sample standard deviation (n - 1); null when n < 2."
    )
    ci95_low = serializers.FloatField(
        allow_null=True, help_text="95 % t-interval of the mean; null when n < 2."
    )
    ci95_high = serializers.FloatField(allow_null=True)


class VariantComparisonSerializer(serializers.Serializer):
    variant = serializers.CharField()
    against = serializers.CharField(help_text="The control (the first variant).")
    difference = serializers.FloatField(
        allow_null=True, help_text="mean(variant) - mean(control); null when either has no data."
    )
    relative_lift = serializers.FloatField(
        allow_null=True, help_text="difference / |mean(control)|; null when that mean is 0."
    )
    p_value = serializers.FloatField(
        allow_null=True,
        help_text="Welch's t-test, two-sided; null when it cannot be computed (n < 2 on a "
        "side, or no variance on either side).",
    )
    verdict = serializers.ChoiceField(
        choices=[v.value for v in Verdict],
        help_text="better/worse (lower is better for latency_ms and cost_usd) when p < 0.05 "
        "and both n >= 30; else inconclusive.",
    )


class MetricReportSerializer(serializers.Serializer):
    metric_type = _metric_field()
    variants = VariantStatsSerializer(many=True, help_text="In declared order.")
    comparisons = VariantComparisonSerializer(
        many=True, help_text="Each non-first variant against the first."
    )


class ExperimentReportSerializer(serializers.Serializer):
    experiment = serializers.CharField()
    since = serializers.DateTimeField(allow_null=True)
    until = serializers.DateTimeField(allow_null=True)
    metrics = MetricReportSerializer(many=True, help_text="One per tracked metric.")
