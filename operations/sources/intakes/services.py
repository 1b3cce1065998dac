"""The in-memory improvement intake service: the only place intakes change."""

from __future__ import annotations

import threading
from typing import Any

from operations.registry import ProcessEntry
from operations.sources.base import LifecycleService, max_finished_per_tenant, new_id, utc_now

from .domain import INTAKE_LIFECYCLE, INTAKE_LIVE_STATUSES, ImprovementIntake, IntakeStatus


class IntakesService(LifecycleService[ImprovementIntake]):
    noun = "improvement intake"
    id_prefix = "intake"
    lifecycle = INTAKE_LIFECYCLE
    live_statuses = INTAKE_LIVE_STATUSES
    controls: dict[str, dict[str, str]] = {}

    def create(self, *, tenant_id: str, fields: dict[str, Any]) -> ImprovementIntake:
        now = utc_now()
        intake = ImprovementIntake(
            id=new_id(self.id_prefix),
            tenant_id=tenant_id,
            status=IntakeStatus.SUBMITTED,
            started_at=now,
            created_at=now,
            updated_at=now,
            **fields,
        )
        return self._insert(intake)

    def to_entry(self, record: ImprovementIntake) -> ProcessEntry:
        return ProcessEntry(
            id=record.id,
            type="improvement_intake",
            status=record.status,
            started_at=record.started_at,
            name=record.title or record.id,
            tenant_id=record.tenant_id,
            metadata={
                "summary": record.summary,
                "research_type": record.research_type,
                "urgency": record.urgency,
            },
        )


_service: IntakesService | None = None
_service_lock = threading.Lock()


def get_intakes_service() -> IntakesService:
    global _service
    with _service_lock:
        if _service is None:
            _service = IntakesService(max_finished_per_tenant=max_finished_per_tenant())
        return _service


def reset_intakes_service() -> None:
    global _service
    with _service_lock:
        _service = None
