"""Routes of the operations app, mounted under /v1/ by the project."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from .sources.budgets.views import BudgetViewSet
from .sources.intakes.views import IntakeViewSet
from .sources.traces.views import TraceViewSet
from .sources.workflows.views import WorkflowRunViewSet
from .stream_views import OperationsStreamView
from .views import HubView, ProcessViewSet

router = SimpleRouter()
router.trailing_slash = "/?"  # both /v1/x and /v1/x/ answer, no redirect on POST
router.register("traces", TraceViewSet, basename="traces")
router.register("autonomy/budgets", BudgetViewSet, basename="autonomy-budgets")
router.register("improvements/intakes", IntakeViewSet, basename="improvements-intakes")
router.register("workflows/executions", WorkflowRunViewSet, basename="workflows-executions")
router.register("operations/processes", ProcessViewSet, basename="operations-processes")

urlpatterns = [
    re_path(r"^operations/hub/?$", HubView.as_view(), name="operations-hub"),
    re_path(r"^operations/stream/?$", OperationsStreamView.as_view(), name="operations-stream"),
    *router.urls,
]
