"""`/v1/workflows/executions/`: workflow runs reported by their producers, and step events."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from operations.sources.base_views import QUOTA_EXCEEDED, SourceSchema, SourceViewSet

from .serializers import (
    StepEventInput,
    StepEventOutput,
    WorkflowRunCreateInput,
    WorkflowRunListItemOutput,
    WorkflowRunListQuery,
    WorkflowRunOutput,
)
from .services import get_workflow_runs_service

SCHEMA = SourceSchema(
    tag="workflows",
    operation_prefix="workflows_executions",
    noun="workflow run",
    id_prefix="wfrun",
)

_RUN_FULL = OpenApiResponse(
    description="The run already holds OPERATIONS_MAX_ACTIONS_PER_TRACE events "
    "(`invalid_transition`)."
)


@SCHEMA.standard_actions
class WorkflowRunViewSet(SourceViewSet):
    get_service = staticmethod(get_workflow_runs_service)
    list_query = WorkflowRunListQuery
    create_input = WorkflowRunCreateInput
    output = WorkflowRunOutput
    list_output = WorkflowRunListItemOutput
    scope_map = {
        "list": "workflows:read",
        "retrieve": "workflows:read",
        "create": "workflows:write",
        "events": "workflows:write",
    }

    @SCHEMA.record_action(
        "workflows_executions_events_create",
        request=StepEventInput,
        responses={
            201: StepEventOutput,
            404: SCHEMA.not_found,
            409: _RUN_FULL,
            429: QUOTA_EXCEEDED,
        },
    )
    @action(detail=True, methods=["post"])
    def events(self, request: Request, pk: str) -> Response:
        data = self.body(StepEventInput)
        event = get_workflow_runs_service().record_event(
            tenant_id=self.reading_tenant(),
            run_id=pk,
            step_id=data["step_id"],
            type=data["type"],
            at=data.get("at"),
        )
        return Response(event, status=status.HTTP_201_CREATED)
