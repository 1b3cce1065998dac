"""Intakes as hub processes (type `improvement_intake`, include `improvements`, prefix `intake`)."""

from operations.sources.base import ServiceBackedSource

from .services import get_intakes_service

intakes_source = ServiceBackedSource(
    process_type="improvement_intake",
    include_key="improvements",
    id_prefix="intake",
    get_service=get_intakes_service,
)
