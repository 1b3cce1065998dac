"""Traces as hub processes (type `trace`, include key `traces`, id prefix `trace`)."""

from operations.sources.base import ServiceBackedSource

from .services import TracesService, traces_service

traces_source = ServiceBackedSource(
    service_class=TracesService, include_key="traces", handle=traces_service
)
