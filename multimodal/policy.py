"""Tenant policies: who may read and write them, and the checks a new request must pass.

A tenant reads only its own policy; only an operator writes one (`tenant_id=None` is the
operator, as everywhere in the service). A tenant without a stored policy gets the defaults.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from .domain import (
    DEFAULT_REQUEST_TIMEOUT_SECONDS,
    InvalidInput,
    Modality,
    PolicyNotFound,
    PolicyViolation,
    PolicyWriteDenied,
    TenantPolicy,
)

NEEDS_TEXT = frozenset({Modality.TEXT_TO_SPEECH})
NEEDS_ARTIFACT = frozenset({Modality.SPEECH_TO_TEXT, Modality.VISION_ANALYSIS})


def require_reader(*, tenant_id: str | None, policy_tenant_id: str) -> None:
    """A tenant reads only its own policy (another's is "not found"); an operator reads any."""
    if tenant_id is not None and tenant_id != policy_tenant_id:
        raise PolicyNotFound("Not found.")


def require_writer(*, tenant_id: str | None) -> None:
    if tenant_id is not None:
        raise PolicyWriteDenied("Tenant policies can only be written by an operator.")


def effective(stored: TenantPolicy | None) -> TenantPolicy:
    return stored if stored is not None else TenantPolicy()


def merged(stored: TenantPolicy | None, changes: dict[str, Any]) -> TenantPolicy:
    """`changes` merged into the current policy, validated as a whole."""
    return TenantPolicy.model_validate(effective(stored).model_dump() | changes)


def check_inputs(
    *,
    modality: Modality,
    input_text: str,
    input_artifact_id: str,
    input_artifact_base64: str | None,
) -> bytes | None:
    """The inputs fit the modality; returns the decoded artifact (None when given by id)."""
    if input_artifact_id and input_artifact_base64 is not None:
        raise InvalidInput("Give either input_artifact_id or input_artifact_base64, not both.")
    has_artifact = bool(input_artifact_id) or input_artifact_base64 is not None
    if modality in NEEDS_TEXT and not input_text:
        raise InvalidInput(f"input_text is required for {modality.value}.")
    if modality in NEEDS_ARTIFACT and not has_artifact:
        raise InvalidInput(
            f"An input artifact (input_artifact_base64 or input_artifact_id) is required "
            f"for {modality.value}."
        )
    return decode_base64(input_artifact_base64) if input_artifact_base64 else None


def check_request(
    policy: TenantPolicy,
    *,
    modality: Modality,
    input_text: str,
    requested_timeout_seconds: int | None,
) -> int:
    """Refuse what the policy forbids; returns the run timeout (requested or default)."""
    if modality not in policy.allowed_modalities:
        raise PolicyViolation(
            f"Modality '{modality.value}' is not allowed by the tenant policy (allowed_modalities)."
        )
    if len(input_text) > policy.max_text_chars:
        raise PolicyViolation(
            f"input_text has {len(input_text)} characters, over the policy's "
            f"max_text_chars of {policy.max_text_chars}."
        )
    timeout = requested_timeout_seconds
    if timeout is None:
        timeout = min(DEFAULT_REQUEST_TIMEOUT_SECONDS, policy.max_timeout_seconds)
    if timeout > policy.max_timeout_seconds:
        raise PolicyViolation(
            f"requested_timeout_seconds {timeout} is over the policy's "
            f"max_timeout_seconds of {policy.max_timeout_seconds}."
        )
    return timeout


def check_artifact_size(policy: TenantPolicy, artifact: bytes | None) -> None:
    if artifact is not None and len(artifact) > policy.max_artifact_bytes:
        raise PolicyViolation(
            f"The artifact has {len(artifact)} bytes, over the policy's "
            f"max_artifact_bytes of {policy.max_artifact_bytes}."
        )


def decode_base64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PolicyViolation(
            "input_artifact_base64 is not valid base64 (artifact encoding rule)."
        ) from exc
