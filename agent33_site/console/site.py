"""How the console joins the Django admin: the admin's branding, and one "Staff console"
entry in its app list.

The console's URLs live under /admin/console/ (mounted before the admin itself); this
module only brands `admin.site` and teaches it to list them on its index page and sidebar.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest
from django.urls import reverse

APP_LABEL = "console"
APP_NAME = "Staff console"
SITE_HEADER = "agent33 control plane"
SITE_TITLE = "agent33 control plane"
INDEX_TITLE = "Administration and staff console"
SITE_URL = "/v1/docs/"  # "View site": the service has no public home page, its docs are it

# (url name, link text, object name): the pages the admin index lists, in this order.
CONSOLE_PAGES: tuple[tuple[str, str, str], ...] = (
    ("console:hub", "Operations hub", "operationshub"),
    ("console:multimodal", "Multimodal requests", "multimodalrequests"),
    ("console:outcomes", "Outcomes", "outcomes"),
    ("console:experiments", "Experiments", "experiments"),
)


def console_app_entry(request: HttpRequest) -> dict[str, Any]:
    """The app dict the admin's `app_list.html` renders: one row per console page.

    Pages are not models: each row offers "View" only, never a meaningless "Change".
    """
    models = [
        {
            "name": title,
            "object_name": object_name,
            "admin_url": reverse(url_name),
            "add_url": None,
            "view_only": True,
            "perms": {"add": False, "change": False, "view": True},
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
    """Brand `site` and add the console to its app list (index page and sidebar). Idempotent."""
    site.site_header = SITE_HEADER
    site.site_title = SITE_TITLE
    site.index_title = INDEX_TITLE
    site.site_url = SITE_URL
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
