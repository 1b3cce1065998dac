"""Console URLs, mounted at /admin/console/ (namespace `console`), each behind the admin login.

Importing this module also lists the console on the admin index (`site.install_console`).
"""

from django.contrib import admin
from django.urls import path

from .site import install_console
from .views import hub, index, multimodal, outcomes

install_console(admin.site)

app_name = "console"


def staff(view):
    """Only active staff; anyone else goes to the admin login (Django's own `admin_view`)."""
    return admin.site.admin_view(view)


urlpatterns = [
    path("", staff(index.console_index), name="index"),
    path("hub/", staff(hub.hub_list), name="hub"),
    path("hub/<str:process_id>/", staff(hub.hub_detail), name="hub_detail"),
    path("hub/<str:process_id>/control/", staff(hub.hub_control), name="hub_control"),
    path("multimodal/", staff(multimodal.request_list), name="multimodal"),
    path(
        "multimodal/requests/<str:request_id>/",
        staff(multimodal.request_detail),
        name="multimodal_detail",
    ),
    path(
        "multimodal/requests/<str:request_id>/execute/",
        staff(multimodal.request_execute),
        name="multimodal_execute",
    ),
    path(
        "multimodal/requests/<str:request_id>/cancel/",
        staff(multimodal.request_cancel),
        name="multimodal_cancel",
    ),
    path("multimodal/policies/", staff(multimodal.policy_pick), name="multimodal_policy_pick"),
    path(
        "multimodal/policies/<str:tenant>/",
        staff(multimodal.policy_edit),
        name="multimodal_policy",
    ),
    path("outcomes/", staff(outcomes.outcomes_dashboard), name="outcomes"),
]
