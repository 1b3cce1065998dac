"""The hub's contracts: control actions, process types and the control history record.

Errors are agent33_core's (`NotFound`, `InvalidTransition`, `UnsupportedAction`,
`QuotaExceeded`); a message quotes client text only through `shown()`, so it never
echoes invalid text.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from agent33_core.jsonsafety import is_valid_text

SHOWN_TEXT_MAX_CHARS = 80


class ControlAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"


class ProcessType(StrEnum):
    """The `type` of a hub process (the schema's enum); multimodal_request is multimodal's."""

    TRACE = "trace"
    AUTONOMY_BUDGET = "autonomy_budget"
    IMPROVEMENT_INTAKE = "improvement_intake"
    WORKFLOW = "workflow"
    MULTIMODAL_REQUEST = "multimodal_request"


# The states contract §4 gives a multimodal request, for the schema's `ProcessStatus` enum
# (`?status=` itself is validated against the registered sources' `statuses`).
MULTIMODAL_REQUEST_STATES = ("pending", "processing", "completed", "failed", "cancelled")


class ControlRecord(BaseModel):
    """One applied control, as the process detail's `control_history` shows it."""

    action: str
    reason: str
    actor: str
    at: datetime
    from_status: str
    to_status: str


def shown(text: str) -> str:
    """`text` as an error message may quote it: valid Unicode, at most 80 characters."""
    if not is_valid_text(text):
        return "(not valid text)"
    if len(text) > SHOWN_TEXT_MAX_CHARS:
        return text[: SHOWN_TEXT_MAX_CHARS - 1] + "…"
    return text
