"""`/v1/improvements/intakes/`: improvement intakes and their lifecycle."""

from __future__ import annotations

from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from operations.sources.base_views import REFUSED_BY_LIFECYCLE, SourceSchema, SourceViewSet

from .serializers import IntakeCreateInput, IntakeListQuery, IntakeOutput, IntakeTransitionInput
from .services import get_intakes_service

SCHEMA = SourceSchema(
    tag="improvements", operation_prefix="improvements_intakes", noun="intake", id_prefix="intake"
)


@SCHEMA.standard_actions
class IntakeViewSet(SourceViewSet):
    get_service = staticmethod(get_intakes_service)
    list_query = IntakeListQuery
    create_input = IntakeCreateInput
    output = IntakeOutput
    scope_map = {
        "list": "workflows:read",
        "retrieve": "workflows:read",
        "create": "workflows:write",
        "transition": "workflows:write",
    }

    @SCHEMA.record_action(
        "improvements_intakes_transition",
        request=IntakeTransitionInput,
        responses={200: IntakeOutput, 404: SCHEMA.not_found, 409: REFUSED_BY_LIFECYCLE},
    )
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk: str) -> Response:
        data = self.body(IntakeTransitionInput)
        intake = get_intakes_service().transition(
            tenant_id=self.reading_tenant(), record_id=pk, target=data["to_status"]
        )
        return Response(intake)
