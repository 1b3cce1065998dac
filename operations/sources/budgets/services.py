"""The in-memory autonomy budget service: the only place budgets change."""

from __future__ import annotations

import threading
from typing import Any

from operations.registry import ProcessEntry
from operations.sources.base import LifecycleService, max_finished_per_tenant, new_id, utc_now

from .domain import (
    BUDGET_CONTROLS,
    BUDGET_LIFECYCLE,
    BUDGET_LIVE_STATES,
    AutonomyBudget,
    BudgetState,
)


class BudgetsService(LifecycleService[AutonomyBudget]):
    noun = "autonomy budget"
    id_prefix = "budget"
    status_field = "state"
    lifecycle = BUDGET_LIFECYCLE
    live_statuses = BUDGET_LIVE_STATES
    controls = BUDGET_CONTROLS

    def create(self, *, tenant_id: str, fields: dict[str, Any]) -> AutonomyBudget:
        now = utc_now()
        budget = AutonomyBudget(
            id=new_id(self.id_prefix),
            tenant_id=tenant_id,
            state=BudgetState.DRAFT,
            started_at=now,
            created_at=now,
            updated_at=now,
            **fields,
        )
        return self._insert(budget)

    def move(
        self, *, tenant_id: str | None, budget_id: str, to_state: str, approved_by: str | None
    ) -> AutonomyBudget:
        changes = {} if approved_by is None else {"approved_by": approved_by}
        return self.transition(tenant_id=tenant_id, record_id=budget_id, target=to_state, **changes)

    def to_entry(self, record: AutonomyBudget) -> ProcessEntry:
        return ProcessEntry(
            id=record.id,
            type="autonomy_budget",
            status=record.state,
            started_at=record.started_at,
            name=record.task_id or record.id,
            tenant_id=record.tenant_id,
            metadata={
                "agent_id": record.agent_id,
                "description": record.description,
                "approved_by": record.approved_by,
            },
        )


_service: BudgetsService | None = None
_service_lock = threading.Lock()


def get_budgets_service() -> BudgetsService:
    global _service
    with _service_lock:
        if _service is None:
            _service = BudgetsService(max_finished_per_tenant=max_finished_per_tenant())
        return _service


def reset_budgets_service() -> None:
    global _service
    with _service_lock:
        _service = None
