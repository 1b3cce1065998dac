"""What the trace API reads and writes."""

from __future__ import annotations

from rest_framework import serializers

from agent33_core.fields import (
    FiniteFloatField,
    JSONObjectField,
    QueryIntegerField,
    StrictCharField,
    StrictChoiceField,
    TenantQuerySerializer,
)

from .domain import FINAL_TRACE_STATUSES, TraceStatus

_OPTIONAL = {"required": False, "allow_blank": True, "default": ""}
_TEXT = {"max_length": 200, **_OPTIONAL}
_LONG_TEXT = {"max_length": 4000, **_OPTIONAL}


class TraceCreateInput(serializers.Serializer):
    task_id = StrictCharField(max_length=200)
    session_id = StrictCharField(**_TEXT)
    run_id = StrictCharField(**_TEXT)
    agent_id = StrictCharField(**_TEXT)
    agent_role = StrictCharField(**_TEXT)
    model = StrictCharField(**_TEXT)


class TraceActionInput(serializers.Serializer):
    step_id = StrictCharField(max_length=200)
    action_id = StrictCharField(max_length=200)
    tool = StrictCharField(**_TEXT)
    status = StrictCharField(
        max_length=64,
        required=False,
        default="success",
        help_text="The action's own outcome, free text (e.g. success, retried).",
    )
    duration_ms = FiniteFloatField(min_value=0, max_value=1e12, required=False, default=0.0)
    input_summary = StrictCharField(**_LONG_TEXT)
    output_summary = StrictCharField(**_LONG_TEXT)
    metadata = JSONObjectField(required=False, default=dict)


class TraceCompleteInput(serializers.Serializer):
    status = StrictChoiceField(
        choices=sorted(FINAL_TRACE_STATUSES), required=False, default=TraceStatus.COMPLETED.value
    )
    failure_code = StrictCharField(**_TEXT)
    failure_message = StrictCharField(**_LONG_TEXT)


class TraceListQuery(TenantQuerySerializer):
    status = StrictChoiceField(choices=[s.value for s in TraceStatus], required=False)
    limit = QueryIntegerField(min_value=1, max_value=500, default=50)


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


class TraceListItemOutput(serializers.Serializer):
    """A trace in a list: `action_count` instead of the actions (the detail has them)."""

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
    action_count = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class TraceOutput(TraceListItemOutput):
    """The whole trace, with its actions in the order recorded."""

    actions = TraceActionOutput(many=True)
