"""Refuse an oversized body before anything reads it: 413 JSON, never a 500.

DRF streams JSON bodies straight from the socket, so Django's own
`DATA_UPLOAD_MAX_MEMORY_SIZE` check never runs for them; this applies it to every body.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .errors import payload_too_large_response


class BodySizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            return payload_too_large_response()
        return self.get_response(request)
