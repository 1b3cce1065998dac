"""Test adapters the tests point `MULTIMODAL_ADAPTERS` at: gated, flaky, broken."""

from __future__ import annotations

import threading

from multimodal.adapters.base import AdapterError, AdapterInput, AdapterOutput

_gate = threading.Event()
_started = threading.Event()
_seen: set[str] = set()
_lock = threading.Lock()
GATE_CAP_SECONDS = 10  # a forgotten gate still lets the worker end


def reset() -> None:
    _gate.clear()
    _started.clear()
    with _lock:
        _seen.clear()


def release_gate() -> None:
    _gate.set()


def wait_until_started(timeout: float = 5) -> bool:
    return _started.wait(timeout)


class GatedAdapter:
    """Blocks until the test opens the gate, so the request sits in `processing`."""

    def run(self, request: AdapterInput) -> AdapterOutput:
        _started.set()
        _gate.wait(GATE_CAP_SECONDS)
        return AdapterOutput(output_text="late output", output_data={"gated": True})


class SleepyAdapter:
    """Runs longer than any timeout a test gives it (but ends on its own)."""

    def run(self, request: AdapterInput) -> AdapterOutput:
        _gate.wait(request.timeout_seconds + 2)
        return AdapterOutput(output_text="too late")


class FlakyAdapter:
    """Fails the first run of each request, succeeds on the retry."""

    def run(self, request: AdapterInput) -> AdapterOutput:
        with _lock:
            first = request.request_id not in _seen
            _seen.add(request.request_id)
        if first:
            raise AdapterError("Flaky provider: first attempt fails.")
        return AdapterOutput(output_text="second time lucky", output_data={"attempt": 2})


class CrashingAdapter:
    """An adapter bug (not an AdapterError) must still end as a failed request."""

    def run(self, request: AdapterInput) -> AdapterOutput:
        raise ZeroDivisionError("division by zero")


class LongErrorAdapter:
    """Fails with a long error of 4-byte characters, quotes and control characters."""

    def run(self, request: AdapterInput) -> AdapterOutput:
        raise AdapterError("\U0001d11e" * 5000 + '"\\' * 500 + "\x00\x07\n end")


class UnstorableOutputAdapter:
    """Returns output no read could render: a lone surrogate, NaN, bytes in a JSON field."""

    def run(self, request: AdapterInput) -> AdapterOutput:
        kind = request.input_text
        if kind == "surrogate":
            return AdapterOutput(output_text="broken \ud800 text")
        if kind == "nan":
            return AdapterOutput(output_data={"score": float("nan")})
        if kind == "surrogate-key":
            return AdapterOutput(metadata={"\udcff": 1})
        return AdapterOutput(output_data={"raw": b"\xff\xfe"})
