"""The multimodal contract: modalities, states, the lifecycle map, records and errors.

The lifecycle is data (`TRANSITIONS`), judged by `agent33_core.lifecycle.transition`; a
refusal is a 409 `invalid_transition` whose message (`refusal`) names the verb and state.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent33_core.errors import DomainError, NotFound


class Modality(StrEnum):
    SPEECH_TO_TEXT = "speech_to_text"
    TEXT_TO_SPEECH = "text_to_speech"
    VISION_ANALYSIS = "vision_analysis"


class RequestState(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ResultState(StrEnum):
    """A result records how one adapter run ended."""

    COMPLETED = "completed"
    FAILED = "failed"


TRANSITIONS: dict[RequestState, frozenset[RequestState]] = {
    RequestState.PENDING: frozenset({RequestState.PROCESSING, RequestState.CANCELLED}),
    RequestState.PROCESSING: frozenset(
        {RequestState.COMPLETED, RequestState.FAILED, RequestState.CANCELLED}
    ),
    RequestState.FAILED: frozenset({RequestState.PROCESSING}),  # retry
    RequestState.COMPLETED: frozenset(),
    RequestState.CANCELLED: frozenset(),
}

# Live requests are never evicted and are what the operations hub shows by default.
LIVE_STATES: frozenset[RequestState] = frozenset({RequestState.PENDING, RequestState.PROCESSING})

# The verb a client used to ask for each target state, for the 409 message.
_VERB_FOR_TARGET = {
    RequestState.PROCESSING: "execute",
    RequestState.CANCELLED: "cancel",
    RequestState.COMPLETED: "complete",
    RequestState.FAILED: "fail",
    RequestState.PENDING: "reset",
}

REQUEST_ID_PREFIX = "mmreq"
RESULT_ID_PREFIX = "mmres"
ARTIFACT_ID_PREFIX = "mmart"


def refusal(current: RequestState, target: RequestState) -> str:
    """The 409 message when the map refuses `current -> target`, in the client's verb."""
    return f"Cannot {_VERB_FOR_TARGET[target]} a request in state '{current.value}'."


class InvalidInput(DomainError):
    """400 `invalid`: the request's inputs do not fit together."""


class PolicyViolation(DomainError):
    """400 `policy_violation`: the tenant policy refuses the request (the detail names the rule)."""

    error_code = "policy_violation"


class PolicyWriteDenied(DomainError):
    """403 `permission_denied`: tenant policies are written by operators only."""

    http_status = 403
    error_code = "permission_denied"


class RequestNotFound(NotFound):
    """No such request for this caller, or another tenant's."""


class PolicyNotFound(NotFound):
    """A tenant asked for another tenant's policy."""


class MultimodalRequest(BaseModel):
    """The record clients see. The input artifact itself is never part of it.

    Frozen: the service stores a new record on every change, so a record handed out is
    a consistent snapshot.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    modality: Modality
    input_text: str = ""
    input_artifact_id: str = ""
    input_artifact_bytes: int = 0
    requested_timeout_seconds: int
    requested_by: str
    state: RequestState = RequestState.PENDING
    result_id: str = ""
    error_message: str = ""
    created_at: datetime
    updated_at: datetime


class MultimodalResult(BaseModel):
    """How the latest finished adapter run of a request ended."""

    id: str
    request_id: str
    state: ResultState
    output_text: str = ""
    output_artifact_id: str = ""
    output_data: dict[str, Any] = Field(default_factory=dict)
    started_at: datetime
    completed_at: datetime
    metadata: dict[str, Any] = Field(default_factory=dict)


DEFAULT_MAX_TEXT_CHARS = 5000
DEFAULT_MAX_ARTIFACT_BYTES = 5_000_000
DEFAULT_MAX_TIMEOUT_SECONDS = 300
DEFAULT_REQUEST_TIMEOUT_SECONDS = 60

# Upper bounds an operator may configure; beyond them a policy is refused (400).
MAX_TEXT_CHARS_LIMIT = 1_000_000
MAX_ARTIFACT_BYTES_LIMIT = 100_000_000
MAX_TIMEOUT_SECONDS_LIMIT = 3600


class TenantPolicy(BaseModel):
    """What a tenant may ask for; a tenant without a stored policy gets these defaults."""

    max_text_chars: int = Field(DEFAULT_MAX_TEXT_CHARS, ge=1, le=MAX_TEXT_CHARS_LIMIT)
    max_artifact_bytes: int = Field(DEFAULT_MAX_ARTIFACT_BYTES, ge=1, le=MAX_ARTIFACT_BYTES_LIMIT)
    max_timeout_seconds: int = Field(
        DEFAULT_MAX_TIMEOUT_SECONDS, ge=1, le=MAX_TIMEOUT_SECONDS_LIMIT
    )
    allowed_modalities: list[Modality] = Field(default_factory=lambda: list(Modality))
