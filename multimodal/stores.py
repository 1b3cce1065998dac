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
holds at least its `reserve_bytes`, so a failed run always fits. Memory stores today; the
Redis backend plugs in here.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from agent33_core.sizing import block_bytes, model_bytes, text_bytes
from agent33_core.store import MemoryRecordStore, RecordStore, StoreSpec

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

V = TypeVar("V")


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


class KeyedStore(Protocol[V]):
    """Values by key: each call is one round trip (GET, SET, DEL, WATCH/MULTI in Redis)."""

    def get(self, key: str) -> V | None: ...

    def put(self, key: str, value: V) -> None: ...

    def update(self, key: str, change: Callable[[V | None], V]) -> V: ...

    def delete(self, *keys: str) -> None: ...


class MemoryKeyedStore(Generic[V]):
    """The embedded backend: one dict behind one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, V] = {}

    def get(self, key: str) -> V | None:
        return self._values.get(key)

    def put(self, key: str, value: V) -> None:
        with self._lock:
            self._values[key] = value

    def update(self, key: str, change: Callable[[V | None], V]) -> V:
        """Store `change(current)` with no other write in between."""
        with self._lock:
            value = change(self._values.get(key))
            self._values[key] = value
            return value

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._values.pop(key, None)

    def __len__(self) -> int:
        return len(self._values)


@dataclass(frozen=True)
class MultimodalStores:
    requests: RecordStore[StoredRequest]
    inputs: KeyedStore[StoredArtifact]
    results: KeyedStore[MultimodalResult]
    artifacts: KeyedStore[StoredArtifact]
    policies: KeyedStore[TenantPolicy]


def make_stores(*, max_requests_per_tenant: int, max_bytes_per_tenant: int) -> MultimodalStores:
    """The app's stores (memory today); evicting a request drops its companions."""
    inputs: MemoryKeyedStore[StoredArtifact] = MemoryKeyedStore()
    results: MemoryKeyedStore[MultimodalResult] = MemoryKeyedStore()
    artifacts: MemoryKeyedStore[StoredArtifact] = MemoryKeyedStore()

    def drop_companions(stored: StoredRequest) -> None:
        inputs.delete(stored.id)
        results.delete(stored.request.result_id)
        artifacts.delete(stored.output_artifact_id)

    requests = MemoryRecordStore(
        StoreSpec(
            noun="multimodal request",
            status_of=lambda stored: stored.request.state.value,
            time_of=lambda stored: stored.request.created_at,
            size_of=request_size,
            live_statuses=frozenset(state.value for state in LIVE_STATES),
            max_records=max_requests_per_tenant,
            max_bytes=max_bytes_per_tenant,
            on_evict=drop_companions,
        )
    )
    return MultimodalStores(
        requests=requests,
        inputs=inputs,
        results=results,
        artifacts=artifacts,
        policies=MemoryKeyedStore(),
    )
