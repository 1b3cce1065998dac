"""`/v1/autonomy/budgets/`: autonomy budgets and their lifecycle."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from operations.tenancy import read_tenant, write_tenant

from .serializers import BudgetCreateInput, BudgetListQuery, BudgetOutput, BudgetTransitionInput
from .services import get_budgets_service

_NOT_FOUND = OpenApiResponse(description="No such budget, or another tenant's.")
ID_PARAMETER = OpenApiParameter(
    "id", str, OpenApiParameter.PATH, description="The record id (`budget-` + hex)."
)


class BudgetViewSet(viewsets.ViewSet):
    scope_map = {
        "list": "workflows:read",
        "retrieve": "workflows:read",
        "create": "workflows:write",
        "transition": "workflows:write",
    }

    @extend_schema(
        operation_id="autonomy_budgets_list",
        tags=["autonomy"],
        parameters=[BudgetListQuery],
        responses={200: BudgetOutput(many=True)},
    )
    def list(self, request: Request) -> Response:
        query = BudgetListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        budgets = get_budgets_service().list(
            tenant_id=read_tenant(request, query.validated_data.get("tenant_id")),
            status=query.validated_data.get("state"),
            limit=query.validated_data["limit"],
        )
        return Response(BudgetOutput([b.model_dump() for b in budgets], many=True).data)

    @extend_schema(
        operation_id="autonomy_budgets_create",
        tags=["autonomy"],
        request=BudgetCreateInput,
        responses={201: BudgetOutput},
    )
    def create(self, request: Request) -> Response:
        data = BudgetCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        budget = get_budgets_service().create(
            tenant_id=write_tenant(request), fields=data.validated_data
        )
        return Response(BudgetOutput(budget.model_dump()).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="autonomy_budgets_retrieve",
        parameters=[ID_PARAMETER],
        tags=["autonomy"],
        responses={200: BudgetOutput, 404: _NOT_FOUND},
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        budget = get_budgets_service().get(tenant_id=read_tenant(request), record_id=pk)
        return Response(BudgetOutput(budget.model_dump()).data)

    @extend_schema(
        operation_id="autonomy_budgets_transition",
        parameters=[ID_PARAMETER],
        tags=["autonomy"],
        request=BudgetTransitionInput,
        responses={
            200: BudgetOutput,
            404: _NOT_FOUND,
            409: OpenApiResponse(description="The lifecycle refuses it (`invalid_transition`)."),
        },
    )
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk: str) -> Response:
        data = BudgetTransitionInput(data=request.data)
        data.is_valid(raise_exception=True)
        budget = get_budgets_service().move(
            tenant_id=read_tenant(request),
            budget_id=pk,
            to_state=data.validated_data["to_state"],
            approved_by=data.validated_data.get("approved_by"),
        )
        return Response(BudgetOutput(budget.model_dump()).data)
