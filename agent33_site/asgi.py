"""ASGI entry point; run one worker process, since state lives in memory."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agent33_site.settings")

application = get_asgi_application()

from agent33_site.serving import prepare_to_serve  # noqa: E402

prepare_to_serve()
