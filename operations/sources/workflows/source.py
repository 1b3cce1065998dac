"""Workflow runs as hub processes (type `workflow`, include `workflows`, prefix `wfrun`)."""

from operations.sources.base import ServiceBackedSource

from .services import WorkflowRunsService, get_workflow_runs_service

workflows_source = ServiceBackedSource(
    process_type=WorkflowRunsService.process_type,
    include_key="workflows",
    id_prefix=WorkflowRunsService.id_prefix,
    get_service=get_workflow_runs_service,
)
