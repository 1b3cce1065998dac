"""Autonomy budget records, their lifecycle and controls (pause, resume, cancel)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class BudgetState(StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    COMPLETED = "completed"
    REJECTED = "rejected"


S = BudgetState
BUDGET_LIFECYCLE: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.PENDING_APPROVAL, S.ACTIVE}),
    S.PENDING_APPROVAL: frozenset({S.ACTIVE, S.REJECTED}),
    S.ACTIVE: frozenset({S.SUSPENDED, S.EXPIRED, S.COMPLETED}),
    S.SUSPENDED: frozenset({S.ACTIVE, S.EXPIRED}),
    S.EXPIRED: frozenset(),
    S.COMPLETED: frozenset(),
    S.REJECTED: frozenset({S.DRAFT}),
}
BUDGET_LIVE_STATES = frozenset({S.ACTIVE, S.SUSPENDED})
BUDGET_CONTROLS: dict[str, dict[str, str]] = {
    "pause": {S.ACTIVE: S.SUSPENDED},
    "resume": {S.SUSPENDED: S.ACTIVE},
    "cancel": {S.ACTIVE: S.EXPIRED, S.SUSPENDED: S.EXPIRED},
}


class AutonomyBudget(BaseModel):
    id: str
    tenant_id: str
    task_id: str = ""  # both optional, as in AGENT33
    agent_id: str = ""
    description: str = ""
    limits: dict[str, Any] = Field(default_factory=dict)
    state: BudgetState
    approved_by: str = ""
    started_at: datetime
    created_at: datetime
    updated_at: datetime
