"""What the improvement intake API reads and writes."""

from __future__ import annotations

from rest_framework import serializers

from agent33_core.fields import (
    QueryIntegerField,
    StrictCharField,
    StrictChoiceField,
    TenantQuerySerializer,
)

from .domain import IntakeStatus, ResearchType, Urgency

_STATUSES = [s.value for s in IntakeStatus]


class IntakeCreateInput(serializers.Serializer):
    title = StrictCharField(max_length=300)
    summary = StrictCharField(max_length=8000, required=False, allow_blank=True, default="")
    research_type = StrictChoiceField(
        choices=[r.value for r in ResearchType], default=ResearchType.EXTERNAL.value
    )
    urgency = StrictChoiceField(choices=[u.value for u in Urgency], default=Urgency.MEDIUM.value)


class IntakeTransitionInput(serializers.Serializer):
    to_status = StrictChoiceField(choices=_STATUSES)


class IntakeListQuery(TenantQuerySerializer):
    status = StrictChoiceField(choices=_STATUSES, required=False)
    limit = QueryIntegerField(min_value=1, max_value=500, default=50)


class IntakeOutput(serializers.Serializer):
    id = serializers.CharField()
    tenant_id = serializers.CharField()
    title = serializers.CharField()
    summary = serializers.CharField()
    research_type = serializers.ChoiceField(choices=[r.value for r in ResearchType])
    urgency = serializers.ChoiceField(choices=[u.value for u in Urgency])
    status = serializers.ChoiceField(choices=_STATUSES)
    started_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
