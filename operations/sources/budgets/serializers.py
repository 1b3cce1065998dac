"""What the autonomy budget API reads and writes."""

from __future__ import annotations

from rest_framework import serializers

from agent33_core.fields import (
    JSONObjectField,
    QueryIntegerField,
    StrictCharField,
    StrictChoiceField,
    TenantQuerySerializer,
)

from .domain import BudgetState

_STATES = [s.value for s in BudgetState]
_OPTIONAL = {"required": False, "allow_blank": True, "default": ""}


class BudgetCreateInput(serializers.Serializer):
    task_id = StrictCharField(max_length=200, **_OPTIONAL)
    agent_id = StrictCharField(max_length=200, **_OPTIONAL)
    description = StrictCharField(max_length=4000, **_OPTIONAL)
    limits = JSONObjectField(
        required=False,
        default=dict,
        help_text='Free-form limits, e.g. {"max_tokens": 1000}; at most '
        "AGENT33_MAX_JSON_FIELD_BYTES (16 KiB) serialized.",
    )


class BudgetTransitionInput(serializers.Serializer):
    to_state = StrictChoiceField(choices=_STATES)
    approved_by = StrictCharField(max_length=200, required=False, allow_blank=True)


class BudgetListQuery(TenantQuerySerializer):
    state = StrictChoiceField(choices=_STATES, required=False)
    limit = QueryIntegerField(min_value=1, max_value=500, default=50)


class BudgetOutput(serializers.Serializer):
    id = serializers.CharField()
    tenant_id = serializers.CharField()
    task_id = serializers.CharField()
    agent_id = serializers.CharField()
    description = serializers.CharField()
    limits = serializers.DictField()
    state = serializers.ChoiceField(choices=_STATES)
    approved_by = serializers.CharField()
    started_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
