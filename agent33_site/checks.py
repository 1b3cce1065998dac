"""System checks that make a half-deployed process fail at start-up, not at the first page.

`manage.py check` (and `check --deploy`, `runserver`, every management command that runs
checks, and the WSGI/ASGI entry points) reports an ERROR when the configured static files
storage keeps a manifest (production: WhiteNoise's CompressedManifestStaticFilesStorage)
and `collectstatic` has not written it: without it every admin, console and docs page
would be a bare 500.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

STATIC_MANIFEST_MISSING = "agent33_site.E001"


@register("agent33_static")
def static_manifest_exists(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    storage = staticfiles_storage
    if not isinstance(storage, ManifestFilesMixin):
        return []  # development storage: files are served from the apps' folders
    if storage.manifest_storage.exists(storage.manifest_name):
        return []
    return [
        Error(
            f"The static files manifest {storage.manifest_name} is missing from "
            f"STATIC_ROOT ({settings.STATIC_ROOT}): the admin, staff console and API docs "
            "pages would fail with a 500.",
            hint='Run `python manage.py collectstatic --noinput` (README, "Deploying").',
            id=STATIC_MANIFEST_MISSING,
        )
    ]


def refuse_to_serve_without_static_manifest() -> None:
    """Raise at WSGI/ASGI start-up when the static manifest check fails.

    `runserver` runs the system checks itself; production servers (gunicorn, uvicorn)
    do not, so the entry points call this to fail fast with the same clear message.
    """
    errors = static_manifest_exists()
    if errors:
        raise ImproperlyConfigured(" ".join(f"{e.msg} {e.hint}" for e in errors))
