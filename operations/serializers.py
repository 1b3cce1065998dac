"""What the hub API reads and writes."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from agent33_core.fields import (
    QueryIntegerField,
    StrictCharField,
    StrictChoiceField,
    UTCDateTimeField,
)

from .domain import MULTIMODAL_REQUEST_STATES, ControlAction, IncludeKey, ProcessType
from .registry import registry
from .sources.budgets.domain import BudgetState
from .sources.intakes.domain import IntakeStatus
from .sources.traces.domain import TraceStatus
from .sources.workflows.domain import WorkflowRunStatus
from .tenancy import StrictQuery

# Every status a process of any type reports (contract §5), for `?status=`.
KNOWN_STATUSES = frozenset(
    {
        *(s.value for s in TraceStatus),
        *(s.value for s in BudgetState),
        *(s.value for s in IntakeStatus),
        *(s.value for s in WorkflowRunStatus),
        *MULTIMODAL_REQUEST_STATES,
    }
)


def hub_statuses() -> list[str]:
    """The known statuses plus any a registered source declares (`statuses`), sorted."""
    declared = {status for source in registry for status in getattr(source, "statuses", ())}
    return sorted(KNOWN_STATUSES | declared)


class HubQuery(StrictQuery):
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
    status = StrictChoiceField(
        choices=sorted(KNOWN_STATUSES),
        required=False,
        help_text="Every process in this status (for each included type that has it) "
        "instead of the live view. Unknown values are a 400 naming the allowed ones.",
    )
    limit = QueryIntegerField(min_value=1, max_value=100, default=100)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = hub_statuses()

    def validate(self, attrs: dict) -> dict:
        raw = attrs.get("include")
        if raw is None:
            attrs["include"] = None
            return attrs
        keys = [key.strip() for key in raw.split(",") if key.strip()]
        known = {k.value for k in IncludeKey} | set(registry.include_keys())
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
