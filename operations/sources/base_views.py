"""What the four sources' APIs share: list / create / retrieve, and how they are documented.

A source's viewset subclasses `SourceViewSet`, names its service getter and serializers,
and keeps only its own actions (transition, events, ...). `SourceSchema` gives each
source its OpenAPI tag, operationIds, id parameter and 404 text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from agent33_core.views import KitViewSet
from operations.views import EmptyQueryValueMixin

from .base import LifecycleService

V = TypeVar("V", bound="SourceViewSet")

REFUSED_BY_LIFECYCLE = OpenApiResponse(
    description="The lifecycle refuses it (`invalid_transition`)."
)
QUOTA_EXCEEDED = OpenApiResponse(
    description="The tenant's store for this source is full of live records "
    "(`quota_exceeded`); nothing was stored."
)


# No docstring: drf-spectacular would publish it as every operation's description.
class SourceViewSet(EmptyQueryValueMixin, KitViewSet):
    get_service: ClassVar[Callable[[], LifecycleService[Any]]]  # staticmethod(get_X_service)
    list_query: ClassVar[type[serializers.Serializer]]  # tenant_id, limit, lifecycle filter
    create_input: ClassVar[type[serializers.Serializer]]
    output: ClassVar[type[serializers.Serializer]]  # detail, create and transition (schema)
    list_output: ClassVar[type[serializers.Serializer] | None] = None  # default `output`
    status_query_field: ClassVar[str] = "status"  # the list query field that filters status

    def list(self, request: Request) -> Response:
        query = self.query(self.list_query)
        return Response(
            self.get_service().list_summaries(
                tenant_id=self.reading_tenant(query),
                status=query.get(self.status_query_field),
                limit=query["limit"],
            )
        )

    def create(self, request: Request) -> Response:
        fields = dict(self.body(self.create_input))
        record = self.get_service().create(tenant_id=self.writing_tenant(), fields=fields)
        return Response(record, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.get_service().get(tenant_id=self.reading_tenant(), record_id=pk))

    @classmethod
    def list_serializer(cls) -> type[serializers.Serializer]:
        return cls.list_output or cls.output


@dataclass(frozen=True)
class SourceSchema:
    """How one source's endpoints appear in the OpenAPI schema."""

    tag: str
    operation_prefix: str  # "traces" -> traces_list, traces_create, traces_retrieve
    noun: str  # "trace" -> "No such trace, or another tenant's."
    id_prefix: str  # "trace" -> "The record id (`trace-` + hex)."

    @property
    def not_found(self) -> OpenApiResponse:
        return OpenApiResponse(description=f"No such {self.noun}, or another tenant's.")

    @property
    def id_parameter(self) -> OpenApiParameter:
        return OpenApiParameter(
            "id",
            str,
            OpenApiParameter.PATH,
            description=f"The record id (`{self.id_prefix}-` + hex).",
        )

    def standard_actions(self, viewset: type[V]) -> type[V]:
        """Class decorator: list / create / retrieve documented from the viewset's serializers."""
        return extend_schema_view(
            list=extend_schema(
                operation_id=f"{self.operation_prefix}_list",
                tags=[self.tag],
                parameters=[viewset.list_query],
                responses={200: viewset.list_serializer()(many=True)},
            ),
            create=extend_schema(
                operation_id=f"{self.operation_prefix}_create",
                tags=[self.tag],
                request=viewset.create_input,
                responses={201: viewset.output, 429: QUOTA_EXCEEDED},
            ),
            retrieve=extend_schema(
                operation_id=f"{self.operation_prefix}_retrieve",
                parameters=[self.id_parameter],
                tags=[self.tag],
                responses={200: viewset.output, 404: self.not_found},
            ),
        )(viewset)

    def record_action(
        self, operation_id: str, *, request: type[serializers.Serializer], responses: dict[int, Any]
    ) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
        """Schema of an action on one record: the id parameter and the tag, plus these."""
        return extend_schema(
            operation_id=operation_id,
            parameters=[self.id_parameter],
            tags=[self.tag],
            request=request,
            responses=responses,
        )
