"""One way to answer: a service's pydantic models are written to JSON once, by pydantic.

A view returns `Response(model)` or `Response([model, ...])`; this renderer encodes them
with pydantic-core straight to bytes (no dict round trip, no DRF serializer at run time).
Anything else (error bodies, plain dicts) is DRF's JSON as before. DRF serializers still
describe the output for the schema, and a test holds models and serializers in agreement.
"""

from __future__ import annotations

from typing import Any

import pydantic_core
from pydantic import BaseModel
from rest_framework import renderers


def is_model_data(data: Any) -> bool:
    return isinstance(data, BaseModel) or (
        isinstance(data, list) and all(isinstance(item, BaseModel) for item in data)
    )


class PydanticJSONRenderer(renderers.JSONRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: dict | None = None,
    ) -> bytes:
        if is_model_data(data):
            return pydantic_core.to_json(data)
        return super().render(data, accepted_media_type, renderer_context)
