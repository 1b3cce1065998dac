"""What the trace API reads and writes."""

from __future__ import annotations

from rest_framework import serializers

from operations.tenancy import TenantQuerySerializer

from .domain import FINAL_TRACE_STATUSES, TraceStatus

_TEXT = {"max_length": 200, "required": False, "allow_blank": True, "default": ""}


class TraceCreateInput(serializers.Serializer):
    task_id = serializers.CharField(max_length=200)
    session_id = serializers.CharField(**_TEXT)
    run_id = serializers.CharField(**_TEXT)
    agent_id = serializers.CharField(**_TEXT)
    agent_role = serializers.CharField(**_TEXT)
    model = serializers.CharField(**_TEXT)


class TraceActionInput(serializers.Serializer):
    step_id = serializers.CharField(max_length=200)
    action_id = serializers.CharField(max_length=200)
    tool = serializers.CharField(**_TEXT)
    status = serializers.CharField(max_length=64, required=False, default="success")
    duration_ms = serializers.FloatField(min_value=0, max_value=1e12, required=False, default=0.0)
    input_summary = serializers.CharField(
        max_length=4000, **{"required": False, "allow_blank": True, "default": ""}
    )
    output_summary = serializers.CharField(
        max_length=4000, **{"required": False, "allow_blank": True, "default": ""}
    )
    metadata = serializers.DictField(required=False, default=dict)


class TraceCompleteInput(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=sorted(FINAL_TRACE_STATUSES), required=False, default=TraceStatus.COMPLETED.value
    )
    failure_code = serializers.CharField(**_TEXT)
    failure_message = serializers.CharField(
        max_length=4000, required=False, allow_blank=True, default=""
    )


class TraceListQuery(TenantQuerySerializer):
    status = serializers.ChoiceField(choices=[s.value for s in TraceStatus], required=False)
    limit = serializers.IntegerField(min_value=1, max_value=500, default=50)


class TraceActionOutput(serializers.Serializer):
    step_id = serializers.CharField()
    action_id = serializers.CharField()
    tool = serializers.CharField()
    status = serializers.CharField()
    duration_ms = serializers.FloatField()
    input_summary = serializers.CharField()
    output_summary = serializers.CharField()
    metadata = serializers.DictField()
    recorded_at = serializers.DateTimeField()


class TraceOutput(serializers.Serializer):
    id = serializers.CharField()
    tenant_id = serializers.CharField()
    task_id = serializers.CharField()
    session_id = serializers.CharField()
    run_id = serializers.CharField()
    agent_id = serializers.CharField()
    agent_role = serializers.CharField()
    model = serializers.CharField()
    status = serializers.ChoiceField(choices=[s.value for s in TraceStatus])
    failure_code = serializers.CharField()
    failure_message = serializers.CharField()
    actions = TraceActionOutput(many=True)
    started_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
