"""Request ids, request metrics and one JSON log line per request.

First in `MIDDLEWARE`, so every response (API, errors, docs, console, 404s, a 413 refused
before any view) gets an `X-Request-ID` and is counted and logged. The caller's id is kept
when it is 1-128 characters of `[A-Za-z0-9._:-]`, else replaced (never echoed). The log
line holds method, route (the URL pattern, not the path: no ids or query values), status,
duration, principal and tenant; never headers, bodies or query strings.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from time import perf_counter

from django.http import HttpRequest, HttpResponse

from agent33_core.metrics import HTTP_REQUEST_DURATION, HTTP_REQUESTS

REQUEST_ID_HEADER = "X-Request-ID"
UNMATCHED_ROUTE = "unmatched"  # refused or answered before URL resolution (413, static, 404)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_REGEX_GROUP = re.compile(r"\(\?P<(\w+)>(?:[^()\\]|\\.)*\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
_routes: dict[str, str] = {}  # bounded: one entry per URL pattern of the project
_series: dict[tuple[str, str, int], tuple] = {}  # bounded: routes x methods x statuses

logger = logging.getLogger("agent33.requests")


def request_id_for(supplied: str | None) -> str:
    """The caller's id when it is sane, else a new one."""
    if supplied and _SANE_REQUEST_ID.fullmatch(supplied):
        return supplied
    return secrets.token_hex(16)


def route_label(pattern: str) -> str:
    """`v1/traces/(?P<pk>[^/.]+)/?$` -> `v1/traces/<pk>`: a URL pattern as a readable label."""
    label = _routes.get(pattern)
    if label is None:
        label = _REGEX_GROUP.sub(r"<\1>", pattern)
        label = _CONVERTER.sub(r"<\1>", label).removeprefix("^").removesuffix("$")
        label = label.removesuffix("/?") or "/"
        _routes[pattern] = label
    return label


def _series_for(route: str, method: str, status: int) -> tuple:
    """The request counter and latency histogram of these labels (looked up once)."""
    series = _series.get((route, method, status))
    if series is None:
        series = (
            HTTP_REQUESTS.labels(route, method, str(status)),
            HTTP_REQUEST_DURATION.labels(route, method),
        )
        _series[(route, method, status)] = series
    return series


def _principal(request: HttpRequest):
    """Who the request ran as: DRF's authenticated principal, else the tenant middleware's."""
    principal = getattr(request, "auth", None)
    if not hasattr(principal, "sub"):
        principal = getattr(request, "principal", None)
    return principal if hasattr(principal, "sub") else None


class RequestObservabilityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = perf_counter()
        request_id = request_id_for(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id
        response = self.get_response(request)
        seconds = perf_counter() - started
        response[REQUEST_ID_HEADER] = request_id
        match = getattr(request, "resolver_match", None)
        route = route_label(match.route) if match is not None else UNMATCHED_ROUTE
        method = request.method if request.method in METHODS else "other"
        status = response.status_code
        counter, histogram = _series_for(route, method, status)
        counter.inc()
        histogram.observe(seconds)
        if logger.isEnabledFor(logging.INFO):
            principal = _principal(request)
            fields = {
                "request_id": request_id,
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "sub": principal.sub if principal is not None else None,
                "tenant": principal.tenant_id if principal is not None else None,
            }
            # makeRecord + handle: what logger.info does, minus its walk up the stack
            # for a caller this line does not need (a third of the cost).
            record = logger.makeRecord(
                logger.name,
                logging.INFO,
                __file__,
                0,
                "request",
                (),
                None,
                extra={"fields": fields},
            )
            logger.handle(record)
        return response
