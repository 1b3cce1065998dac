"""What the workflow execution API reads and writes."""

from __future__ import annotations

from rest_framework import serializers

from operations.tenancy import TenantQuerySerializer

from .domain import StepEventType, TriggerType, WorkflowRunStatus

_STATUSES = [s.value for s in WorkflowRunStatus]
_TRIGGERS = [t.value for t in TriggerType]
_EVENT_TYPES = [e.value for e in StepEventType]


class WorkflowRunCreateInput(serializers.Serializer):
    workflow_name = serializers.CharField(max_length=200)
    trigger_type = serializers.ChoiceField(choices=_TRIGGERS)
    status = serializers.ChoiceField(choices=_STATUSES)
    started_at = serializers.DateTimeField(
        required=False, help_text="When the run started; default now. Naive times are UTC."
    )
    duration_ms = serializers.FloatField(
        min_value=0, max_value=1e12, required=False, allow_null=True, default=None
    )
    error = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    job_id = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class StepEventInput(serializers.Serializer):
    step_id = serializers.CharField(max_length=200)
    type = serializers.ChoiceField(choices=_EVENT_TYPES)
    at = serializers.DateTimeField(required=False, help_text="Default now. Naive times are UTC.")


class WorkflowRunListQuery(TenantQuerySerializer):
    status = serializers.ChoiceField(choices=_STATUSES, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=500, default=50)


class StepEventOutput(serializers.Serializer):
    step_id = serializers.CharField()
    type = serializers.ChoiceField(choices=_EVENT_TYPES)
    at = serializers.DateTimeField()


class WorkflowRunOutput(serializers.Serializer):
    id = serializers.CharField()
    tenant_id = serializers.CharField()
    workflow_name = serializers.CharField()
    trigger_type = serializers.ChoiceField(choices=_TRIGGERS)
    status = serializers.ChoiceField(choices=_STATUSES)
    duration_ms = serializers.FloatField(allow_null=True)
    error = serializers.CharField()
    job_id = serializers.CharField()
    events = StepEventOutput(many=True)
    started_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
