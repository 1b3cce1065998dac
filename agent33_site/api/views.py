"""Public health probes and the small API views the project itself owns."""

from __future__ import annotations

import redis
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agent33_core import state

from .errors import error_body


class PublicAPIView(APIView):
    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]


class HealthView(PublicAPIView):
    """Liveness: the process answers."""

    @extend_schema(
        operation_id="healthz_retrieve",
        tags=["health"],
        auth=[],
        responses=inline_serializer("Health", {"status": serializers.CharField()}),
    )
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


def pending_migrations(alias: str = DEFAULT_DB_ALIAS) -> int:
    """How many migrations the database still lacks (each `manage.py migrate` would apply)."""
    executor = MigrationExecutor(connections[alias])
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


class ReadyView(PublicAPIView):
    """Readiness: the embedded database (auth and sessions) answers and is migrated, and,
    with the Redis state backend, Redis answers."""

    # Once every migration has been seen applied, later probes skip the migration graph
    # walk and cost one `SELECT 1`.
    migrated: bool = False

    @extend_schema(
        operation_id="readyz_retrieve",
        tags=["health"],
        auth=[],
        responses={
            200: inline_serializer("Readiness", {"status": serializers.CharField()}),
            503: OpenApiResponse(
                description=(
                    "Not ready (`not_ready`): the database does not answer, its "
                    "migrations are not applied yet, or (state backend `redis`) Redis "
                    "does not answer; `detail` says which."
                )
            ),
        },
    )
    def get(self, request: Request) -> Response:
        try:
            with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
                cursor.execute("SELECT 1")
            pending = 0 if ReadyView.migrated else pending_migrations()
        except Exception:  # any database failure means "not ready", never a 500
            return Response(error_body("Database unavailable.", "not_ready"), status=503)
        if pending:
            detail = (
                f"Database migrations are not applied ({pending} pending): "
                "run `python manage.py migrate`."
            )
            return Response(error_body(detail, "not_ready"), status=503)
        ReadyView.migrated = True
        if state.backend() == state.REDIS:
            try:
                state.redis_client().ping()
            except redis.RedisError:
                return Response(error_body("Redis does not answer.", "not_ready"), status=503)
        return Response({"status": "ready"})


class WhoAmIView(APIView):
    """The caller as the service layer sees it: proves the tenant reaches it."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="whoami_retrieve",
        tags=["auth"],
        responses=inline_serializer(
            "WhoAmI",
            {
                "sub": serializers.CharField(),
                "scopes": serializers.ListField(child=serializers.CharField()),
                "tenant_id": serializers.CharField(allow_blank=True),
                "is_operator": serializers.BooleanField(),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        principal = request.auth
        return Response(
            {
                "sub": principal.sub,
                "scopes": sorted(principal.scopes),
                "tenant_id": request.tenant_id,
                "is_operator": principal.is_operator,
            }
        )


class UnknownAPIPathView(PublicAPIView):
    """Every unmatched path under /v1/ answers a JSON 404, whatever DEBUG says."""

    schema = None

    def get(self, request: Request, *args, **kwargs) -> Response:
        raise NotFound()

    post = put = patch = delete = head = options = get
