"""The adapter protocol: `run(AdapterInput) -> AdapterOutput`, one adapter per modality.

`settings.MULTIMODAL_ADAPTERS` maps each modality to a dotted path (a class built with
no arguments, or a ready object). An adapter signals a clean failure with
`AdapterError`; its message becomes the request's `error_message`. The service bounds
every run by the request's timeout; adapters that do I/O must honour `timeout_seconds`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

# Audio up to this size is also returned inline as `output_data.audio_base64`.
INLINE_AUDIO_MAX_BYTES = 1_048_576


@dataclass(frozen=True, slots=True)
class AdapterInput:
    request_id: str
    tenant_id: str
    modality: str
    input_text: str
    input_artifact: bytes | None
    timeout_seconds: int


@dataclass(slots=True)
class AdapterOutput:
    output_text: str = ""
    output_artifact: bytes | None = None
    output_artifact_content_type: str = ""
    output_data: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


class AdapterError(Exception):
    """The adapter could not do the work; the message says why, for the client."""


@runtime_checkable
class Adapter(Protocol):
    def run(self, request: AdapterInput) -> AdapterOutput: ...


def inline_audio(data: bytes) -> dict[str, Any]:
    """`{"audio_base64": ...}` for small audio, `{}` when the artifact is the only copy."""
    if len(data) > INLINE_AUDIO_MAX_BYTES:
        return {}
    return {"audio_base64": base64.b64encode(data).decode("ascii")}


def require_artifact(request: AdapterInput) -> bytes:
    if not request.input_artifact:
        raise AdapterError("This modality needs an input artifact.")
    return request.input_artifact
