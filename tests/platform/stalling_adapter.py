"""A test-only adapter for server subprocesses: its run outlasts any timeout a test gives.

`tests/platform/test_cross_process.py` points `MULTIMODAL_ADAPTER_SPEECH_TO_TEXT` of its
servers here, so a request executed on one server sits in `processing` long enough for the
test to kill that server mid-run. The run still ends on its own (a daemon thread the
service stops waiting for after the request's timeout), so a server that is not killed
never hangs.
"""

from __future__ import annotations

import time

from multimodal.adapters.base import AdapterInput, AdapterOutput

STALL_SECONDS = 30


class StallingAdapter:
    """Sleeps through the request's timeout, then answers (too late to be kept)."""

    def run(self, request: AdapterInput) -> AdapterOutput:
        time.sleep(STALL_SECONDS)
        return AdapterOutput(output_text="too late")
