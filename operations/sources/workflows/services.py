"""The in-memory workflow run service: the only place workflow runs change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from operations.registry import StepActivity
from operations.singleton import ServiceSingleton
from operations.sources.base import LifecycleService, utc_now

from .domain import (
    STEP_ENDING_EVENTS,
    WORKFLOW_LIFECYCLE,
    WORKFLOW_LIVE_STATUSES,
    StepEvent,
    WorkflowRun,
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
    nested_count_field = "event_count"

    def create(self, *, tenant_id: str, fields: dict[str, Any]) -> WorkflowRun:
        """The producer reports the run's status and, optionally, when it started."""
        fields = dict(fields)
        started_at = fields.pop("started_at", None)
        return super().create(tenant_id=tenant_id, fields=fields, started_at=started_at)

    def record_event(
        self, *, tenant_id: str | None, run_id: str, step_id: str, type: str, at: datetime | None
    ) -> StepEvent:
        event = StepEvent(step_id=step_id, type=type, at=at or utc_now())
        with self._lock:
            self._append_item(self._visible(run_id, tenant_id), event, updated_at=utc_now())
        return event

    def live_records(self, *, tenant_id: str | None, since: datetime) -> list[WorkflowRun]:
        """Every run started at or after `since`, whatever its status (a bisect)."""
        with self._lock:
            return self._store.started_since(tenant_id=tenant_id, since=since)

    def entry_metadata(self, record: WorkflowRun) -> dict[str, Any]:
        return {
            "trigger_type": record.trigger_type,
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


_workflow_runs_service = ServiceSingleton(WorkflowRunsService.from_settings)


def get_workflow_runs_service() -> WorkflowRunsService:
    return _workflow_runs_service.get()


def reset_workflow_runs_service() -> None:
    _workflow_runs_service.reset()
