"""The improvement intake service: the only place intakes change."""

from __future__ import annotations

from typing import Any

from agent33_core.registry import services
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
            "research_type": str(record.research_type),
            "urgency": str(record.urgency),
        }


intakes_service = services.register("operations.intakes", IntakesService.from_settings)


def get_intakes_service() -> IntakesService:
    return intakes_service.get()
