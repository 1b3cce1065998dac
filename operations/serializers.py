"""What the hub API reads and writes."""

from __future__ import annotations

from rest_framework import serializers

from .domain import ControlAction, IncludeKey, ProcessType
from .registry import registry
from .tenancy import TenantQuerySerializer


class HubQuery(TenantQuerySerializer):
    include = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="Comma list of traces, budgets, improvements, workflows, multimodal; "
        "default every registered source.",
    )
    since = serializers.DateTimeField(
        required=False,
        help_text="Workflow runs started at or after this time (default now - 24 h). "
        "Naive times are UTC. Not applied with `status`.",
    )
    status = serializers.CharField(
        required=False,
        max_length=64,
        help_text="Every process in this status (for each included type that has it) "
        "instead of the live view.",
    )
    limit = serializers.IntegerField(min_value=1, max_value=100, default=100)

    def validate(self, attrs: dict) -> dict:
        raw = attrs.get("include")
        if raw is None or not raw.strip():
            attrs["include"] = None
            return attrs
        keys = [key.strip() for key in raw.split(",") if key.strip()]
        known = {k.value for k in IncludeKey} | set(registry.include_keys())
        invalid = sorted({key for key in keys if key not in known})
        if invalid:
            raise serializers.ValidationError(f"Invalid include values: {', '.join(invalid)}")
        attrs["include"] = list(dict.fromkeys(keys))
        return attrs


class ControlInput(serializers.Serializer):
    action = serializers.ChoiceField(choices=[a.value for a in ControlAction])
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class ProcessEntryOutput(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.ChoiceField(choices=[t.value for t in ProcessType])
    status = serializers.CharField()
    started_at = serializers.DateTimeField()
    name = serializers.CharField()
    tenant_id = serializers.CharField()
    metadata = serializers.DictField()


class HubOutput(serializers.Serializer):
    timestamp = serializers.DateTimeField()
    active_count = serializers.IntegerField(
        help_text="Processes in the result before `limit` applies."
    )
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Per process type, the processes in the result before `limit` applies.",
    )
    processes = ProcessEntryOutput(many=True)


class StepActivityOutput(serializers.Serializer):
    step_id = serializers.CharField()
    action_count = serializers.IntegerField()
    completed_at = serializers.DateTimeField(allow_null=True)


class ControlRecordOutput(serializers.Serializer):
    action = serializers.ChoiceField(choices=[a.value for a in ControlAction])
    reason = serializers.CharField()
    actor = serializers.CharField()
    at = serializers.DateTimeField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()


class ProcessDetailOutput(ProcessEntryOutput):
    actions = StepActivityOutput(many=True)
    controls = serializers.ListField(
        child=serializers.ChoiceField(choices=[a.value for a in ControlAction]),
        help_text="The control actions allowed right now.",
    )
    control_history = ControlRecordOutput(many=True)
