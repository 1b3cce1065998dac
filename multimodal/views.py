"""Thin DRF viewsets: parse, call `MultimodalService`, return its models."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from agent33_core.views import KitViewSet

from .domain import Modality, RequestState, TenantPolicy
from .serializers import (
    MultimodalRequestCreateSerializer,
    MultimodalRequestListQuerySerializer,
    MultimodalRequestSerializer,
    MultimodalResultSerializer,
    TenantPolicySerializer,
)
from .services import get_multimodal_service

TAGS = ["multimodal"]
NOT_FOUND = OpenApiResponse(description="No such request, or another tenant's (`not_found`).")


class MultimodalRequestViewSet(KitViewSet):
    """Multimodal requests: create, read, execute, cancel, and the result of a run."""

    lookup_field = "id"
    lookup_value_regex = "[^/]+"
    scope_map = {
        "list": "multimodal:read",
        "create": "multimodal:write",
        "retrieve": "multimodal:read",
        "execute": "multimodal:write",
        "result": "multimodal:read",
        "cancel": "multimodal:write",
    }

    @extend_schema(
        operation_id="multimodal_requests_create",
        tags=TAGS,
        request=MultimodalRequestCreateSerializer,
        responses={
            201: MultimodalRequestSerializer,
            400: OpenApiResponse(
                description="Invalid input (`invalid`), or the tenant policy refuses the "
                "request (`policy_violation`; the detail names the rule)."
            ),
            429: OpenApiResponse(
                description="The tenant's live requests fill its request or byte cap "
                "(`quota_exceeded`); nothing is stored. Finished requests are evicted "
                "earliest finished first to make room, so this needs only live ones."
            ),
        },
        description="Create a request; with `execute_now` (default) the adapter runs before "
        "the answer, so the record comes back `completed` or `failed`. The request counts "
        "against the tenant's caps (`MULTIMODAL_MAX_REQUESTS_PER_TENANT`, "
        "`MULTIMODAL_MAX_BYTES_PER_TENANT`: input artifact, texts and results).",
    )
    def create(self, request: Request) -> Response:
        data = self.body(MultimodalRequestCreateSerializer)
        service = get_multimodal_service()
        record = service.create_request(
            tenant_id=self.writing_tenant(),
            modality=Modality(data["modality"]),
            input_text=data["input_text"],
            input_artifact_id=data["input_artifact_id"],
            input_artifact_base64=data.get("input_artifact_base64"),
            requested_timeout_seconds=data.get("requested_timeout_seconds"),
            requested_by=data.get("requested_by") or self.actor(),
        )
        if data["execute_now"]:
            record = service.execute(tenant_id=record.tenant_id, request_id=record.id)
        return Response(record, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="multimodal_requests_list",
        tags=TAGS,
        parameters=[MultimodalRequestListQuerySerializer],
        responses={200: MultimodalRequestSerializer(many=True)},
        description="Newest first; `limit` default 50, 1-500. An empty or unknown query "
        "value is a 400.",
    )
    def list(self, request: Request) -> Response:
        params = self.query(MultimodalRequestListQuerySerializer)
        records = get_multimodal_service().list_requests(
            tenant_id=self.reading_tenant(params),
            modality=Modality(params["modality"]) if "modality" in params else None,
            state=RequestState(params["state"]) if "state" in params else None,
            limit=params["limit"],
        )
        return Response(records)

    @extend_schema(
        operation_id="multimodal_requests_retrieve",
        tags=TAGS,
        responses={200: MultimodalRequestSerializer, 404: NOT_FOUND},
    )
    def retrieve(self, request: Request, id: str) -> Response:
        record = get_multimodal_service().get_request(
            tenant_id=self.reading_tenant(), request_id=id
        )
        return Response(record)

    @extend_schema(
        operation_id="multimodal_requests_execute",
        tags=TAGS,
        request=None,
        responses={
            200: MultimodalRequestSerializer,
            404: NOT_FOUND,
            409: OpenApiResponse(
                description="The request is completed, cancelled or already processing "
                "(`invalid_transition`)."
            ),
        },
        description="Run the adapter (from pending, or retry from failed); answers when "
        "the run ends or times out. Output that cannot fit the tenant's byte cap beside its "
        "live requests (finished ones are evicted first) ends the run `failed`; retry later.",
    )
    @action(detail=True, methods=["post"])
    def execute(self, request: Request, id: str) -> Response:
        record = get_multimodal_service().execute(tenant_id=self.reading_tenant(), request_id=id)
        return Response(record)

    @extend_schema(
        operation_id="multimodal_requests_result",
        tags=TAGS,
        responses={
            200: MultimodalResultSerializer,
            404: OpenApiResponse(description="No such request, or no result exists yet."),
        },
    )
    @action(detail=True, methods=["get"])
    def result(self, request: Request, id: str) -> Response:
        result = get_multimodal_service().get_result(tenant_id=self.reading_tenant(), request_id=id)
        return Response(result)

    @extend_schema(
        operation_id="multimodal_requests_cancel",
        tags=TAGS,
        request=None,
        responses={
            200: MultimodalRequestSerializer,
            404: NOT_FOUND,
            409: OpenApiResponse(
                description="The request is completed, failed or cancelled (`invalid_transition`)."
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, id: str) -> Response:
        record = get_multimodal_service().cancel(tenant_id=self.reading_tenant(), request_id=id)
        return Response(record)


TENANT_PATH_PARAMETER = OpenApiParameter(
    "tenant_id", str, OpenApiParameter.PATH, description="The tenant the policy applies to."
)
OPERATOR_ONLY = OpenApiResponse(
    description="Missing `multimodal:admin`, or the caller is a tenant principal "
    "(`permission_denied`): policies are written by operators only."
)


class TenantPolicyViewSet(KitViewSet):
    """A tenant's multimodal policy: read by the tenant or an operator, written by operators."""

    scope_map = {
        "retrieve": "multimodal:read",
        "update": "multimodal:admin",
        "partial_update": "multimodal:admin",
    }

    @extend_schema(
        operation_id="multimodal_policies_retrieve",
        tags=TAGS,
        parameters=[TENANT_PATH_PARAMETER],
        responses={
            200: TenantPolicySerializer,
            404: OpenApiResponse(
                description="A tenant principal asked for another tenant's policy (`not_found`)."
            ),
        },
        description="A tenant without a stored policy gets the defaults.",
    )
    def retrieve(self, request: Request, tenant_id: str) -> Response:
        policy = get_multimodal_service().get_policy(
            tenant_id=self.reading_tenant(), policy_tenant_id=tenant_id
        )
        return Response(policy)

    @extend_schema(
        operation_id="multimodal_policies_update",
        tags=TAGS,
        parameters=[TENANT_PATH_PARAMETER],
        request=TenantPolicySerializer,
        responses={200: TenantPolicySerializer, 403: OPERATOR_ONLY},
        description="Replace the policy; omitted fields take their defaults.",
    )
    def update(self, request: Request, tenant_id: str) -> Response:
        body = self.body(TenantPolicySerializer)
        policy = get_multimodal_service().replace_policy(
            tenant_id=self.reading_tenant(), policy_tenant_id=tenant_id, policy=TenantPolicy(**body)
        )
        return Response(policy)

    @extend_schema(
        operation_id="multimodal_policies_partial_update",
        tags=TAGS,
        parameters=[TENANT_PATH_PARAMETER],
        request=TenantPolicySerializer(partial=True),
        responses={200: TenantPolicySerializer, 403: OPERATOR_ONLY},
        description="Merge the given fields into the current policy.",
    )
    def partial_update(self, request: Request, tenant_id: str) -> Response:
        body = TenantPolicySerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        policy = get_multimodal_service().update_policy(
            tenant_id=self.reading_tenant(),
            policy_tenant_id=tenant_id,
            changes=dict(body.validated_data),
        )
        return Response(policy)
