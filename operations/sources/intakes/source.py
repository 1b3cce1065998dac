"""Intakes as hub processes (type `improvement_intake`, include `improvements`, prefix `intake`)."""

from operations.sources.base import ServiceBackedSource

from .services import IntakesService, get_intakes_service

intakes_source = ServiceBackedSource(
    process_type=IntakesService.process_type,
    include_key="improvements",
    id_prefix=IntakesService.id_prefix,
    get_service=get_intakes_service,
)
