"""Traces as hub processes (type `trace`, include key `traces`, id prefix `trace`)."""

from operations.sources.base import ServiceBackedSource

from .services import TracesService, get_traces_service

traces_source = ServiceBackedSource(
    process_type=TracesService.process_type,
    include_key="traces",
    id_prefix=TracesService.id_prefix,
    get_service=get_traces_service,
)
