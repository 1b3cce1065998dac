"""Improvement intake records and their lifecycle; intakes have no hub controls."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel


class IntakeStatus(StrEnum):
    SUBMITTED = "submitted"
    TRIAGED = "triaged"
    ANALYZING = "analyzing"
    ACCEPTED = "accepted"
    DEFERRED = "deferred"
    REJECTED = "rejected"
    TRACKED = "tracked"


class ResearchType(StrEnum):
    EXTERNAL = "external"
    INTERNAL = "internal"
    COMPETITIVE = "competitive"
    USER = "user"
    TECHNICAL = "technical"


class Urgency(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


S = IntakeStatus
INTAKE_LIFECYCLE: dict[str, frozenset[str]] = {
    S.SUBMITTED: frozenset({S.TRIAGED}),
    S.TRIAGED: frozenset({S.ANALYZING}),
    S.ANALYZING: frozenset({S.ACCEPTED, S.DEFERRED, S.REJECTED}),
    S.ACCEPTED: frozenset({S.TRACKED}),
    S.DEFERRED: frozenset({S.TRIAGED}),
    S.REJECTED: frozenset(),
    S.TRACKED: frozenset(),
}
INTAKE_LIVE_STATUSES = frozenset({S.ANALYZING})


class ImprovementIntake(BaseModel):
    id: str
    tenant_id: str
    title: str
    summary: str = ""
    research_type: ResearchType
    urgency: Urgency
    status: IntakeStatus
    started_at: datetime
    created_at: datetime
    updated_at: datetime
