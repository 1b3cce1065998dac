"""One way to answer: a service's pydantic models are written to JSON once, by pydantic.

A view returns `Response(model)` or `Response([model, ...])`; this renderer serializes
them straight to bytes (no dict round trip, no DRF serializer at run time). Anything else
(error bodies, plain dicts) is DRF's JSON as before. DRF serializers still describe the
output for the schema, and a test holds models and serializers in agreement.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from rest_framework import renderers


def model_json(model: BaseModel) -> bytes:
    return model.__pydantic_serializer__.to_json(model)


class PydanticJSONRenderer(renderers.JSONRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: dict | None = None,
    ) -> bytes:
        if isinstance(data, BaseModel):
            return model_json(data)
        if isinstance(data, list) and data and isinstance(data[0], BaseModel):
            return b"[" + b",".join(model_json(item) for item in data) + b"]"
        return super().render(data, accepted_media_type, renderer_context)
