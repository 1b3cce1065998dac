"""The in-memory improvement intake service: the only place intakes change."""

from __future__ import annotations

from operations.registry import ProcessEntry
from operations.singleton import ServiceSingleton
from operations.sources.base import LifecycleService

from .domain import INTAKE_LIFECYCLE, INTAKE_LIVE_STATUSES, ImprovementIntake, IntakeStatus


class IntakesService(LifecycleService[ImprovementIntake]):
    noun = "improvement intake"
    id_prefix = "intake"
    record_model = ImprovementIntake
    initial_status = IntakeStatus.SUBMITTED
    lifecycle = INTAKE_LIFECYCLE
    live_statuses = INTAKE_LIVE_STATUSES
    controls: dict[str, dict[str, str]] = {}

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


_intakes_service = ServiceSingleton(IntakesService.from_settings)


def get_intakes_service() -> IntakesService:
    return _intakes_service.get()


def reset_intakes_service() -> None:
    _intakes_service.reset()
