"""The workflow run service: the only place workflow runs change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent33_core.clock import utc_now
from agent33_core.registry import services
from agent33_core.store import Page
from operations.registry import StepActivity
from operations.sources.base import LifecycleService

from .domain import (
    STEP_ENDING_EVENTS,
    WORKFLOW_LIFECYCLE,
    WORKFLOW_LIVE_STATUSES,
    StepEvent,
    WorkflowRun,
    WorkflowRunSummary,
)


class WorkflowRunsService(LifecycleService[WorkflowRun]):
    noun = "workflow run"
    id_prefix = "wfrun"
    process_type = "workflow"
    name_field = "workflow_name"
    record_model = WorkflowRun
    lifecycle = WORKFLOW_LIFECYCLE
    live_statuses = WORKFLOW_LIVE_STATUSES
    controls: dict[str, dict[str, str]] = {}
    nested_field = "events"

    def summary(self, record: WorkflowRun) -> WorkflowRunSummary:
        return record.summary()

    def create(self, *, tenant_id: str, fields: dict[str, Any]) -> WorkflowRun:
        """The producer reports the run's status and, optionally, when it started."""
        fields = dict(fields)
        started_at = fields.pop("started_at", None)
        return super().create(tenant_id=tenant_id, fields=fields, started_at=started_at)

    def record_event(
        self, *, tenant_id: str | None, run_id: str, step_id: str, type: str, at: datetime | None
    ) -> StepEvent:
        event = StepEvent(step_id=step_id, type=type, at=at or utc_now())
        self._append(run_id, tenant_id=tenant_id, item=event, updated_at=utc_now())
        return event

    def started_since(
        self, *, tenant_id: str | None, since: datetime, limit: int
    ) -> Page[WorkflowRun]:
        """Every run started at or after `since`, whatever its status, newest first."""
        return self._store.since(tenant_id=tenant_id, since=since, limit=limit)

    def entry_metadata(self, record: WorkflowRun) -> dict[str, Any]:
        return {
            "trigger_type": str(record.trigger_type),
            "duration_ms": record.duration_ms,
            "error": record.error,
            "job_id": record.job_id,
            "event_count": len(record.events),
        }

    def step_activity(self, *, tenant_id: str | None, process_id: str) -> list[StepActivity]:
        run = self.get(tenant_id=tenant_id, record_id=process_id)
        steps: dict[str, StepActivity] = {}
        for event in run.events:
            step = steps.setdefault(
                event.step_id, StepActivity(step_id=event.step_id, action_count=0)
            )
            step.action_count += 1
            if event.type in STEP_ENDING_EVENTS and (
                step.completed_at is None or event.at > step.completed_at
            ):
                step.completed_at = event.at
        return list(steps.values())


workflow_runs_service = services.register(
    "operations.workflow_runs", WorkflowRunsService.from_settings
)


def get_workflow_runs_service() -> WorkflowRunsService:
    return workflow_runs_service.get()
