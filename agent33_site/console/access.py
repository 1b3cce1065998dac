"""Who may do what in the console: the same principal and scope rule as the API (contract §2).

The console acts only as the logged-in staff user (superuser: operator with `admin`;
other staff: operator with every `*:read`). An `Authorization: Bearer` header sent with a
console request is ignored: the principal is read from the session user alone, never
combined with a token. Staff are operators, so reads pass `tenant_id=None` or the tenant
the page narrows to.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

from agent33_core.tenancy import reading_tenant
from agent33_site.security.authentication import staff_principal
from agent33_site.security.principal import Principal
from agent33_site.security.scopes import has_scope


def principal_of(request: HttpRequest) -> Principal | None:
    """The logged-in staff user as a principal; a bearer token plays no part here."""
    return staff_principal(getattr(request, "user", None))


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


def read_tenant(request: HttpRequest, narrowed: str | None) -> str | None:
    """The tenancy rule (agent33_core) applied to the staff principal: staff are operators,
    so a page reads every tenant (None) unless it narrows to one."""
    principal = principal_of(request)
    if principal is None:
        raise PermissionDenied("Staff only.")
    return reading_tenant(principal.tenant_id, narrowed)


ConsoleView = Callable[..., HttpResponse]


def scoped(view: ConsoleView, scopes: dict[str, str]) -> ConsoleView:
    """`view` behind the console's scope table: the scope each HTTP method needs.

    Like the API's `scope_map`, declared once next to the URL; HEAD needs what GET needs,
    and a method the table does not name is a 405.
    """

    @wraps(view)
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        method = "GET" if request.method == "HEAD" else request.method
        scope = scopes.get(method)
        if scope is None:
            return HttpResponseNotAllowed(list(scopes))
        require(request, scope)
        return view(request, *args, **kwargs)

    return checked
