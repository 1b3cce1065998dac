"""JSON for the outcomes API: the service's pydantic models, written by pydantic itself.

Views return the domain models (or lists of them) as response data; this renderer encodes
them with pydantic-core, several times faster than dumping to dicts for DRF's encoder.
Anything else (error bodies) goes through DRF's JSONRenderer unchanged.
"""

from __future__ import annotations

from typing import Any

import pydantic_core
from pydantic import BaseModel
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.settings import api_settings


class ModelJSONRenderer(JSONRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: dict | None = None,
    ) -> bytes:
        if isinstance(data, BaseModel) or (
            isinstance(data, list) and all(isinstance(item, BaseModel) for item in data)
        ):
            return pydantic_core.to_json(data, inf_nan_mode="null")
        return super().render(data, accepted_media_type, renderer_context)


def model_renderers() -> list[type[BaseRenderer]]:
    """The project's renderers, with this one writing JSON (the browsable API stays)."""
    others = [r for r in api_settings.DEFAULT_RENDERER_CLASSES if not issubclass(r, JSONRenderer)]
    return [ModelJSONRenderer, *others]
