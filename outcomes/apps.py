"""AppConfig for the outcomes app; seeds demo events when AGENT33_SEED_DEMO is on."""

from django.apps import AppConfig
from django.conf import settings


class OutcomesConfig(AppConfig):
    name = "outcomes"
    verbose_name = "Outcomes"

    def ready(self) -> None:
        if getattr(settings, "AGENT33_SEED_DEMO", False):
            from .demo import seed_demo

            seed_demo()
