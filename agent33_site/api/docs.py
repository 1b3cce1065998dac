"""The Swagger UI and ReDoc pages, fully offline and compatible with the site's CSP.

drf-spectacular's own templates pull Google Fonts (ReDoc) and run an inline script
without a nonce (Swagger UI); these views use the project's templates instead, so every
asset comes from this server (drf-spectacular-sidecar) and inline code carries the
request's CSP nonce.
"""

from __future__ import annotations

from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView


class SwaggerDocsView(SpectacularSwaggerView):
    template_name = "docs/swagger_ui.html"


class RedocDocsView(SpectacularRedocView):
    template_name = "docs/redoc.html"
