"""The in-memory trace service: the only place traces change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from operations.domain import InvalidTransition
from operations.registry import StepActivity
from operations.singleton import ServiceSingleton
from operations.sources.base import LifecycleService, utc_now

from .domain import (
    TRACE_CONTROLS,
    TRACE_LIFECYCLE,
    TRACE_LIVE_STATUSES,
    Trace,
    TraceAction,
    TraceStatus,
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
    nested_count_field = "action_count"

    def record_action(
        self, *, tenant_id: str | None, trace_id: str, fields: dict[str, Any]
    ) -> TraceAction:
        with self._lock:
            trace = self._visible(trace_id, tenant_id)
            self._require_running(trace, "record an action on")
            action = TraceAction(recorded_at=utc_now(), **fields)
            self._append_item(trace, action, updated_at=action.recorded_at)
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
        with self._lock:
            trace = self._visible(trace_id, tenant_id)
            self._require_running(trace, "complete")
            return self._change_status(
                trace,
                status,
                failure_code=failure_code,
                failure_message=failure_message,
                completed_at=utc_now(),
            )

    def _change_status(self, record: Trace, target: str, **changes: Any) -> Trace:
        if target != TraceStatus.RUNNING:
            changes.setdefault("completed_at", utc_now())
        return super()._change_status(record, target, **changes)

    @staticmethod
    def _require_running(trace: Trace, verb: str) -> None:
        if trace.status != TraceStatus.RUNNING:
            raise InvalidTransition(f"Cannot {verb} a trace that is '{trace.status.value}'.")

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


def _latest(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a


_traces_service = ServiceSingleton(TracesService.from_settings)


def get_traces_service() -> TracesService:
    return _traces_service.get()


def reset_traces_service() -> None:
    _traces_service.reset()
