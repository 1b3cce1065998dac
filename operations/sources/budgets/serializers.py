"""What the autonomy budget API reads and writes."""

from __future__ import annotations

from rest_framework import serializers

from operations.tenancy import TenantQuerySerializer

from .domain import BudgetState

_STATES = [s.value for s in BudgetState]


class BudgetCreateInput(serializers.Serializer):
    task_id = serializers.CharField(max_length=200)
    agent_id = serializers.CharField(max_length=200)
    description = serializers.CharField(
        max_length=4000, required=False, allow_blank=True, default=""
    )
    limits = serializers.DictField(
        required=False, default=dict, help_text='Free-form limits, e.g. {"max_tokens": 1000}.'
    )


class BudgetTransitionInput(serializers.Serializer):
    to_state = serializers.ChoiceField(choices=_STATES)
    approved_by = serializers.CharField(max_length=200, required=False, allow_blank=True)


class BudgetListQuery(TenantQuerySerializer):
    state = serializers.ChoiceField(choices=_STATES, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=500, default=50)


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
