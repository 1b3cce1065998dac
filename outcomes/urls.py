"""Routes of the outcomes app, mounted under /v1/outcomes/ by the project."""

from rest_framework.routers import SimpleRouter

from .views import (
    ExperimentViewSet,
    OutcomeEventViewSet,
    OutcomeInsightViewSet,
    OutcomeTrendViewSet,
)

router = SimpleRouter()
router.trailing_slash = "/?"  # both /v1/x and /v1/x/ answer, no redirect on POST
router.register("events", OutcomeEventViewSet, basename="outcomes-events")
router.register("trends", OutcomeTrendViewSet, basename="outcomes-trends")
router.register("experiments", ExperimentViewSet, basename="outcomes-experiments")
router.register("", OutcomeInsightViewSet, basename="outcomes")

urlpatterns = router.urls
