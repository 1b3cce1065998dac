"""Tenant middleware: attaches `request.tenant_id` from the authenticated principal.

`""` means an operator (sees every tenant), a non-empty string a tenant principal, and
`None` an anonymous caller. Views pass it to services explicitly as `tenant_id=`.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .authentication import resolve_bearer, staff_principal
from .tokens import InvalidToken


class TenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            principal = resolve_bearer(request)
        except InvalidToken:
            principal = None  # DRF's authentication answers 401 for it.
        if principal is None:
            principal = staff_principal(getattr(request, "user", None))
        request.principal = principal
        request.tenant_id = principal.tenant_id if principal is not None else None
        return self.get_response(request)
