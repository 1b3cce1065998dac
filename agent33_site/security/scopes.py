"""The scopes this service knows, and the one rule that decides whether a grant covers a need."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from fnmatch import fnmatchcase

ADMIN_SCOPE = "admin"

KNOWN_SCOPES: tuple[str, ...] = (
    "workflows:read",
    "workflows:write",
    "workflows:execute",
    "multimodal:read",
    "multimodal:write",
    "multimodal:admin",
    "outcomes:read",
    "outcomes:write",
    ADMIN_SCOPE,
)

READ_SCOPES: frozenset[str] = frozenset(s for s in KNOWN_SCOPES if s.endswith(":read"))


def scope_grants(granted: str, required: str) -> bool:
    """`admin` grants all; a shell-style wildcard grants what it matches; else exact."""
    if granted in (ADMIN_SCOPE, required):
        return True
    return any(ch in granted for ch in "*?[") and fnmatchcase(required, granted)


def has_scope(granted: Collection[str], required: str) -> bool:
    if required in granted or ADMIN_SCOPE in granted:  # a set answers these without a loop
        return True
    return any(scope_grants(scope, required) for scope in granted)


def unknown_scopes(requested: Iterable[str]) -> list[str]:
    """Names that are neither a known scope nor a wildcard matching at least one."""
    return [scope for scope in requested if not any(scope_grants(scope, k) for k in KNOWN_SCOPES)]
