"""What the workflow execution API reads and writes."""

from __future__ import annotations

from rest_framework import serializers

from agent33_core.fields import (
    FiniteFloatField,
    QueryIntegerField,
    StrictCharField,
    StrictChoiceField,
    TenantQuerySerializer,
    UTCDateTimeField,
)

from .domain import StepEventType, TriggerType, WorkflowRunStatus

_STATUSES = [s.value for s in WorkflowRunStatus]
_TRIGGERS = [t.value for t in TriggerType]
_EVENT_TYPES = [e.value for e in StepEventType]


class WorkflowRunCreateInput(serializers.Serializer):
    workflow_name = StrictCharField(max_length=200)
    trigger_type = StrictChoiceField(choices=_TRIGGERS)
    status = StrictChoiceField(choices=_STATUSES)
    started_at = UTCDateTimeField(
        required=False, help_text="When the run started; default now. Naive times are UTC."
    )
    duration_ms = FiniteFloatField(
        min_value=0, max_value=1e12, required=False, allow_null=True, default=None
    )
    error = StrictCharField(max_length=4000, required=False, allow_blank=True, default="")
    job_id = StrictCharField(max_length=200, required=False, allow_blank=True, default="")


class StepEventInput(serializers.Serializer):
    step_id = StrictCharField(max_length=200)
    type = StrictChoiceField(choices=_EVENT_TYPES)
    at = UTCDateTimeField(required=False, help_text="Default now. Naive times are UTC.")


class WorkflowRunListQuery(TenantQuerySerializer):
    status = StrictChoiceField(choices=_STATUSES, required=False)
    limit = QueryIntegerField(min_value=1, max_value=500, default=50)


class StepEventOutput(serializers.Serializer):
    step_id = serializers.CharField()
    type = serializers.ChoiceField(choices=_EVENT_TYPES)
    at = serializers.DateTimeField()


class WorkflowRunListItemOutput(serializers.Serializer):
    """A run in a list: `event_count` instead of the events (the detail has them)."""

    id = serializers.CharField()
    tenant_id = serializers.CharField()
    workflow_name = serializers.CharField()
    trigger_type = serializers.ChoiceField(choices=_TRIGGERS)
    status = serializers.ChoiceField(choices=_STATUSES)
    duration_ms = serializers.FloatField(allow_null=True)
    error = serializers.CharField()
    job_id = serializers.CharField()
    event_count = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class WorkflowRunOutput(WorkflowRunListItemOutput):
    """The whole run, with its step events in the order recorded."""

    events = StepEventOutput(many=True)
