"""The trace service: the only place traces change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent33_core.clock import utc_now
from agent33_core.errors import InvalidTransition
from agent33_core.registry import services
from operations.registry import StepActivity
from operations.sources.base import LifecycleService

from .domain import (
    TRACE_CONTROLS,
    TRACE_LIFECYCLE,
    TRACE_LIVE_STATUSES,
    Trace,
    TraceAction,
    TraceStatus,
    TraceSummary,
)


class TracesService(LifecycleService[Trace]):
    noun = "trace"
    id_prefix = "trace"
    process_type = "trace"
    name_field = "task_id"
    record_model = Trace
    initial_status = TraceStatus.RUNNING
    lifecycle = TRACE_LIFECYCLE
    live_statuses = TRACE_LIVE_STATUSES
    controls = TRACE_CONTROLS
    nested_field = "actions"

    def summary(self, record: Trace) -> TraceSummary:
        return record.summary()

    def record_action(
        self, *, tenant_id: str | None, trace_id: str, fields: dict[str, Any]
    ) -> TraceAction:
        action = TraceAction(recorded_at=utc_now(), **fields)
        self._append(
            trace_id,
            tenant_id=tenant_id,
            item=action,
            check=lambda trace: _require_running(trace, "record an action on"),
            updated_at=action.recorded_at,
        )
        return action

    def complete(
        self,
        *,
        tenant_id: str | None,
        trace_id: str,
        status: str,
        failure_code: str,
        failure_message: str,
    ) -> Trace:
        def complete(trace: Trace) -> Trace:
            _require_running(trace, "complete")
            return self._moved(
                trace, status, failure_code=failure_code, failure_message=failure_message
            )

        return self._update(trace_id, tenant_id=tenant_id, change=complete)

    def _moved(self, record: Trace, target: str, **changes: Any) -> Trace:
        if target != TraceStatus.RUNNING:
            changes.setdefault("completed_at", utc_now())
        return super()._moved(record, target, **changes)

    def entry_metadata(self, record: Trace) -> dict[str, Any]:
        return {
            "session_id": record.session_id,
            "run_id": record.run_id,
            "agent_id": record.agent_id,
            "agent_role": record.agent_role,
            "model": record.model,
            "action_count": len(record.actions),
            "failure_code": record.failure_code,
        }

    def step_activity(self, *, tenant_id: str | None, process_id: str) -> list[StepActivity]:
        trace = self.get(tenant_id=tenant_id, record_id=process_id)
        steps: dict[str, StepActivity] = {}
        for action in trace.actions:
            step = steps.setdefault(
                action.step_id, StepActivity(step_id=action.step_id, action_count=0)
            )
            step.action_count += 1
            step.completed_at = _latest(step.completed_at, action.recorded_at)
        return list(steps.values())


def _require_running(trace: Trace, verb: str) -> None:
    if trace.status != TraceStatus.RUNNING:
        raise InvalidTransition(f"Cannot {verb} a trace that is '{trace.status.value}'.")


def _latest(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a


traces_service = services.register("operations.traces", TracesService.from_settings)


def get_traces_service() -> TracesService:
    return traces_service.get()
