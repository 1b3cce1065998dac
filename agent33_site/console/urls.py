"""Console URLs, mounted at /admin/console/ (namespace `console`), each behind the admin login.

The scope each page needs per HTTP method is declared here, in one table, as the API's
viewsets declare theirs; the views themselves hold no authorization. Importing this module
also lists the console on the admin index (`site.install_console`).
"""

from collections.abc import Callable

from django.contrib import admin
from django.http import HttpResponse
from django.urls import path

from .access import scoped
from .site import install_console
from .views import experiments, hub, index, multimodal, outcomes

install_console(admin.site)

app_name = "console"

WORKFLOWS_READ = {"GET": "workflows:read"}
MULTIMODAL_READ = {"GET": "multimodal:read"}


def page(view: Callable[..., HttpResponse], scopes: dict[str, str] | None = None):
    """Only active staff (else the admin login), holding the scope the method needs."""
    return admin.site.admin_view(scoped(view, scopes) if scopes else view)


urlpatterns = [
    path("", page(index.console_index), name="index"),
    path("hub/", page(hub.hub_list, WORKFLOWS_READ), name="hub"),
    path("hub/<str:process_id>/", page(hub.hub_detail, WORKFLOWS_READ), name="hub_detail"),
    path(
        "hub/<str:process_id>/control/",
        page(hub.hub_control, {"POST": "workflows:execute"}),
        name="hub_control",
    ),
    path("multimodal/", page(multimodal.request_list, MULTIMODAL_READ), name="multimodal"),
    path(
        "multimodal/requests/<str:request_id>/",
        page(multimodal.request_detail, MULTIMODAL_READ),
        name="multimodal_detail",
    ),
    path(
        "multimodal/requests/<str:request_id>/execute/",
        page(multimodal.request_execute, {"POST": "multimodal:write"}),
        name="multimodal_execute",
    ),
    path(
        "multimodal/requests/<str:request_id>/cancel/",
        page(multimodal.request_cancel, {"POST": "multimodal:write"}),
        name="multimodal_cancel",
    ),
    path(
        "multimodal/policies/",
        page(multimodal.policy_pick, MULTIMODAL_READ),
        name="multimodal_policy_pick",
    ),
    path(
        "multimodal/policies/<str:tenant>/",
        page(multimodal.policy_edit, {"GET": "multimodal:read", "POST": "multimodal:admin"}),
        name="multimodal_policy",
    ),
    path("outcomes/", page(outcomes.outcomes_dashboard, {"GET": "outcomes:read"}), name="outcomes"),
    path(
        "outcomes/experiments/",
        page(experiments.experiment_list, {"GET": "outcomes:read"}),
        name="experiments",
    ),
    path(
        "outcomes/experiments/<str:key>/",
        page(experiments.experiment_detail, {"GET": "outcomes:read"}),
        name="experiment_detail",
    ),
]
