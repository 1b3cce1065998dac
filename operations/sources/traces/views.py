"""`/v1/traces/`: record agent traces, their actions and their outcome."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from operations.tenancy import read_tenant, write_tenant

from .serializers import (
    TraceActionInput,
    TraceActionOutput,
    TraceCompleteInput,
    TraceCreateInput,
    TraceListQuery,
    TraceOutput,
)
from .services import get_traces_service

_NOT_FOUND = OpenApiResponse(description="No such trace, or another tenant's.")
_NOT_RUNNING = OpenApiResponse(description="The trace is not running (`invalid_transition`).")
ID_PARAMETER = OpenApiParameter(
    "id", str, OpenApiParameter.PATH, description="The record id (`trace-` + hex)."
)


class TraceViewSet(viewsets.ViewSet):
    scope_map = {
        "list": "workflows:read",
        "retrieve": "workflows:read",
        "create": "workflows:write",
        "actions": "workflows:write",
        "complete": "workflows:write",
    }

    @extend_schema(
        operation_id="traces_list",
        tags=["traces"],
        parameters=[TraceListQuery],
        responses={200: TraceOutput(many=True)},
    )
    def list(self, request: Request) -> Response:
        query = TraceListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        traces = get_traces_service().list(
            tenant_id=read_tenant(request, query.validated_data.get("tenant_id")),
            status=query.validated_data.get("status"),
            limit=query.validated_data["limit"],
        )
        return Response(TraceOutput([t.model_dump() for t in traces], many=True).data)

    @extend_schema(
        operation_id="traces_create",
        tags=["traces"],
        request=TraceCreateInput,
        responses={201: TraceOutput},
    )
    def create(self, request: Request) -> Response:
        data = TraceCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        trace = get_traces_service().create(
            tenant_id=write_tenant(request), fields=data.validated_data
        )
        return Response(TraceOutput(trace.model_dump()).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="traces_retrieve",
        parameters=[ID_PARAMETER],
        tags=["traces"],
        responses={200: TraceOutput, 404: _NOT_FOUND},
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        trace = get_traces_service().get(tenant_id=read_tenant(request), record_id=pk)
        return Response(TraceOutput(trace.model_dump()).data)

    @extend_schema(
        operation_id="traces_actions_create",
        parameters=[ID_PARAMETER],
        tags=["traces"],
        request=TraceActionInput,
        responses={201: TraceActionOutput, 404: _NOT_FOUND, 409: _NOT_RUNNING},
    )
    @action(detail=True, methods=["post"])
    def actions(self, request: Request, pk: str) -> Response:
        data = TraceActionInput(data=request.data)
        data.is_valid(raise_exception=True)
        recorded = get_traces_service().record_action(
            tenant_id=read_tenant(request), trace_id=pk, fields=data.validated_data
        )
        return Response(TraceActionOutput(recorded.model_dump()).data, status=201)

    @extend_schema(
        operation_id="traces_complete",
        parameters=[ID_PARAMETER],
        tags=["traces"],
        request=TraceCompleteInput,
        responses={200: TraceOutput, 404: _NOT_FOUND, 409: _NOT_RUNNING},
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str) -> Response:
        data = TraceCompleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        trace = get_traces_service().complete(
            tenant_id=read_tenant(request), trace_id=pk, **data.validated_data
        )
        return Response(TraceOutput(trace.model_dump()).data)
