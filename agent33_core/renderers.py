"""One way to answer: a service's pydantic models are written to JSON once, by pydantic.

A view returns `Response(model)` or `Response([model, ...])`; this renderer encodes them
with pydantic-core straight to bytes (no dict round trip, no DRF serializer at run time).
A `RenderedJSON` (bytes a service wrote the same way) is sent as it is.
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


class RenderedJSON(bytes):
    """A body a service has already written as JSON (e.g. joined from cached parts)."""

    __slots__ = ()


class PydanticJSONRenderer(renderers.JSONRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: dict | None = None,
    ) -> bytes:
        if isinstance(data, RenderedJSON):
            return data
        if is_model_data(data):
            return pydantic_core.to_json(data)
        return super().render(data, accepted_media_type, renderer_context)
