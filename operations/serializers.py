"""What the hub API reads and writes."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from agent33_core.fields import (
    QueryIntegerField,
    StrictCharField,
    StrictChoiceField,
    TenantQuerySerializer,
    UTCDateTimeField,
)

from .domain import MULTIMODAL_REQUEST_STATES, ControlAction, ProcessType
from .registry import registry
from .sources.budgets.domain import BudgetState
from .sources.intakes.domain import IntakeStatus
from .sources.traces.domain import TraceStatus
from .sources.workflows.domain import WorkflowRunStatus

# The schema's `ProcessStatus` enum: every status contract §5 gives a process. `?status=`
# itself accepts what the registered sources declare (`registry.statuses()`).
KNOWN_STATUSES = frozenset(
    {
        *(s.value for s in TraceStatus),
        *(s.value for s in BudgetState),
        *(s.value for s in IntakeStatus),
        *(s.value for s in WorkflowRunStatus),
        *MULTIMODAL_REQUEST_STATES,
    }
)


class RegisteredStatusField(StrictChoiceField):
    """A status some registered source reports, read from the registry when validating.

    The schema lists contract §5's statuses; a source registered later adds its own.
    """

    def to_internal_value(self, data: Any) -> str:
        allowed = registry.statuses()
        if isinstance(data, str) and data in allowed:
            return data
        self.fail("invalid_choice", allowed=", ".join(allowed))


class HubQuery(TenantQuerySerializer):
    include = StrictCharField(
        required=False,
        max_length=500,
        help_text="Comma list of traces, budgets, improvements, workflows, multimodal; "
        "default every registered source.",
    )
    since = UTCDateTimeField(
        required=False,
        help_text="Workflow runs started at or after this time (default now - 24 h). "
        "Naive times are UTC. Not applied with `status`.",
    )
    status = RegisteredStatusField(
        choices=sorted(KNOWN_STATUSES),
        required=False,
        help_text="Every process in this status (for each included type that has it) "
        "instead of the live view. Unknown values are a 400 naming the allowed ones.",
    )
    limit = QueryIntegerField(min_value=1, max_value=100, default=100)

    def validate(self, attrs: dict) -> dict:
        raw = attrs.get("include")
        if raw is None:
            attrs["include"] = None
            return attrs
        keys = [key.strip() for key in raw.split(",") if key.strip()]
        known = set(registry.include_keys())
        if not keys:
            raise serializers.ValidationError(
                {"include": [f"Must name at least one of: {', '.join(sorted(known))}."]}
            )
        invalid = sorted({key for key in keys if key not in known})
        if invalid:
            raise serializers.ValidationError(f"Invalid include values: {', '.join(invalid)}")
        attrs["include"] = list(dict.fromkeys(keys))
        return attrs


class ControlInput(serializers.Serializer):
    action = StrictChoiceField(choices=[a.value for a in ControlAction])
    reason = StrictCharField(max_length=1000, required=False, allow_blank=True, default="")


class ProcessEntryOutput(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.ChoiceField(choices=[t.value for t in ProcessType])
    status = serializers.ChoiceField(choices=sorted(KNOWN_STATUSES))
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
