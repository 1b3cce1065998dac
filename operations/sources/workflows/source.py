"""Workflow runs as hub processes (type `workflow`, include `workflows`, prefix `wfrun`)."""

from operations.sources.base import ServiceBackedSource

from .services import get_workflow_runs_service

workflows_source = ServiceBackedSource(
    process_type="workflow",
    include_key="workflows",
    id_prefix="wfrun",
    get_service=get_workflow_runs_service,
)
