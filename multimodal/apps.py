"""AppConfig for the multimodal app."""

from django.apps import AppConfig


class MultimodalConfig(AppConfig):
    name = "multimodal"
    verbose_name = "Multimodal"
