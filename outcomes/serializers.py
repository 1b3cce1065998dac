"""What the outcomes API reads and writes: input, query and output serializers.

Input and query serializers refuse anything the service could not store or compute
(wrong types, non-finite numbers, out-of-range integers) as a 400 with field errors.
Output serializers describe the JSON the views return (the domain models dumped by
pydantic) and drive the OpenAPI schema; `tests/outcomes` checks they agree.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from rest_framework import serializers

from .domain import VALUE_LIMIT, MetricType, TrendDirection
from .services import as_utc

TEXT_MAX_LENGTH = 200
METADATA_MAX_DEPTH = 32
IDEMPOTENCY_KEY_MAX_LENGTH = 255
ROI_MAX_WINDOW_DAYS = 3650
# Far above any real rate, and small enough that the ROI products stay finite.
ROI_MAX_RATE = 1_000_000

TENANT_HELP = "Operators only: narrow the read to this tenant. Ignored for tenant principals."


class FiniteFloatField(serializers.FloatField):
    """A JSON number: strings, booleans, NaN and +/-Infinity are refused."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


_INTEGER_TEXT = re.compile(r"[+-]?\d{1,18}")


class WholeNumberField(serializers.IntegerField):
    """An integer, as a JSON integer or (in a query string) digits; never 5.0, "5.0" or true."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, str) and _INTEGER_TEXT.fullmatch(data.strip()):
            data = int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class MetadataField(serializers.DictField):
    """A JSON object of any JSON values, with finite numbers and bounded nesting."""

    default_error_messages = {
        "non_finite": "Numbers in metadata must be finite (no NaN or Infinity).",
        "too_deep": f"Metadata may nest at most {METADATA_MAX_DEPTH} levels.",
    }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        value = super().to_internal_value(data)
        # Iterative, so a deeply nested body cannot exhaust the stack here or when rendered.
        pending: list[tuple[Any, int]] = [(value, 1)]
        while pending:
            item, depth = pending.pop()
            if isinstance(item, float) and not math.isfinite(item):
                self.fail("non_finite")
            children = item.values() if isinstance(item, dict) else item
            if isinstance(item, dict | list):
                if depth > METADATA_MAX_DEPTH:
                    self.fail("too_deep")
                pending.extend((child, depth + 1) for child in children)
        return value


class UTCDateTimeField(serializers.DateTimeField):
    """ISO-8601; a naive time is UTC; a time that cannot be expressed in UTC is refused."""

    def to_internal_value(self, value: Any) -> datetime:
        parsed = super().to_internal_value(value)
        try:
            return as_utc(parsed)
        except (OverflowError, ValueError):
            self.fail("invalid", format="ISO-8601")


def _text_field(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(min_length=1, max_length=TEXT_MAX_LENGTH, **kwargs)


def _metric_field(**kwargs: Any) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=[m.value for m in MetricType], **kwargs)


# --- input ------------------------------------------------------------------------------


class OutcomeEventInputSerializer(serializers.Serializer):
    domain = _text_field()
    event_type = _text_field()
    metric_type = _metric_field()
    value = FiniteFloatField(min_value=-VALUE_LIMIT, max_value=VALUE_LIMIT)
    occurred_at = UTCDateTimeField(
        required=False, help_text="ISO-8601; naive is UTC; defaults to now."
    )
    metadata = MetadataField(required=False, help_text="Any JSON object.")


class RoiInputSerializer(serializers.Serializer):
    domain = _text_field()
    hours_saved_per_success = FiniteFloatField(min_value=0, max_value=ROI_MAX_RATE)
    cost_per_hour_usd = FiniteFloatField(min_value=0, max_value=ROI_MAX_RATE)
    window_days = WholeNumberField(
        required=False, default=30, min_value=1, max_value=ROI_MAX_WINDOW_DAYS
    )


# --- query parameters ---------------------------------------------------------------------


class TenantQuerySerializer(serializers.Serializer):
    tenant_id = serializers.CharField(
        required=False, allow_blank=True, max_length=TEXT_MAX_LENGTH, help_text=TENANT_HELP
    )


class EventListQuerySerializer(TenantQuerySerializer):
    domain = _text_field(required=False)
    event_type = _text_field(required=False)
    metric_type = _metric_field(required=False)
    since = UTCDateTimeField(required=False, help_text="occurred_at at or after (ISO-8601).")
    until = UTCDateTimeField(required=False, help_text="occurred_at at or before (ISO-8601).")
    limit = WholeNumberField(required=False, default=50, min_value=1, max_value=1000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since is not None and until is not None and until < since:
            raise serializers.ValidationError({"until": ["Must not be earlier than `since`."]})
        return attrs


class TrendQuerySerializer(TenantQuerySerializer):
    domain = _text_field(required=False)
    window = WholeNumberField(required=False, default=20, min_value=1, max_value=1000)


class TrendPathSerializer(serializers.Serializer):
    metric_type = _metric_field()


class DashboardQuerySerializer(TrendQuerySerializer):
    recent_limit = WholeNumberField(required=False, default=10, min_value=0, max_value=100)


class IdempotencyKeySerializer(serializers.Serializer):
    key = serializers.CharField(
        min_length=1, max_length=IDEMPOTENCY_KEY_MAX_LENGTH, trim_whitespace=False
    )


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
