"""WSGI entry point; run one process with threads, since state lives in memory."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agent33_site.settings")

application = get_wsgi_application()

from agent33_site.serving import prepare_to_serve  # noqa: E402

prepare_to_serve()
