"""The domain errors every app raises; the project's error handler maps them to JSON.

An error carries `http_status` and `error_code` (contract §1's table); its message is the
response's `detail`, so it must never echo text the client sent that is not valid Unicode.
An app subclasses these for its own nouns; it never defines a second hierarchy.
"""

from __future__ import annotations


class DomainError(Exception):
    http_status = 400
    error_code = "invalid"


class NotFound(DomainError):
    """No such record, or another tenant's (the two are indistinguishable)."""

    http_status = 404
    error_code = "not_found"


class InvalidTransition(DomainError):
    http_status = 409
    error_code = "invalid_transition"


class UnsupportedAction(DomainError):
    http_status = 409
    error_code = "unsupported_action"


class QuotaExceeded(DomainError):
    """A per-tenant cap that eviction cannot free (live records, idempotency keys)."""

    http_status = 429
    error_code = "quota_exceeded"
