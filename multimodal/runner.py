"""Running an adapter: loading it from settings, bounding a run by its timeout, and
keeping only output that every later read can render.

An adapter runs in a daemon worker thread the caller waits for at most the request's
timeout; a timed-out thread is abandoned, not killed (a daemon never blocks exit, and
adapters doing I/O get the same timeout, so it ends on its own).
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from agent33_core.jsonsafety import is_valid_text, json_problem
from agent33_core.metrics import record_adapter_run

from .adapters.base import Adapter, AdapterError, AdapterInput, AdapterOutput
from .domain import Modality

# Adapter errors are cut to this many characters, so a failed run fits its reserve.
ERROR_MESSAGE_MAX_CHARS = 1000
OUTPUT_MAX_DEPTH = 32
_CONTROL_CHARACTERS = re.compile("[\x00-\x1f]")


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What one run produced: output, or (output None) an error for the client."""

    output: AdapterOutput | None
    error: str


def load_adapter(modality: Modality, adapter_paths: dict[str, str]) -> Adapter:
    path = adapter_paths.get(modality.value)
    if not path:
        raise ImproperlyConfigured(f"MULTIMODAL_ADAPTERS has no adapter for '{modality.value}'.")
    try:
        target = import_string(path)
        adapter = target() if isinstance(target, type) else target
    except (ImportError, AdapterError, TypeError) as exc:
        raise ImproperlyConfigured(f"MULTIMODAL_ADAPTERS['{modality.value}']: {exc}") from exc
    if not isinstance(adapter, Adapter):
        raise ImproperlyConfigured(f"{path} has no run(request) method.")
    return adapter


def run_bounded(adapter: Adapter, adapter_input: AdapterInput, timeout: int) -> RunOutcome:
    """Run the adapter in a daemon thread; give up waiting after `timeout` seconds.

    Every run is counted in the adapter metrics (agent33_core/metrics.py).
    """
    started = time.perf_counter()
    outcome = _run_bounded(adapter, adapter_input, timeout)
    record_adapter_run(
        modality=adapter_input.modality,
        failed=outcome.output is None,
        seconds=time.perf_counter() - started,
    )
    return outcome


def _run_bounded(adapter: Adapter, adapter_input: AdapterInput, timeout: int) -> RunOutcome:
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["output"] = adapter.run(adapter_input)
        except AdapterError as exc:
            box["error"] = safe_message(str(exc)) or "The adapter failed."
        except Exception as exc:  # an adapter bug must fail the request, not the worker
            box["error"] = safe_message(
                f"The adapter failed unexpectedly: {type(exc).__name__}: {exc}"
            )

    worker = threading.Thread(
        target=work, name=f"multimodal-{adapter_input.request_id}", daemon=True
    )
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        return RunOutcome(None, f"The adapter timed out after {timeout} s.")
    if "error" in box:
        return RunOutcome(None, box["error"])
    output = box.get("output")
    if not isinstance(output, AdapterOutput):
        return RunOutcome(None, "The adapter returned no AdapterOutput.")
    problem = output_problem(output)
    if problem is not None:
        return RunOutcome(None, f"The adapter returned output that cannot be stored: {problem}")
    return RunOutcome(output, "")


def safe_message(text: str) -> str:
    """An error for the client: valid text, no control characters, at most 1,000 chars."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = _CONTROL_CHARACTERS.sub(" ", text)
    if len(text) > ERROR_MESSAGE_MAX_CHARS:
        text = text[: ERROR_MESSAGE_MAX_CHARS - 1] + "…"
    return text


def output_problem(output: AdapterOutput) -> str | None:
    """Why an adapter's output may not be stored (a later read could not render it)."""
    if not isinstance(output.output_text, str) or not is_valid_text(output.output_text):
        return "output_text is not valid text."
    if output.output_artifact is not None and not isinstance(output.output_artifact, bytes):
        return "output_artifact is not bytes."
    if not isinstance(output.output_artifact_content_type, str) or not is_valid_text(
        output.output_artifact_content_type
    ):
        return "output_artifact_content_type is not valid text."
    for name in ("output_data", "metadata"):
        value = getattr(output, name)
        if not isinstance(value, dict):
            return f"{name} is not a JSON object."
        problem = json_problem(value, max_depth=OUTPUT_MAX_DEPTH)
        if problem is None:
            try:
                json.dumps(value, ensure_ascii=False, allow_nan=False).encode()
            except (TypeError, ValueError, RecursionError):
                problem = "it holds values that are not JSON."
        if problem is not None:
            return f"{name}: {problem}"
    return None
