"""What the outcomes API reads and writes: input, query and output serializers.

Input and query serializers are built from `agent33_core.fields` (contract §1): text is a
JSON string kept exactly as sent, enums name the allowed values without echoing input,
integers are integers (ASCII digits in a query), `metadata` is at most 16 KiB of JSON;
anything else is a 400 with field errors.
Output serializers describe the JSON the views return (the domain models dumped by
pydantic) and drive the OpenAPI schema; `tests/outcomes` checks they agree.
"""

from __future__ import annotations

from typing import Any

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

from .domain import VALUE_LIMIT, MetricType, TrendDirection

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
