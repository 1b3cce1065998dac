"""The hub API: `/v1/operations/hub`, process detail, and lifecycle controls."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .serializers import ControlInput, HubOutput, HubQuery, ProcessDetailOutput
from .services import get_operations_service
from .tenancy import StrictQuery, actor, read_tenant

_NOT_FOUND = OpenApiResponse(
    description="No such process (unknown id prefix), or another tenant's."
)
ID_PARAMETER = OpenApiParameter(
    "id",
    str,
    OpenApiParameter.PATH,
    description="The process id; its prefix names its source "
    "(`trace-`, `budget-`, `intake-`, `wfrun-`, `mmreq-`).",
)


class HubView(APIView):
    """The live work of the platform across every registered source."""

    scope_map = {"get": "workflows:read"}

    @extend_schema(
        operation_id="operations_hub_retrieve",
        tags=["operations"],
        parameters=[HubQuery],
        responses={200: HubOutput},
        description="Default view: running traces, active or suspended budgets, analyzing "
        "intakes, pending or processing multimodal requests (whenever they started), and "
        "every workflow run started since `since`. With `status`: every process in that "
        "status. Sorted by `started_at`, newest first; tenant-filtered before `limit`.",
    )
    def get(self, request: Request) -> Response:
        query = HubQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        snapshot = get_operations_service().snapshot(
            tenant_id=read_tenant(request, params.get("tenant_id")),
            include=params["include"],
            since=params.get("since"),
            status=params.get("status"),
            limit=params["limit"],
        )
        return Response(HubOutput(snapshot.model_dump()).data)


class ProcessViewSet(viewsets.ViewSet):
    """One process by id, whatever its source, and the controls it accepts."""

    scope_map = {"retrieve": "workflows:read", "control": "workflows:execute"}

    @extend_schema(
        operation_id="operations_processes_retrieve",
        tags=["operations"],
        parameters=[ID_PARAMETER, StrictQuery],
        responses={200: ProcessDetailOutput, 404: _NOT_FOUND},
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        query = StrictQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        detail = get_operations_service().detail(
            tenant_id=read_tenant(request, query.validated_data.get("tenant_id")), process_id=pk
        )
        return Response(ProcessDetailOutput(detail.model_dump()).data)

    @extend_schema(
        operation_id="operations_processes_control",
        parameters=[ID_PARAMETER],
        tags=["operations"],
        request=ControlInput,
        responses={
            200: ProcessDetailOutput,
            404: _NOT_FOUND,
            409: OpenApiResponse(
                description="The type has no such control (`unsupported_action`) or its "
                "current state refuses it (`invalid_transition`)."
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def control(self, request: Request, pk: str) -> Response:
        data = ControlInput(data=request.data)
        data.is_valid(raise_exception=True)
        detail = get_operations_service().control(
            tenant_id=read_tenant(request),
            process_id=pk,
            action=data.validated_data["action"],
            reason=data.validated_data["reason"],
            actor=actor(request),
        )
        return Response(ProcessDetailOutput(detail.model_dump()).data)
