"""Who may do what in the console: the same principal and scope rule as the API (contract §2).

The tenant middleware already turned the logged-in staff user into a principal
(superuser: operator with `admin`; other staff: operator with every `*:read`).
Staff are operators, so reads pass `tenant_id=None` or the tenant the page narrows to.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from agent33_site.security.principal import Principal
from agent33_site.security.scopes import has_scope


def principal_of(request: HttpRequest) -> Principal | None:
    return getattr(request, "principal", None)


def allows(request: HttpRequest, scope: str) -> bool:
    principal = principal_of(request)
    return principal is not None and has_scope(principal.scopes, scope)


def require(request: HttpRequest, scope: str) -> None:
    """A 403 page unless the staff principal holds `scope` (read-only staff posting a control)."""
    if not allows(request, scope):
        raise PermissionDenied(f"Missing required scope: {scope}")


def actor(request: HttpRequest) -> str:
    principal = principal_of(request)
    return principal.sub if principal is not None else ""


def read_tenant(narrowed: str | None) -> str | None:
    """Operators read every tenant (None) unless the page narrows to one."""
    return narrowed if narrowed else None
