"""AppConfig for the project package: management commands, templates, schema extensions,
system checks."""

from django.apps import AppConfig


class Agent33SiteConfig(AppConfig):
    name = "agent33_site"
    verbose_name = "agent33 control plane"

    def ready(self) -> None:
        from . import checks  # noqa: F401  registers the start-up system checks
        from .api import schema  # noqa: F401  registers the OpenAPI security schemes
