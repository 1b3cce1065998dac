"""Routes of the operations app, mounted under /v1/ by the project."""

from rest_framework.routers import SimpleRouter

router = SimpleRouter()
router.trailing_slash = "/?"  # both /v1/x and /v1/x/ answer, no redirect on POST

urlpatterns = router.urls
