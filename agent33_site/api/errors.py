"""The one place errors become HTTP: `{detail, code[, errors]}` JSON for every 4xx/5xx.

Apps raise their own domain exceptions and never import this module; an exception
takes part by carrying two class attributes, `http_status` (int) and `error_code` (str),
and its message is the `detail`.
"""

from __future__ import annotations

import logging

import redis
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from agent33_core.jsonsafety import printable

logger = logging.getLogger(__name__)

# DRF's own codes, renamed where the contract's table says otherwise.
_CODE_BY_DRF_CODE = {
    "parse_error": "invalid",
    "invalid": "invalid",
    "not_authenticated": "not_authenticated",
    "authentication_failed": "authentication_failed",
    "permission_denied": "permission_denied",
    "not_found": "not_found",
    "method_not_allowed": "method_not_allowed",
    "unsupported_media_type": "unsupported_media_type",
    "not_acceptable": "not_acceptable",
    "throttled": "rate_limited",  # a per-principal rate limit (429, with Retry-After)
}

API_PREFIX = "/v1/"
PAYLOAD_TOO_LARGE_DETAIL = "Request body is larger than the configured limit."


def error_body(detail: str, code: str, errors: dict | None = None) -> dict:
    body: dict = {"detail": printable(str(detail)), "code": code}
    if errors is not None:
        body["errors"] = {
            printable(str(field)): [printable(str(message)) for message in messages]
            for field, messages in errors.items()
        }
    return body


def payload_too_large_response() -> JsonResponse:
    return JsonResponse(
        error_body(PAYLOAD_TOO_LARGE_DETAIL, "payload_too_large"),
        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    )


def _field_errors(detail) -> dict[str, list[str]]:
    """DRF's nested error detail, flattened to `{field: [message, ...]}`."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for field, value in detail.items():
            for sub_field, messages in _field_errors(value).items():
                key = field if sub_field == "non_field_errors" else f"{field}.{sub_field}"
                if field == "non_field_errors":
                    key = sub_field
                flat.setdefault(key, []).extend(messages)
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {"non_field_errors": [str(item) for item in detail]}
        flat = {}
        for index, item in enumerate(detail):
            for sub_field, messages in _field_errors(item).items():
                key = str(index) if sub_field == "non_field_errors" else f"{index}.{sub_field}"
                flat.setdefault(key, []).extend(messages)
        return flat
    return {"non_field_errors": [str(detail)]}


def _validation_response(exc: exceptions.ValidationError) -> Response:
    errors = _field_errors(exc.detail)
    first_field, messages = next(iter(errors.items()), ("", ["Invalid input."]))
    label = "" if first_field == "non_field_errors" else f"{first_field}: "
    return Response(error_body(f"{label}{messages[0]}", "invalid", errors), status=400)


def is_domain_error(exc: BaseException) -> bool:
    """An app's domain exception: it carries `http_status` (int) and `error_code` (str)."""
    return isinstance(getattr(exc, "http_status", None), int) and isinstance(
        getattr(exc, "error_code", None), str
    )


STATE_UNAVAILABLE_DETAIL = "The state store (Redis) does not answer; retry shortly."


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF `EXCEPTION_HANDLER`: domain errors, DRF errors and Django's own, all one shape."""
    if is_domain_error(exc):
        return Response(error_body(str(exc), exc.error_code), status=exc.http_status)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body(PAYLOAD_TOO_LARGE_DETAIL, "payload_too_large"), status=413)
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
        # The Redis state backend does not answer (restarting, unreachable). A write may or
        # may not have been applied; a retry with the same Idempotency-Key is exactly-once.
        return Response(
            error_body(STATE_UNAVAILABLE_DETAIL, "unavailable"),
            status=503,
            headers={"Retry-After": "1"},
        )
    if isinstance(exc, exceptions.ValidationError):
        return _validation_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # A real bug: Django's handler500 answers with JSON, logged.
    if isinstance(exc, exceptions.APIException):
        detail = exc.detail
        drf_code = exc.get_codes() if hasattr(exc, "get_codes") else "error"
        code = _CODE_BY_DRF_CODE.get(drf_code, drf_code) if isinstance(drf_code, str) else "error"
        response.data = error_body(str(detail), code)
    return response


# Django's handler400/403/404/500: JSON under the API, Django's own pages elsewhere
# (the admin and the staff console are HTML).


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        return payload_too_large_response()
    if _is_api(request):
        return JsonResponse(error_body("Bad request.", "invalid"), status=400)
    return defaults.bad_request(request, exception)


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("Permission denied.", "permission_denied"), status=403)
    return defaults.permission_denied(request, exception)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("Not found.", "not_found"), status=404)
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("Internal server error.", "server_error"), status=500)
    return defaults.server_error(request)
