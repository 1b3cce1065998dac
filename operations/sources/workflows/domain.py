"""Workflow run records and their step events; runs have no hub controls.

A run is reported by its producer with its status (a record of what happened), so
the API has no transition endpoint; the lifecycle map documents the states.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field, computed_field


class WorkflowRunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TriggerType(StrEnum):
    MANUAL = "manual"
    SCHEDULED = "scheduled"
    EVENT = "event"
    API = "api"


class StepEventType(StrEnum):
    STEP_STARTED = "step_started"
    STEP_COMPLETED = "step_completed"
    STEP_FAILED = "step_failed"
    STEP_SKIPPED = "step_skipped"


STEP_ENDING_EVENTS = frozenset(
    {StepEventType.STEP_COMPLETED, StepEventType.STEP_FAILED, StepEventType.STEP_SKIPPED}
)

S = WorkflowRunStatus
WORKFLOW_LIFECYCLE: dict[str, frozenset[str]] = {
    S.RUNNING: frozenset({S.COMPLETED, S.FAILED, S.CANCELLED}),
    S.COMPLETED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}
# Never evicted while running; the hub's default view is "every run started since `since`".
WORKFLOW_LIVE_STATUSES = frozenset({S.RUNNING})


class StepEvent(BaseModel):
    step_id: str
    type: StepEventType
    at: datetime


class WorkflowRunFields(BaseModel):
    """What a run is, without its events (a list shows `event_count` instead)."""

    id: str
    tenant_id: str
    workflow_name: str
    trigger_type: TriggerType
    status: WorkflowRunStatus
    duration_ms: float | None = None
    error: str = ""
    job_id: str = ""
    started_at: datetime
    created_at: datetime
    updated_at: datetime


class WorkflowRunSummary(WorkflowRunFields):
    event_count: int


class WorkflowRun(WorkflowRunFields):
    """The whole run: its step events in the order recorded, and their count."""

    events: list[StepEvent] = Field(default_factory=list)

    @computed_field
    @property
    def event_count(self) -> int:
        return len(self.events)

    def summary(self) -> WorkflowRunSummary:
        fields = {name: getattr(self, name) for name in WorkflowRunFields.model_fields}
        return WorkflowRunSummary.model_construct(**fields, event_count=len(self.events))
