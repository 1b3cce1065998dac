"""`/v1/improvements/intakes/`: improvement intakes and their lifecycle."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from operations.tenancy import read_tenant, write_tenant

from .serializers import IntakeCreateInput, IntakeListQuery, IntakeOutput, IntakeTransitionInput
from .services import get_intakes_service

_NOT_FOUND = OpenApiResponse(description="No such intake, or another tenant's.")
ID_PARAMETER = OpenApiParameter(
    "id", str, OpenApiParameter.PATH, description="The record id (`intake-` + hex)."
)


class IntakeViewSet(viewsets.ViewSet):
    scope_map = {
        "list": "workflows:read",
        "retrieve": "workflows:read",
        "create": "workflows:write",
        "transition": "workflows:write",
    }

    @extend_schema(
        operation_id="improvements_intakes_list",
        tags=["improvements"],
        parameters=[IntakeListQuery],
        responses={200: IntakeOutput(many=True)},
    )
    def list(self, request: Request) -> Response:
        query = IntakeListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        intakes = get_intakes_service().list(
            tenant_id=read_tenant(request, query.validated_data.get("tenant_id")),
            status=query.validated_data.get("status"),
            limit=query.validated_data["limit"],
        )
        return Response(IntakeOutput([i.model_dump() for i in intakes], many=True).data)

    @extend_schema(
        operation_id="improvements_intakes_create",
        tags=["improvements"],
        request=IntakeCreateInput,
        responses={201: IntakeOutput},
    )
    def create(self, request: Request) -> Response:
        data = IntakeCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        intake = get_intakes_service().create(
            tenant_id=write_tenant(request), fields=data.validated_data
        )
        return Response(IntakeOutput(intake.model_dump()).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="improvements_intakes_retrieve",
        parameters=[ID_PARAMETER],
        tags=["improvements"],
        responses={200: IntakeOutput, 404: _NOT_FOUND},
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        intake = get_intakes_service().get(tenant_id=read_tenant(request), record_id=pk)
        return Response(IntakeOutput(intake.model_dump()).data)

    @extend_schema(
        operation_id="improvements_intakes_transition",
        parameters=[ID_PARAMETER],
        tags=["improvements"],
        request=IntakeTransitionInput,
        responses={
            200: IntakeOutput,
            404: _NOT_FOUND,
            409: OpenApiResponse(description="The lifecycle refuses it (`invalid_transition`)."),
        },
    )
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk: str) -> Response:
        data = IntakeTransitionInput(data=request.data)
        data.is_valid(raise_exception=True)
        intake = get_intakes_service().transition(
            tenant_id=read_tenant(request), record_id=pk, target=data.validated_data["to_status"]
        )
        return Response(IntakeOutput(intake.model_dump()).data)
