"""The in-memory improvement intake service: the only place intakes change."""

from __future__ import annotations

from typing import Any

from operations.singleton import ServiceSingleton
from operations.sources.base import LifecycleService

from .domain import INTAKE_LIFECYCLE, INTAKE_LIVE_STATUSES, ImprovementIntake, IntakeStatus


class IntakesService(LifecycleService[ImprovementIntake]):
    noun = "improvement intake"
    id_prefix = "intake"
    process_type = "improvement_intake"
    name_field = "title"
    record_model = ImprovementIntake
    initial_status = IntakeStatus.SUBMITTED
    lifecycle = INTAKE_LIFECYCLE
    live_statuses = INTAKE_LIVE_STATUSES
    controls: dict[str, dict[str, str]] = {}

    def entry_metadata(self, record: ImprovementIntake) -> dict[str, Any]:
        return {
            "summary": record.summary,
            "research_type": record.research_type,
            "urgency": record.urgency,
        }


_intakes_service = ServiceSingleton(IntakesService.from_settings)


def get_intakes_service() -> IntakesService:
    return _intakes_service.get()


def reset_intakes_service() -> None:
    _intakes_service.reset()
