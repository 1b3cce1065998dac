"""Trace records, their states and the one control a trace has (cancel)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, computed_field


class TraceStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    ESCALATED = "escalated"


FINAL_TRACE_STATUSES = frozenset(s for s in TraceStatus if s is not TraceStatus.RUNNING)

TRACE_LIFECYCLE: dict[str, frozenset[str]] = {
    TraceStatus.RUNNING: FINAL_TRACE_STATUSES,
    **{status: frozenset() for status in FINAL_TRACE_STATUSES},
}
TRACE_LIVE_STATUSES = frozenset({TraceStatus.RUNNING})
TRACE_CONTROLS: dict[str, dict[str, str]] = {
    "cancel": {TraceStatus.RUNNING: TraceStatus.CANCELLED},
}


class TraceAction(BaseModel):
    """One tool call (or other action) recorded inside a step of the trace."""

    step_id: str
    action_id: str
    tool: str
    status: str
    duration_ms: float
    input_summary: str = ""
    output_summary: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    recorded_at: datetime


class TraceFields(BaseModel):
    """What a trace is, without its actions (a list shows `action_count` instead)."""

    id: str
    tenant_id: str
    task_id: str
    session_id: str
    run_id: str
    agent_id: str
    agent_role: str
    model: str
    status: TraceStatus
    failure_code: str = ""
    failure_message: str = ""
    started_at: datetime
    completed_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class TraceSummary(TraceFields):
    action_count: int


class Trace(TraceFields):
    """The whole trace: its actions in the order recorded, and their count."""

    actions: list[TraceAction] = Field(default_factory=list)

    @computed_field
    @property
    def action_count(self) -> int:
        return len(self.actions)

    def summary(self) -> TraceSummary:
        fields = {name: getattr(self, name) for name in TraceFields.model_fields}
        return TraceSummary.model_construct(**fields, action_count=len(self.actions))
