"""ASGI entry point; run one worker process, since state lives in memory."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agent33_site.settings")

application = get_asgi_application()

# Fail at start-up, not at the first page, when collectstatic has not run (DJANGO_DEBUG=0).
from agent33_site.checks import refuse_to_serve_without_static_manifest  # noqa: E402

refuse_to_serve_without_static_manifest()
