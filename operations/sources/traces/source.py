"""Traces as hub processes (type `trace`, include key `traces`, id prefix `trace`)."""

from operations.sources.base import ServiceBackedSource

from .services import get_traces_service

traces_source = ServiceBackedSource(
    process_type="trace", include_key="traces", id_prefix="trace", get_service=get_traces_service
)
