"""How the console joins the Django admin: one "Staff console" entry in the admin's app list.

The console's URLs live under /admin/console/ (mounted before the admin itself); this
module only teaches `admin.site` to list them on its index page and in its sidebar.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest
from django.urls import reverse

APP_LABEL = "console"
APP_NAME = "Staff console"

# (url name, link text, object name): the pages the admin index lists, in this order.
CONSOLE_PAGES: tuple[tuple[str, str, str], ...] = (
    ("console:hub", "Operations hub", "operationshub"),
    ("console:multimodal", "Multimodal requests", "multimodalrequests"),
    ("console:outcomes", "Outcomes", "outcomes"),
)


def console_app_entry(request: HttpRequest) -> dict[str, Any]:
    """The app dict the admin's `app_list.html` renders: one row per console page."""
    models = [
        {
            "name": title,
            "object_name": object_name,
            "admin_url": reverse(url_name),
            "add_url": None,
            "view_only": not request.user.is_superuser,
            "perms": {"add": False, "change": request.user.is_superuser, "view": True},
        }
        for url_name, title, object_name in CONSOLE_PAGES
    ]
    return {
        "name": APP_NAME,
        "app_label": APP_LABEL,
        "app_url": reverse("console:index"),
        "has_module_perms": True,
        "models": models,
    }


def install_console(site: AdminSite) -> None:
    """Add the console to `site`'s app list (index page and sidebar). Idempotent."""
    if getattr(site, "_agent33_console_installed", False):
        return
    original = site.get_app_list

    def get_app_list(request: HttpRequest, app_label: str | None = None) -> list[dict]:
        app_list = original(request, app_label)
        if app_label in (None, APP_LABEL) and site.has_permission(request):
            app_list = [console_app_entry(request), *app_list]
        return app_list

    site.get_app_list = get_app_list
    site._agent33_console_installed = True
