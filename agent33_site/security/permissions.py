"""One DRF permission class that reads the scope table each view declares.

A view sets `scope_map = {"list": "outcomes:read", "create": "outcomes:write", ...}`,
keyed by viewset action (or by lower-case HTTP method for plain APIViews).
A view with no table entry for the action is refused: forgetting a scope fails closed.
"""

from __future__ import annotations

from rest_framework import exceptions, permissions

from .scopes import has_scope


def required_scope(view, request) -> str | None:
    scope_map = getattr(view, "scope_map", None) or {}
    # HEAD is answered by the GET handler, so it needs what GET needs.
    method = "get" if request.method == "HEAD" else request.method.lower()
    action = getattr(view, "action", None) or method
    return scope_map.get(action)


def handles_method(view, request) -> bool:
    """False when the view has no handler for the method, so DRF can answer 405."""
    method = request.method.lower()
    action_map = getattr(view, "action_map", None)
    if action_map is not None:
        return method in action_map
    return hasattr(view, method)


class ScopedPermission(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        principal = request.auth
        if principal is None or not hasattr(principal, "scopes"):
            raise exceptions.NotAuthenticated()
        scope = required_scope(view, request)
        if scope is None:
            if request.method == "OPTIONS" or not handles_method(view, request):
                return True
            raise exceptions.PermissionDenied("No scope is declared for this action.")
        if not has_scope(principal.scopes, scope):
            raise exceptions.PermissionDenied(f"Missing required scope: {scope}")
        return True
