"""What the WSGI and ASGI entry points do once the project is loaded, before any request."""

from __future__ import annotations

import gc

from django.urls import get_resolver

from agent33_core.registry import services
from agent33_site.checks import refuse_to_serve_without_static_manifest


def prepare_to_serve() -> None:
    # Fail at start-up, not at the first page, when collectstatic has not run (DJANGO_DEBUG=0).
    refuse_to_serve_without_static_manifest()
    # Django imports the URLconf (every view, and what the views import: scipy, numpy) at the
    # first request, and each app builds its service (Pillow, with the multimodal adapters)
    # at its first use. Both now, so that they are frozen below with the rest of start-up:
    # imported after the freeze, they were ~60,000 objects that every full collection of the
    # process walked again, a 50-100 ms pause every few seconds under load.
    get_resolver().url_patterns  # noqa: B018  (the property imports the URLconf)
    services.build_all()
    # What start-up built (Django, the apps, the URL patterns, the demo data) lives as long
    # as the process. Frozen, a full collection no longer walks it: ~90 ms less per full
    # collection on the reference machine (bench/outcomes_bench.py prints both).
    gc.collect()
    gc.freeze()
