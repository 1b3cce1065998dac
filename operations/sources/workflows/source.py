"""Workflow runs as hub processes (type `workflow`, include `workflows`, prefix `wfrun`).

Their default hub view is every run started since `since`, whatever its status.
"""

from datetime import datetime

from operations.registry import PageOfRecords
from operations.sources.base import ServiceBackedSource

from .services import WorkflowRunsService, workflow_runs_service


class WorkflowRunsSource(ServiceBackedSource):
    def live_page(self, *, tenant_id: str | None, since: datetime, limit: int) -> PageOfRecords:
        return workflow_runs_service.get().started_since(
            tenant_id=tenant_id, since=since, limit=limit
        )


workflows_source = WorkflowRunsSource(
    service_class=WorkflowRunsService, include_key="workflows", handle=workflow_runs_service
)
