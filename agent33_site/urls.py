"""URL map: the three apps under /v1/, docs, health probes, admin and staff console."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from .api.docs import RedocDocsView, SwaggerDocsView
from .api.views import HealthView, ReadyView, UnknownAPIPathView, WhoAmIView
from .observability.views import MetricsView

handler400 = "agent33_site.api.errors.handler400"
handler403 = "agent33_site.api.errors.handler403"
handler404 = "agent33_site.api.errors.handler404"
handler500 = "agent33_site.api.errors.handler500"

urlpatterns = [
    path("healthz", HealthView.as_view(), name="healthz"),
    path("readyz", ReadyView.as_view(), name="readyz"),
    path("metrics", MetricsView.as_view(), name="metrics"),
    path("v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("v1/docs/", SwaggerDocsView.as_view(url_name="schema"), name="swagger-ui"),
    path("v1/redoc/", RedocDocsView.as_view(url_name="schema"), name="redoc"),
    re_path(r"^v1/whoami/?$", WhoAmIView.as_view(), name="whoami"),
    # Apps with one prefix are mounted under it, so resolving another app's path never
    # walks their patterns (the operations app has several prefixes: it takes the rest).
    path("v1/outcomes/", include("outcomes.urls")),
    path("v1/multimodal/", include("multimodal.urls")),
    path("v1/", include("operations.urls")),
    path("admin/console/", include("agent33_site.console.urls")),
    path("admin/", admin.site.urls),
    re_path(r"^v1/.*$", UnknownAPIPathView.as_view(), name="api-not-found"),
]
