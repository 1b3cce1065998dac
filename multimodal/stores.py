"""Where multimodal state lives: every record goes through a store built by `make_stores`.

- `requests`: an `agent33_core.store.RecordStore` of `StoredRequest` (status = state, time
  = created_at, live = pending/processing), capped per tenant by
  `MULTIMODAL_MAX_REQUESTS_PER_TENANT` and `MULTIMODAL_MAX_BYTES_PER_TENANT`;
- its companions, dropped with the request when the request store evicts it: `inputs`
  (a request's input artifact, by request id), `results` (by result id) and `artifacts`
  (output artifacts, by artifact id);
- `policies`: each tenant's stored policy, by tenant id.

A request's size is what it costs: `RECORD_OVERHEAD_BYTES` plus its texts as kept
(`agent33_core.sizing.text_bytes`: the string and the UTF-8 copy a rendered non-ASCII
string keeps), its input artifact, and what its runs produced (error message, result as
its objects, output artifact); one that may still run (pending, processing, failed)
holds at least its `reserve_bytes`, so a failed run always fits. The stores come from
`agent33_core.state` (`AGENT33_STATE_BACKEND`: memory or Redis).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from agent33_core.sizing import block_bytes, model_bytes, text_bytes
from agent33_core.state import keyed_store, record_store
from agent33_core.store import KeyedStore, RecordStore, StoreSpec

from .domain import (
    LIVE_STATES,
    TRANSITIONS,
    MultimodalRequest,
    MultimodalResult,
    RequestState,
    TenantPolicy,
)
from .runner import ERROR_MESSAGE_MAX_CHARS

# What a stored request, and a stored result, cost besides their texts, JSON and artifacts:
# fixed fields, index entries and Python objects (about 1.8 KiB each, measured with
# tracemalloc), rounded up, so the byte cap bounds the process's real memory.
RECORD_OVERHEAD_BYTES = 2048
RESULT_OVERHEAD_BYTES = 2048
# A failed run's share of the reserve besides the adapter path: its error (one string, on
# the record and in the result's metadata) as long as a run's error may be
# (`runner.ERROR_MESSAGE_MAX_CHARS`) in the costliest characters, as kept; the result's
# ids, times, objects and overhead.
FAILED_RUN_BYTES = text_bytes("\U0010ffff" * ERROR_MESSAGE_MAX_CHARS) + 8 * 1024
# States a request may still run from, or is running in: they keep room for a failed run.
RUNNABLE_STATES = frozenset(
    {RequestState.PROCESSING}
    | {state for state, targets in TRANSITIONS.items() if RequestState.PROCESSING in targets}
)


class StoredRequest(BaseModel):
    """A request as stored: the record clients see, and what they never see (its costs,
    its adapter runs, its output artifact). Frozen: every change stores a new one."""

    model_config = ConfigDict(frozen=True)

    request: MultimodalRequest
    fixed_bytes: int  # the record, its texts and its input artifact
    reserve_bytes: int  # room held for a failed run while the request may still run
    result_bytes: int = 0  # its latest result as JSON and its output artifact
    incoming_bytes: int = 0  # a finished run's output, held while it is admitted
    output_artifact_id: str = ""
    attempts: int = 0
    last_run_completed_at: datetime | None = None
    # While processing: when the claiming worker's time is up (its run's timeout and a
    # grace). A processing request read after that ends failed: its worker is gone.
    lease_expires_at: datetime | None = None

    @property
    def id(self) -> str:
        return self.request.id

    @property
    def tenant_id(self) -> str:
        return self.request.tenant_id

    @property
    def state(self) -> RequestState:
        return self.request.state


class StoredArtifact(BaseModel):
    """An artifact's bytes and owner (an input, or the output of a run)."""

    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")

    tenant_id: str
    request_id: str
    content_type: str
    data: bytes


def utf8_len(text: str) -> int:
    """What a kept text costs (named for its first meaning: its UTF-8 length, which the
    string's own object and its cached UTF-8 copy now add to)."""
    return text_bytes(text)


def artifact_bytes(data: bytes | None) -> int:
    """What an artifact's bytes object keeps resident."""
    return 0 if data is None else block_bytes(sys.getsizeof(data))


def request_size(stored: StoredRequest) -> int:
    """Bytes the request holds; one that may still run keeps room for a failed run."""
    # A run's error is the same string as its result's metadata error: counted there.
    produced = max(stored.result_bytes, stored.incoming_bytes) or utf8_len(
        stored.request.error_message
    )
    if stored.state in RUNNABLE_STATES:
        produced = max(produced, stored.reserve_bytes)
    return stored.fixed_bytes + produced


def result_size(result: MultimodalResult, artifact: StoredArtifact | None) -> int:
    output = artifact_bytes(artifact.data) if artifact is not None else 0
    return RESULT_OVERHEAD_BYTES + model_bytes(result) + output


@dataclass(frozen=True)
class MultimodalStores:
    requests: RecordStore[StoredRequest]
    inputs: KeyedStore[StoredArtifact]
    results: KeyedStore[MultimodalResult]
    artifacts: KeyedStore[StoredArtifact]
    policies: KeyedStore[TenantPolicy]


def make_stores(*, max_requests_per_tenant: int, max_bytes_per_tenant: int) -> MultimodalStores:
    """The app's stores on the configured backend; evicting a request drops its companions."""
    inputs = keyed_store(name="mm:input", model=StoredArtifact)
    results = keyed_store(name="mm:result", model=MultimodalResult)
    artifacts = keyed_store(name="mm:artifact", model=StoredArtifact)

    def drop_companions(stored: StoredRequest) -> None:
        inputs.delete(stored.id)
        results.delete(stored.request.result_id)
        artifacts.delete(stored.output_artifact_id)

    requests = record_store(
        StoreSpec(
            noun="multimodal request",
            status_of=lambda stored: stored.request.state.value,
            time_of=lambda stored: stored.request.created_at,
            size_of=request_size,
            live_statuses=frozenset(state.value for state in LIVE_STATES),
            max_records=max_requests_per_tenant,
            max_bytes=max_bytes_per_tenant,
            on_evict=drop_companions,
        ),
        name="mm:request",
        model=StoredRequest,
    )
    return MultimodalStores(
        requests=requests,
        inputs=inputs,
        results=results,
        artifacts=artifacts,
        policies=keyed_store(name="mm:policy", model=TenantPolicy),
    )
