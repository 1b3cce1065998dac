"""The hub API: `/v1/operations/hub`, process detail, and lifecycle controls."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from agent33_core.fields import TenantQuerySerializer
from agent33_core.renderers import RenderedJSON
from agent33_core.views import KitAPIView, KitViewSet, shared_serializer

from .serializers import ControlInput, HubOutput, HubQuery, ProcessDetailOutput
from .services import get_operations_service

EMPTY_QUERY_VALUE = "May not be empty."

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


# An empty `?x=` for a declared parameter is a 400 saying so (contract §1). The kit's
# `query()` refuses it too, with each field's own message; this keeps the one message this
# app's API has always given. No docstring: drf-spectacular would publish it.
class EmptyQueryValueMixin:
    def query(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        fields = shared_serializer(serializer_class).fields  # bound once, not per request
        params = self.request.query_params
        empty = {name: [EMPTY_QUERY_VALUE] for name in fields if params.get(name, None) == ""}
        if empty:
            raise serializers.ValidationError(empty)
        return super().query(serializer_class)


class HubView(EmptyQueryValueMixin, KitAPIView):
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
        query = self.query(HubQuery)
        return Response(
            RenderedJSON(
                get_operations_service().snapshot_json(
                    tenant_id=self.reading_tenant(query),
                    include=query["include"],
                    since=query.get("since"),
                    status=query.get("status"),
                    limit=query["limit"],
                )
            )
        )


class ProcessViewSet(EmptyQueryValueMixin, KitViewSet):
    """One process by id, whatever its source, and the controls it accepts."""

    scope_map = {"retrieve": "workflows:read", "control": "workflows:execute"}

    @extend_schema(
        operation_id="operations_processes_retrieve",
        tags=["operations"],
        parameters=[ID_PARAMETER, TenantQuerySerializer],
        responses={200: ProcessDetailOutput, 404: _NOT_FOUND},
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        query = self.query(TenantQuerySerializer)
        return Response(
            get_operations_service().detail(tenant_id=self.reading_tenant(query), process_id=pk)
        )

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
        data = self.body(ControlInput)
        return Response(
            get_operations_service().control(
                tenant_id=self.reading_tenant(),
                process_id=pk,
                action=data["action"],
                reason=data["reason"],
                actor=self.actor(),
            )
        )
