"""`/v1/autonomy/budgets/`: autonomy budgets and their lifecycle."""

from __future__ import annotations

from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from operations.sources.base_views import REFUSED_BY_LIFECYCLE, SourceSchema, SourceViewSet

from .serializers import BudgetCreateInput, BudgetListQuery, BudgetOutput, BudgetTransitionInput
from .services import get_budgets_service

SCHEMA = SourceSchema(
    tag="autonomy", operation_prefix="autonomy_budgets", noun="budget", id_prefix="budget"
)


@SCHEMA.standard_actions
class BudgetViewSet(SourceViewSet):
    get_service = staticmethod(get_budgets_service)
    list_query = BudgetListQuery
    create_input = BudgetCreateInput
    output = BudgetOutput
    status_query_field = "state"
    scope_map = {
        "list": "workflows:read",
        "retrieve": "workflows:read",
        "create": "workflows:write",
        "transition": "workflows:write",
    }

    @SCHEMA.record_action(
        "autonomy_budgets_transition",
        request=BudgetTransitionInput,
        responses={200: BudgetOutput, 404: SCHEMA.not_found, 409: REFUSED_BY_LIFECYCLE},
    )
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk: str) -> Response:
        data = self.body(BudgetTransitionInput)
        budget = get_budgets_service().move(
            tenant_id=self.reading_tenant(),
            budget_id=pk,
            to_state=data["to_state"],
            approved_by=data.get("approved_by"),
        )
        return Response(budget)
