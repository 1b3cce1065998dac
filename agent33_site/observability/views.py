"""`GET /metrics` (contract §6): Prometheus text exposition, for operators with `admin` or
the scraper's `Authorization: Bearer <AGENT33_METRICS_TOKEN>`; anyone else gets the usual
401/403 JSON."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpResponse
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request
from rest_framework.views import APIView

from agent33_site.security.authentication import BearerJWTAuthentication, StaffSessionAuthentication
from agent33_site.security.principal import Principal
from agent33_site.security.scopes import ADMIN_SCOPE

from .prometheus import scrape

# The principal a scraper with the metrics token is: it can read /metrics and nothing else.
METRICS_SCRAPER = Principal(sub="metrics-scraper", scopes=frozenset(), tenant_id="")


class MetricsTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <AGENT33_METRICS_TOKEN>` (compared in constant time); any other
    header is left to the JWT authentication. No token configured: nobody gets in this way."""

    def authenticate(self, request: Request):
        expected = settings.AGENT33_METRICS_TOKEN
        keyword, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if not expected or keyword.lower() != "bearer":
            return None
        if hmac.compare_digest(token.strip().encode(), expected.encode()):
            return METRICS_SCRAPER, METRICS_SCRAPER
        return None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'  # so a missing credential is a 401, as on the API


class CanReadMetrics(permissions.BasePermission):
    def has_permission(self, request: Request, view) -> bool:
        principal = request.auth
        if principal is None or not hasattr(principal, "scopes"):
            raise exceptions.NotAuthenticated()
        if principal is METRICS_SCRAPER:
            return True
        if ADMIN_SCOPE not in principal.scopes:
            raise exceptions.PermissionDenied(f"Missing required scope: {ADMIN_SCOPE}")
        if not principal.is_operator:
            raise exceptions.PermissionDenied("Metrics are for operator principals.")
        return True


class MetricsView(APIView):
    """Every metric of this host (all server processes), Prometheus text format."""

    authentication_classes = [
        MetricsTokenAuthentication,
        BearerJWTAuthentication,
        StaffSessionAuthentication,
    ]
    permission_classes = [CanReadMetrics]
    throttle_classes: list = []  # a scraper is never rate limited
    schema = None  # Prometheus text, not part of the JSON API

    def perform_content_negotiation(self, request: Request, force: bool = False):
        # Prometheus asks for text; the exposition is not a renderer's output, and errors
        # are JSON whatever the Accept header says.
        return super().perform_content_negotiation(request, force=True)

    def get(self, request: Request) -> HttpResponse:
        body, content_type = scrape(request.META.get("HTTP_ACCEPT", ""))
        return HttpResponse(body, content_type=content_type)
