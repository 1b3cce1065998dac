"""The hub's contracts: control actions, the control history record, and the domain errors.

Every error carries `http_status` and `error_code`; the project's error handler turns it
into `{"detail", "code"}` JSON. The sources under `operations/sources/` raise these too.
A message quotes client text only through `shown()`, so it never echoes invalid text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from agent33_core.errors import DomainError
from agent33_core.jsonsafety import is_valid_text

SHOWN_TEXT_MAX_CHARS = 80


class ControlAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"


class ProcessType(StrEnum):
    """The `type` of a hub process; multimodal_request comes from the multimodal app."""

    TRACE = "trace"
    AUTONOMY_BUDGET = "autonomy_budget"
    IMPROVEMENT_INTAKE = "improvement_intake"
    WORKFLOW = "workflow"
    MULTIMODAL_REQUEST = "multimodal_request"


# The states contract §4 gives a multimodal request: the hub accepts them in `?status=`
# whether or not the multimodal app is installed.
MULTIMODAL_REQUEST_STATES = ("pending", "processing", "completed", "failed", "cancelled")


class IncludeKey(StrEnum):
    """Values of the hub's `include` parameter, one per kind of process."""

    TRACES = "traces"
    BUDGETS = "budgets"
    IMPROVEMENTS = "improvements"
    WORKFLOWS = "workflows"
    MULTIMODAL = "multimodal"


class ControlRecord(BaseModel):
    """One applied control, as the process detail's `control_history` shows it."""

    action: str
    reason: str
    actor: str
    at: datetime
    from_status: str
    to_status: str


class OperationsError(DomainError):
    http_status = 400
    error_code = "invalid"


class ProcessNotFound(OperationsError):
    http_status = 404
    error_code = "not_found"


class InvalidTransition(OperationsError):
    http_status = 409
    error_code = "invalid_transition"


class UnsupportedAction(OperationsError):
    http_status = 409
    error_code = "unsupported_action"


def shown(text: str) -> str:
    """`text` as an error message may quote it: valid Unicode, at most 80 characters."""
    if not is_valid_text(text):
        return "(not valid text)"
    if len(text) > SHOWN_TEXT_MAX_CHARS:
        return text[: SHOWN_TEXT_MAX_CHARS - 1] + "…"
    return text


def transition(
    lifecycle: Mapping[str, frozenset[str]], *, noun: str, current: str, target: str
) -> str:
    """`target` when the lifecycle allows `current -> target`, else a 409 naming the state."""
    if target not in lifecycle.get(current, frozenset()):
        raise InvalidTransition(f"Cannot move {noun} from '{shown(current)}' to '{shown(target)}'.")
    return target
