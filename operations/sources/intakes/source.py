"""Intakes as hub processes (type `improvement_intake`, include `improvements`, prefix `intake`)."""

from operations.sources.base import ServiceBackedSource

from .services import IntakesService, intakes_service

intakes_source = ServiceBackedSource(
    service_class=IntakesService, include_key="improvements", handle=intakes_service
)
