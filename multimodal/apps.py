"""AppConfig for the multimodal app; joins the operations hub when that app is installed."""

from django.apps import AppConfig, apps
from django.conf import settings


class MultimodalConfig(AppConfig):
    name = "multimodal"
    verbose_name = "Multimodal"

    def ready(self) -> None:
        # The hub is optional: without `operations` this app installs and works alone.
        if apps.is_installed("operations"):
            from operations.registry import register_source

            from .process_source import MultimodalProcessSource

            register_source(MultimodalProcessSource())
        if getattr(settings, "AGENT33_SEED_DEMO", False):
            from .demo import seed_demo

            seed_demo()
