"""The autonomy budget service: the only place budgets change."""

from __future__ import annotations

from typing import Any

from agent33_core.registry import services
from operations.sources.base import LifecycleService

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
    process_type = "autonomy_budget"
    name_field = "task_id"
    record_model = AutonomyBudget
    status_field = "state"
    initial_status = BudgetState.DRAFT
    lifecycle = BUDGET_LIFECYCLE
    live_statuses = BUDGET_LIVE_STATES
    controls = BUDGET_CONTROLS

    def move(
        self, *, tenant_id: str | None, budget_id: str, to_state: str, approved_by: str | None
    ) -> AutonomyBudget:
        changes = {} if approved_by is None else {"approved_by": approved_by}
        return self.transition(tenant_id=tenant_id, record_id=budget_id, target=to_state, **changes)

    def entry_metadata(self, record: AutonomyBudget) -> dict[str, Any]:
        return {
            "agent_id": record.agent_id,
            "description": record.description,
            "approved_by": record.approved_by,
        }


budgets_service = services.register("operations.budgets", BudgetsService.from_settings)


def get_budgets_service() -> BudgetsService:
    return budgets_service.get()
