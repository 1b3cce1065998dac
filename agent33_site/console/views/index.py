"""The console's landing page: what it offers, and whether this staff user may control."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from ..access import allows
from ..site import APP_NAME, CONSOLE_PAGES
from .common import render_page


def console_index(request: HttpRequest) -> HttpResponse:
    pages = [{"url": reverse(name), "title": title} for name, title, _ in CONSOLE_PAGES]
    return render_page(
        request,
        "console/index.html",
        title=APP_NAME,
        context={"pages": pages, "can_control": allows(request, "admin")},
    )
