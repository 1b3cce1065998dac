"""What every console view shares: the admin context, and domain errors as admin messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import admin, messages
from django.http import Http404, HttpRequest
from django.template.response import TemplateResponse

from agent33_site.api.errors import is_domain_error

T = TypeVar("T")


def render_page(
    request: HttpRequest, template: str, *, title: str, context: dict[str, Any]
) -> TemplateResponse:
    """Render with the admin's own context (site header, sidebar, user links)."""
    page = {**admin.site.each_context(request), "title": title, **context}
    return TemplateResponse(request, template, page)


def found_or_404(read: Callable[[], T]) -> T:
    """Call a service read; its domain 404 becomes this page's 404."""
    try:
        return read()
    except Exception as exc:
        if is_domain_error(exc) and exc.http_status == 404:
            raise Http404(str(exc)) from exc
        raise


def found_or_none(read: Callable[[], T]) -> T | None:
    """Call a service read where "not found" is an ordinary answer (a result not yet there)."""
    try:
        return read()
    except Exception as exc:
        if is_domain_error(exc) and exc.http_status == 404:
            return None
        raise


def run_action(request: HttpRequest, action: Callable[[], T], *, success: str) -> T | None:
    """Run a control through the service; a refusal (409, 400) becomes an admin error message.

    A 404 stays a 404 page; anything that is not a domain error is a real bug and propagates.
    """
    try:
        result = action()
    except Exception as exc:
        if not is_domain_error(exc):
            raise
        if exc.http_status == 404:
            raise Http404(str(exc)) from exc
        messages.error(request, f"{exc} ({exc.error_code})")
        return None
    messages.success(request, success)
    return result
