"""DRF authentication: bearer JWTs for integrations, Django sessions for staff.

The bearer token is resolved once per request (`resolve_bearer`) and remembered on the
Django request, so the tenant middleware and DRF read the same principal.
"""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework import authentication, exceptions

from .principal import Principal
from .scopes import ADMIN_SCOPE, READ_SCOPES
from .tokens import InvalidToken, decode_token

_CACHE_ATTR = "_agent33_bearer"


def resolve_bearer(request: HttpRequest) -> Principal | None:
    """The principal of the `Authorization: Bearer` header, None when there is none.

    Raises `InvalidToken` for a header that is present but cannot be trusted.
    """
    cached = getattr(request, _CACHE_ATTR, None)
    if cached is None:
        cached = _decode_header(request)
        setattr(request, _CACHE_ATTR, cached)
    if isinstance(cached, InvalidToken):
        raise cached
    return cached or None


def _decode_header(request: HttpRequest) -> Principal | InvalidToken | bool:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        return False
    keyword, _, token = header.partition(" ")
    if keyword.lower() != "bearer":
        return False
    token = token.strip()
    if not token or " " in token:
        return InvalidToken("Invalid Authorization header: expected `Bearer <token>`.")
    try:
        return decode_token(token)
    except InvalidToken as exc:
        return exc


def staff_principal(user) -> Principal | None:
    """Superusers are operators with `admin`; other active staff read everything."""
    if not (user and user.is_authenticated and user.is_active and user.is_staff):
        return None
    scopes = frozenset({ADMIN_SCOPE}) if user.is_superuser else READ_SCOPES
    return Principal(sub=user.get_username(), scopes=scopes, tenant_id="")


class BearerJWTAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <JWT>`; a bad token is a 401 with `WWW-Authenticate: Bearer`."""

    def authenticate(self, request):
        try:
            principal = resolve_bearer(request._request)
        except InvalidToken as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from exc
        if principal is None:
            return None
        return principal, principal

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class StaffSessionAuthentication(authentication.SessionAuthentication):
    """Django staff users logged in through the admin, with CSRF on unsafe methods."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        principal = staff_principal(result[0])
        if principal is None:
            return None
        return principal, principal
