"""AppConfig for the operations app: registers this app's four process sources."""

from django.apps import AppConfig
from django.conf import settings


class OperationsConfig(AppConfig):
    name = "operations"
    verbose_name = "Operations"

    def ready(self) -> None:
        from .registry import register_source
        from .sources.budgets.source import budgets_source
        from .sources.intakes.source import intakes_source
        from .sources.traces.source import traces_source
        from .sources.workflows.source import workflows_source

        for source in (traces_source, budgets_source, intakes_source, workflows_source):
            register_source(source)
        if getattr(settings, "AGENT33_SEED_DEMO", False):
            from .demo import seed_demo

            seed_demo()  # after registration: it pauses a budget through the hub
