"""`/v1/traces/`: record agent traces, their actions and their outcome."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from operations.sources.base_views import QUOTA_EXCEEDED, SourceSchema, SourceViewSet

from .serializers import (
    TraceActionInput,
    TraceActionOutput,
    TraceCompleteInput,
    TraceCreateInput,
    TraceListItemOutput,
    TraceListQuery,
    TraceOutput,
)
from .services import get_traces_service

SCHEMA = SourceSchema(tag="traces", operation_prefix="traces", noun="trace", id_prefix="trace")
_NOT_RUNNING = OpenApiResponse(description="The trace is not running (`invalid_transition`).")
_NOT_RUNNING_OR_FULL = OpenApiResponse(
    description="The trace is not running, or already holds "
    "OPERATIONS_MAX_ACTIONS_PER_TRACE actions (`invalid_transition`)."
)


@SCHEMA.standard_actions
class TraceViewSet(SourceViewSet):
    get_service = staticmethod(get_traces_service)
    list_query = TraceListQuery
    create_input = TraceCreateInput
    output = TraceOutput
    list_output = TraceListItemOutput
    scope_map = {
        "list": "workflows:read",
        "retrieve": "workflows:read",
        "create": "workflows:write",
        "actions": "workflows:write",
        "complete": "workflows:write",
    }

    @SCHEMA.record_action(
        "traces_actions_create",
        request=TraceActionInput,
        responses={
            201: TraceActionOutput,
            404: SCHEMA.not_found,
            409: _NOT_RUNNING_OR_FULL,
            429: QUOTA_EXCEEDED,
        },
    )
    @action(detail=True, methods=["post"])
    def actions(self, request: Request, pk: str) -> Response:
        recorded = get_traces_service().record_action(
            tenant_id=self.reading_tenant(), trace_id=pk, fields=self.body(TraceActionInput)
        )
        return Response(recorded, status=status.HTTP_201_CREATED)

    @SCHEMA.record_action(
        "traces_complete",
        request=TraceCompleteInput,
        responses={200: TraceOutput, 404: SCHEMA.not_found, 409: _NOT_RUNNING},
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str) -> Response:
        trace = get_traces_service().complete(
            tenant_id=self.reading_tenant(), trace_id=pk, **self.body(TraceCompleteInput)
        )
        return Response(trace)
