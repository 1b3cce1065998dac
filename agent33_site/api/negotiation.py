"""Content negotiation without the parsing when the client takes JSON (issue 15).

DRF's negotiation builds the request's header and query dicts and parses the Accept list on
every request, even when it says `*/*` or nothing at all, which is what integrations and
SDKs send. Those, and an exact `application/json`, get the first renderer (the project's
JSON renderer) straight away; anything else (a browser's `text/html`, `?format=`, media
type parameters) goes through DRF's full negotiation and answers exactly as before.
"""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation

_TAKES_JSON = frozenset({"", "*/*", "application/json"})


class ContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        meta = request._request.META
        first = renderers[0] if renderers else None
        if (
            first is not None
            and first.media_type == "application/json"
            and format_suffix is None
            and self.settings.URL_FORMAT_OVERRIDE not in meta.get("QUERY_STRING", "")
            and meta.get("HTTP_ACCEPT", "").strip() in _TAKES_JSON
        ):
            return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)
