"""ASGI entry point; run one worker process, since state lives in memory."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agent33_site.settings")

application = get_asgi_application()
