"""Tenant middleware: attaches `request.principal` and `request.tenant_id`.

`""` means an operator (sees every tenant), a non-empty string a tenant principal, and
`None` an anonymous caller. Views pass it to services explicitly as `tenant_id=`.

One request has one principal, never a mix: under the API (/v1/) a bearer token, when
sent, is the principal (the order DRF's authentication classes follow), else the staff
session; everywhere else (admin, staff console) only the logged-in staff user counts and
an `Authorization` header is ignored.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .authentication import resolve_bearer, staff_principal
from .principal import Principal
from .tokens import InvalidToken

API_PREFIX = "/v1/"


def request_principal(request: HttpRequest) -> Principal | None:
    """The one principal of this request, as the API's authentication classes resolve it."""
    if request.path_info.startswith(API_PREFIX) and _has_bearer(request):
        try:
            return resolve_bearer(request)
        except InvalidToken:
            return None  # DRF's authentication answers 401; never fall back to the session.
    return staff_principal(getattr(request, "user", None))


def _has_bearer(request: HttpRequest) -> bool:
    keyword, _, _ = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return keyword.lower() == "bearer"


class TenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        principal = request_principal(request)
        request.principal = principal
        request.tenant_id = principal.tenant_id if principal is not None else None
        return self.get_response(request)
