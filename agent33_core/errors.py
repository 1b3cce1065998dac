"""The domain error base every app raises; the project's error handler maps it to JSON.

An error carries `http_status` and `error_code` (contract §1's table); its message is the
response's `detail`, so it must never echo text the client sent that is not valid Unicode.
"""

from __future__ import annotations


class DomainError(Exception):
    http_status = 400
    error_code = "invalid"


class QuotaExceeded(DomainError):
    """A per-tenant cap that eviction cannot free (live records, idempotency keys)."""

    http_status = 429
    error_code = "quota_exceeded"
