"""Workflow run records and their step events; runs have no hub controls.

A run is reported by its producer with its status (a record of what happened), so
the API has no transition endpoint; the lifecycle map documents the states.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


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
# Never evicted; the hub's default view is "every run started since `since`" instead.
WORKFLOW_LIVE_STATUSES = frozenset({S.RUNNING})


class StepEvent(BaseModel):
    step_id: str
    type: StepEventType
    at: datetime


class WorkflowRun(BaseModel):
    id: str
    tenant_id: str
    workflow_name: str
    trigger_type: TriggerType
    status: WorkflowRunStatus
    duration_ms: float | None = None
    error: str = ""
    job_id: str = ""
    events: list[StepEvent] = Field(default_factory=list)
    started_at: datetime
    created_at: datetime
    updated_at: datetime
