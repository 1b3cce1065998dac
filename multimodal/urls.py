"""Routes of the multimodal app, mounted under /v1/multimodal/ by the project."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from .views import MultimodalRequestViewSet, TenantPolicyViewSet

router = SimpleRouter()
router.trailing_slash = "/?"  # both /v1/x and /v1/x/ answer, no redirect on POST
router.register(r"requests", MultimodalRequestViewSet, basename="multimodal-request")

policy_view = TenantPolicyViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update"}
)

urlpatterns = [
    *router.urls,
    re_path(
        r"^tenants/(?P<tenant_id>[^/]{1,200})/policy/?$",
        policy_view,
        name="multimodal-tenant-policy",
    ),
]
