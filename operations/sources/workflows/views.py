"""`/v1/workflows/executions/`: workflow runs reported by their producers, and step events."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from operations.tenancy import read_tenant, write_tenant

from .serializers import (
    StepEventInput,
    StepEventOutput,
    WorkflowRunCreateInput,
    WorkflowRunListQuery,
    WorkflowRunOutput,
)
from .services import get_workflow_runs_service

_NOT_FOUND = OpenApiResponse(description="No such workflow run, or another tenant's.")
ID_PARAMETER = OpenApiParameter(
    "id", str, OpenApiParameter.PATH, description="The record id (`wfrun-` + hex)."
)


class WorkflowRunViewSet(viewsets.ViewSet):
    scope_map = {
        "list": "workflows:read",
        "retrieve": "workflows:read",
        "create": "workflows:write",
        "events": "workflows:write",
    }

    @extend_schema(
        operation_id="workflows_executions_list",
        tags=["workflows"],
        parameters=[WorkflowRunListQuery],
        responses={200: WorkflowRunOutput(many=True)},
    )
    def list(self, request: Request) -> Response:
        query = WorkflowRunListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        runs = get_workflow_runs_service().list(
            tenant_id=read_tenant(request, query.validated_data.get("tenant_id")),
            status=query.validated_data.get("status"),
            limit=query.validated_data["limit"],
        )
        return Response(WorkflowRunOutput([r.model_dump() for r in runs], many=True).data)

    @extend_schema(
        operation_id="workflows_executions_create",
        tags=["workflows"],
        request=WorkflowRunCreateInput,
        responses={201: WorkflowRunOutput},
    )
    def create(self, request: Request) -> Response:
        data = WorkflowRunCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        run = get_workflow_runs_service().create(
            tenant_id=write_tenant(request), fields=dict(data.validated_data)
        )
        return Response(WorkflowRunOutput(run.model_dump()).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="workflows_executions_retrieve",
        parameters=[ID_PARAMETER],
        tags=["workflows"],
        responses={200: WorkflowRunOutput, 404: _NOT_FOUND},
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        run = get_workflow_runs_service().get(tenant_id=read_tenant(request), record_id=pk)
        return Response(WorkflowRunOutput(run.model_dump()).data)

    @extend_schema(
        operation_id="workflows_executions_events_create",
        parameters=[ID_PARAMETER],
        tags=["workflows"],
        request=StepEventInput,
        responses={201: StepEventOutput, 404: _NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def events(self, request: Request, pk: str) -> Response:
        data = StepEventInput(data=request.data)
        data.is_valid(raise_exception=True)
        event = get_workflow_runs_service().record_event(
            tenant_id=read_tenant(request),
            run_id=pk,
            step_id=data.validated_data["step_id"],
            type=data.validated_data["type"],
            at=data.validated_data.get("at"),
        )
        return Response(StepEventOutput(event.model_dump()).data, status=201)
