"""`MultimodalService`: the only place multimodal state changes.

All state sits behind one lock, held for every read-check-write. An adapter runs
outside the lock, in a daemon worker thread the caller waits for at most the request's
timeout; its outcome is then committed through the lifecycle map, so a request cancelled
meanwhile stays cancelled and the late output is dropped.

Memory is bounded per tenant in records (`MULTIMODAL_MAX_REQUESTS_PER_TENANT`, 10,000)
and in bytes (`MULTIMODAL_MAX_BYTES_PER_TENANT`, 64 MiB). A request costs
`RECORD_OVERHEAD_BYTES` plus the UTF-8 bytes of its texts, its input artifact, and what
its runs produced (error message, result as JSON, output artifact); a request that may
still run (pending, processing, failed) holds at least `run_reserve` for that last part,
so a failed run always fits. Making room evicts the tenant's earliest-finished request
(completed, failed or cancelled) with its result and output artifact; live requests
(pending, processing) are never evicted. When the live ones alone leave no room, a new
request is a 429 `quota_exceeded` and nothing is evicted or stored; a successful run
whose output cannot fit ends `failed` instead (its output dropped, retry allowed).
"""

from __future__ import annotations

import base64
import binascii
import heapq
import itertools
import json
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from agent33_core.errors import QuotaExceeded
from agent33_core.fields import json_size
from agent33_core.jsonsafety import is_valid_text, json_problem

from .adapters.base import Adapter, AdapterError, AdapterInput, AdapterOutput
from .domain import (
    ARTIFACT_ID_PREFIX,
    DEFAULT_REQUEST_TIMEOUT_SECONDS,
    LIVE_STATES,
    REQUEST_ID_PREFIX,
    RESULT_ID_PREFIX,
    TRANSITIONS,
    InvalidInput,
    InvalidTransition,
    Modality,
    MultimodalRequest,
    MultimodalResult,
    NotFound,
    PolicyViolation,
    RequestState,
    ResultState,
    TenantPolicy,
    new_id,
    transition,
)

DEFAULT_MAX_REQUESTS_PER_TENANT = 10_000
DEFAULT_MAX_BYTES_PER_TENANT = 64 * 1024 * 1024
# What a stored request, and a stored result, cost besides their texts, JSON and artifacts:
# fixed fields, index entries and Python objects (about 1.8 KiB each, measured with
# tracemalloc), rounded up, so the byte cap bounds the process's real memory.
RECORD_OVERHEAD_BYTES = 2048
RESULT_OVERHEAD_BYTES = 2048
# Adapter errors are cut to this many characters, so a failed run fits `run_reserve`.
ERROR_MESSAGE_MAX_CHARS = 1000
# A failed run's share of `run_reserve` besides the adapter path: the error twice (record
# and result metadata, at most 4,000 bytes each), the result's ids and times, its overhead.
FAILED_RUN_BYTES = 12 * 1024
OUTPUT_MAX_DEPTH = 32
_CONTROL_CHARACTERS = re.compile("[\x00-\x1f]")
NEEDS_TEXT = frozenset({Modality.TEXT_TO_SPEECH})
NEEDS_ARTIFACT = frozenset({Modality.SPEECH_TO_TEXT, Modality.VISION_ANALYSIS})
# States a request may still run from, or is running in: they keep room for a failed run.
RUNNABLE_STATES = frozenset(
    {RequestState.PROCESSING}
    | {state for state, targets in TRANSITIONS.items() if RequestState.PROCESSING in targets}
)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class _Artifact:
    tenant_id: str
    request_id: str
    content_type: str
    data: bytes


@dataclass(slots=True)
class _Entry:
    """A stored request with what clients never see: its input bytes, run count and cost.

    `fixed_bytes` is what the request costs whatever its runs do; `result_bytes` is its
    result as JSON plus its output artifact; `cost` is what the tenant's totals hold for it.
    """

    seq: int
    record: MultimodalRequest
    input_artifact: bytes | None
    fixed_bytes: int
    attempts: int = 0
    last_run_completed_at: datetime | None = None
    result: MultimodalResult | None = None
    result_bytes: int = 0
    output_artifact_ids: list[str] = field(default_factory=list)
    cost: int = 0


@dataclass(slots=True)
class _Tenant:
    """One tenant's requests, in creation order, an id index per state, the finished ones
    in the order they finished (eviction order), and the bytes they hold."""

    requests: dict[str, _Entry] = field(default_factory=dict)
    by_state: dict[RequestState, dict[str, None]] = field(
        default_factory=lambda: {state: {} for state in RequestState}
    )
    finished: dict[str, None] = field(default_factory=dict)
    bytes: int = 0
    live_bytes: int = 0


@dataclass(frozen=True, slots=True)
class _RunOutcome:
    output: AdapterOutput | None
    error: str


class MultimodalService:
    def __init__(
        self,
        *,
        adapter_paths: dict[str, str],
        max_requests_per_tenant: int = DEFAULT_MAX_REQUESTS_PER_TENANT,
        max_bytes_per_tenant: int = DEFAULT_MAX_BYTES_PER_TENANT,
    ) -> None:
        if max_requests_per_tenant < 1:
            raise ImproperlyConfigured("MULTIMODAL_MAX_REQUESTS_PER_TENANT must be at least 1.")
        if max_bytes_per_tenant < 1:
            raise ImproperlyConfigured("MULTIMODAL_MAX_BYTES_PER_TENANT must be at least 1.")
        self._lock = threading.Lock()
        self._max_per_tenant = max_requests_per_tenant
        self._max_bytes = max_bytes_per_tenant
        self._adapters = {m: _load_adapter(m, adapter_paths) for m in Modality}
        self._adapter_paths = {m: adapter_paths[m.value] for m in Modality}
        # The most a failed run can add: it names its adapter in the result's metadata.
        self._run_reserve = FAILED_RUN_BYTES + max(
            _utf8_len(path) for path in self._adapter_paths.values()
        )
        self._tenants: dict[str, _Tenant] = {}
        self._tenant_of: dict[str, str] = {}  # request id -> tenant id, for O(1) lookups
        self._artifacts: dict[str, _Artifact] = {}
        self._policies: dict[str, TenantPolicy] = {}
        self._seq = 0

    # --- policies -------------------------------------------------------------------

    def get_policy(self, *, tenant_id: str | None, policy_tenant_id: str) -> TenantPolicy:
        """A tenant reads only its own policy; an operator reads any."""
        if tenant_id is not None and tenant_id != policy_tenant_id:
            raise NotFound("Not found.")
        with self._lock:
            return self._policy_for(policy_tenant_id).model_copy(deep=True)

    def replace_policy(self, *, policy_tenant_id: str, policy: TenantPolicy) -> TenantPolicy:
        with self._lock:
            self._policies[policy_tenant_id] = policy.model_copy(deep=True)
            return policy.model_copy(deep=True)

    def update_policy(self, *, policy_tenant_id: str, changes: dict[str, Any]) -> TenantPolicy:
        """Merge `changes` into the current policy (validated as a whole)."""
        with self._lock:
            merged = self._policy_for(policy_tenant_id).model_dump() | changes
            policy = TenantPolicy.model_validate(merged)
            self._policies[policy_tenant_id] = policy
            return policy.model_copy(deep=True)

    def _policy_for(self, tenant_id: str) -> TenantPolicy:
        return self._policies.get(tenant_id) or TenantPolicy()

    # --- requests -------------------------------------------------------------------

    def create_request(
        self,
        *,
        tenant_id: str,
        modality: Modality,
        input_text: str = "",
        input_artifact_id: str = "",
        input_artifact_base64: str | None = None,
        requested_timeout_seconds: int | None = None,
        requested_by: str,
    ) -> MultimodalRequest:
        """Check the input against the tenant's policy and store a pending request."""
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
        artifact = _decode_base64(input_artifact_base64) if input_artifact_base64 else None
        with self._lock:
            policy = self._policy_for(tenant_id)
            if modality not in policy.allowed_modalities:
                raise PolicyViolation(
                    f"Modality '{modality.value}' is not allowed by the tenant policy "
                    f"(allowed_modalities)."
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
            if input_artifact_id:
                stored = self._artifacts.get(input_artifact_id)
                if stored is None or stored.tenant_id != tenant_id:
                    raise InvalidInput(f"input_artifact_id '{input_artifact_id}' is not known.")
                artifact = stored.data
            if artifact is not None and len(artifact) > policy.max_artifact_bytes:
                raise PolicyViolation(
                    f"The artifact has {len(artifact)} bytes, over the policy's "
                    f"max_artifact_bytes of {policy.max_artifact_bytes}."
                )
            fixed_bytes = RECORD_OVERHEAD_BYTES + sum(
                map(_utf8_len, (tenant_id, input_text, input_artifact_id, requested_by))
            )
            fixed_bytes += len(artifact) if artifact is not None else 0
            tenant = self._tenants.get(tenant_id) or _Tenant()
            self._make_room(tenant, fixed_bytes + self._run_reserve)  # 429: nothing stored
            self._tenants[tenant_id] = tenant
            now = _now()
            record = MultimodalRequest(
                id=new_id(REQUEST_ID_PREFIX),
                tenant_id=tenant_id,
                modality=modality,
                input_text=input_text,
                input_artifact_id=input_artifact_id,
                input_artifact_bytes=len(artifact) if artifact is not None else 0,
                requested_timeout_seconds=timeout,
                requested_by=requested_by,
                created_at=now,
                updated_at=now,
            )
            self._seq += 1
            entry = _Entry(self._seq, record, artifact, fixed_bytes)
            entry.cost = self._cost_of(entry)
            tenant.requests[record.id] = entry
            tenant.by_state[record.state][record.id] = None
            self._tenant_of[record.id] = tenant_id
            _account(tenant, entry, +1)
            return record

    def get_request(self, *, tenant_id: str | None, request_id: str) -> MultimodalRequest:
        with self._lock:
            return self._find(tenant_id, request_id).record

    def list_requests(
        self,
        *,
        tenant_id: str | None,
        modality: Modality | None = None,
        state: RequestState | None = None,
        limit: int = 50,
    ) -> list[MultimodalRequest]:
        """Newest first. A state filter reads that state's index, not the whole history."""
        with self._lock:
            tenants = self._scoped_tenants(tenant_id)
            if state is not None:
                entries = (t.requests[rid] for t in tenants for rid in t.by_state[state])
                newest = heapq.nlargest(limit, self._matching(entries, modality), key=_by_seq)
            else:
                streams = [reversed(t.requests.values()) for t in tenants]
                merged = heapq.merge(*streams, key=_by_seq, reverse=True)
                newest = list(itertools.islice(self._matching(merged, modality), limit))
            return [entry.record for entry in newest]

    def execute(self, *, tenant_id: str | None, request_id: str) -> MultimodalRequest:
        """Run the adapter once (pending or failed -> processing -> completed | failed)."""
        entry, attempt = self._claim(tenant_id, request_id)
        record = entry.record
        adapter_input = AdapterInput(
            request_id=record.id,
            tenant_id=record.tenant_id,
            modality=record.modality.value,
            input_text=record.input_text,
            input_artifact=entry.input_artifact,
            timeout_seconds=record.requested_timeout_seconds,
        )
        started_at = _now()
        outcome = _run_bounded(
            self._adapters[record.modality], adapter_input, record.requested_timeout_seconds
        )
        return self._finish(entry, attempt, started_at, outcome)

    def claim(self, *, tenant_id: str | None, request_id: str) -> MultimodalRequest:
        """Only the first half of `execute`: move the request to processing for a worker
        elsewhere (the demo data uses it to show a request in flight; cancel still works)."""
        return self._claim(tenant_id, request_id)[0].record

    def _claim(self, tenant_id: str | None, request_id: str) -> tuple[_Entry, int]:
        with self._lock:
            entry = self._find(tenant_id, request_id)
            self._move(entry, RequestState.PROCESSING, error_message="")
            entry.attempts += 1
            return entry, entry.attempts

    def cancel(self, *, tenant_id: str | None, request_id: str) -> MultimodalRequest:
        return self.cancel_from(tenant_id=tenant_id, request_id=request_id)[1]

    def cancel_from(
        self, *, tenant_id: str | None, request_id: str
    ) -> tuple[RequestState, MultimodalRequest]:
        """Cancel, and report the state it left (read under the same lock)."""
        with self._lock:
            entry = self._find(tenant_id, request_id)
            previous = entry.record.state
            return previous, self._move(entry, RequestState.CANCELLED)

    def get_result(self, *, tenant_id: str | None, request_id: str) -> MultimodalResult:
        with self._lock:
            entry = self._find(tenant_id, request_id)
            if entry.result is None:
                raise NotFound(f"Request {request_id} has no result yet.")
            return entry.result.model_copy(deep=True)

    # --- what the operations hub reads ----------------------------------------------

    def live_requests(self, *, tenant_id: str | None) -> list[MultimodalRequest]:
        """Pending and processing requests, from the per-state index."""
        with self._lock:
            return [
                t.requests[rid].record
                for t in self._scoped_tenants(tenant_id)
                for state in LIVE_STATES
                for rid in t.by_state[state]
            ]

    def count_requests(self, *, tenant_id: str | None, state: RequestState) -> int:
        with self._lock:
            return sum(len(t.by_state[state]) for t in self._scoped_tenants(tenant_id))

    def adapter_runs(
        self, *, tenant_id: str | None, request_id: str
    ) -> tuple[int, datetime | None]:
        """How many times the adapter ran for a request, and when the last run ended."""
        with self._lock:
            entry = self._find(tenant_id, request_id)
            return entry.attempts, entry.last_run_completed_at

    # --- internals ------------------------------------------------------------------

    def _finish(
        self, entry: _Entry, attempt: int, started_at: datetime, outcome: _RunOutcome
    ) -> MultimodalRequest:
        with self._lock:
            record = entry.record
            target = RequestState.FAILED if outcome.output is None else RequestState.COMPLETED
            try:
                transition(record.state, target)
            except InvalidTransition:
                # Cancelled while the adapter ran: the map refuses the completion, so the
                # output is dropped and the record stays as it is.
                return record
            completed_at = _now()
            result, artifact = self._result_of(record, attempt, started_at, completed_at, outcome)
            size = _result_bytes(result, artifact)
            if outcome.output is not None and not self._room_for_output(entry, size):
                outcome = _RunOutcome(None, self._no_room_message(entry, size))
                target = RequestState.FAILED
                result, artifact = self._result_of(
                    record, attempt, started_at, completed_at, outcome
                )
                size = _result_bytes(result, artifact)
            entry.last_run_completed_at = completed_at
            self._drop_result(entry)  # the previous run's; the totals follow in `_move`
            entry.result = result
            entry.result_bytes = size
            if artifact is not None:
                self._artifacts[result.output_artifact_id] = artifact
                entry.output_artifact_ids.append(result.output_artifact_id)
            return self._move(entry, target, result_id=result.id, error_message=outcome.error)

    def _room_for_output(self, entry: _Entry, result_bytes: int) -> bool:
        """Make room for a completed run's result by evicting finished requests, earliest
        finished first; False (evicting nothing) when the live requests leave too little.

        A failed run never needs this: its record and result fit in `run_reserve`."""
        tenant = self._tenants[entry.record.tenant_id]
        cost_after = entry.fixed_bytes + result_bytes  # completed: no reserve any more
        if tenant.live_bytes - entry.cost + cost_after > self._max_bytes:
            return False
        while tenant.bytes - entry.cost + cost_after > self._max_bytes:
            self._evict(tenant, next(iter(tenant.finished)))
        return True

    def _no_room_message(self, entry: _Entry, result_bytes: int) -> str:
        tenant = self._tenants[entry.record.tenant_id]
        return (
            f"The output ({result_bytes} bytes) does not fit the tenant's multimodal storage: "
            f"live requests hold {tenant.live_bytes} of its {self._max_bytes} bytes "
            f"(MULTIMODAL_MAX_BYTES_PER_TENANT). Retry once some have finished or been "
            f"cancelled."
        )

    def _result_of(
        self,
        record: MultimodalRequest,
        attempt: int,
        started_at: datetime,
        completed_at: datetime,
        outcome: _RunOutcome,
    ) -> tuple[MultimodalResult, _Artifact | None]:
        """The result of one run and its output artifact (named by the result, not stored)."""
        result = MultimodalResult(
            id=new_id(RESULT_ID_PREFIX),
            request_id=record.id,
            state=ResultState.FAILED if outcome.output is None else ResultState.COMPLETED,
            started_at=started_at,
            completed_at=completed_at,
            metadata={"adapter": self._adapter_paths[record.modality], "attempt": attempt},
        )
        output = outcome.output
        if output is None:
            result.metadata["error"] = outcome.error
            return result, None
        result.output_text = output.output_text
        result.output_data = dict(output.output_data)
        result.metadata.update(output.metadata)
        if output.output_artifact is None:
            return result, None
        artifact_id = new_id(ARTIFACT_ID_PREFIX)
        result.output_artifact_id = artifact_id
        result.output_data.setdefault("output_artifact_id", artifact_id)
        artifact = _Artifact(
            record.tenant_id,
            record.id,
            output.output_artifact_content_type or "application/octet-stream",
            output.output_artifact,
        )
        return result, artifact

    def _move(self, entry: _Entry, target: RequestState, **changes: Any) -> MultimodalRequest:
        """The one state change, judged by the lifecycle map, keeping indexes and byte
        totals true.

        Records are immutable: a change stores a new one, so readers share them safely.
        """
        record = entry.record
        transition(record.state, target)
        tenant = self._tenants[record.tenant_id]
        _account(tenant, entry, -1)
        del tenant.by_state[record.state][record.id]
        tenant.by_state[target][record.id] = None
        tenant.finished.pop(record.id, None)
        if target not in LIVE_STATES:
            tenant.finished[record.id] = None  # finishing again moves it to the end
        entry.record = record.model_copy(update={"state": target, "updated_at": _now(), **changes})
        entry.cost = self._cost_of(entry)
        _account(tenant, entry, +1)
        return entry.record

    def _cost_of(self, entry: _Entry) -> int:
        """Bytes the entry holds; one that may still run keeps room for a failed run."""
        produced = _utf8_len(entry.record.error_message) + entry.result_bytes
        if entry.record.state in RUNNABLE_STATES:
            produced = max(produced, self._run_reserve)
        return entry.fixed_bytes + produced

    def _find(self, tenant_id: str | None, request_id: str) -> _Entry:
        owner = self._tenant_of.get(request_id)
        if owner is None or (tenant_id is not None and owner != tenant_id):
            raise NotFound(f"Request {request_id} not found.")
        return self._tenants[owner].requests[request_id]

    def _scoped_tenants(self, tenant_id: str | None) -> list[_Tenant]:
        if tenant_id is None:
            return list(self._tenants.values())
        tenant = self._tenants.get(tenant_id)
        return [tenant] if tenant is not None else []

    @staticmethod
    def _matching(entries: Iterable[_Entry], modality: Modality | None) -> Iterator[_Entry]:
        for entry in entries:
            if modality is None or entry.record.modality is modality:
                yield entry

    def _make_room(self, tenant: _Tenant, cost: int) -> None:
        """Room for one more request of `cost` bytes, evicting finished requests earliest
        finished first; `QuotaExceeded` (evicting nothing) when live ones leave too little."""
        live_count = len(tenant.requests) - len(tenant.finished)
        if live_count >= self._max_per_tenant:
            raise QuotaExceeded(
                f"The tenant already has {live_count} live requests, the per-tenant cap "
                f"(MULTIMODAL_MAX_REQUESTS_PER_TENANT); execute or cancel some first."
            )
        if tenant.live_bytes + cost > self._max_bytes:
            raise QuotaExceeded(
                f"This request needs {cost} bytes of multimodal storage and the tenant's live "
                f"requests hold {tenant.live_bytes} of its {self._max_bytes} bytes "
                f"(MULTIMODAL_MAX_BYTES_PER_TENANT); execute or cancel some first."
            )
        while len(tenant.requests) >= self._max_per_tenant or tenant.bytes + cost > self._max_bytes:
            self._evict(tenant, next(iter(tenant.finished)))

    def _evict(self, tenant: _Tenant, request_id: str) -> None:
        entry = tenant.requests.pop(request_id)
        _account(tenant, entry, -1)
        del tenant.by_state[entry.record.state][request_id]
        del tenant.finished[request_id]
        del self._tenant_of[request_id]
        self._drop_result(entry)

    def _drop_result(self, entry: _Entry) -> None:
        for artifact_id in entry.output_artifact_ids:
            self._artifacts.pop(artifact_id, None)
        entry.output_artifact_ids.clear()
        entry.result = None
        entry.result_bytes = 0


def _account(tenant: _Tenant, entry: _Entry, sign: int) -> None:
    """Add (+1) or remove (-1) the entry's cost from its tenant's byte totals."""
    tenant.bytes += sign * entry.cost
    if entry.record.state in LIVE_STATES:
        tenant.live_bytes += sign * entry.cost


def _result_bytes(result: MultimodalResult, artifact: _Artifact | None) -> int:
    artifact_bytes = len(artifact.data) if artifact is not None else 0
    return RESULT_OVERHEAD_BYTES + json_size(result.model_dump(mode="json")) + artifact_bytes


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "replace"))


def _safe_message(text: str) -> str:
    """An error for the client: valid text, no control characters, at most 1,000 chars."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = _CONTROL_CHARACTERS.sub(" ", text)
    if len(text) > ERROR_MESSAGE_MAX_CHARS:
        text = text[: ERROR_MESSAGE_MAX_CHARS - 1] + "…"
    return text


def _output_problem(output: AdapterOutput) -> str | None:
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


def _by_seq(entry: _Entry) -> int:
    return entry.seq


def _decode_base64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PolicyViolation(
            "input_artifact_base64 is not valid base64 (artifact encoding rule)."
        ) from exc


def _load_adapter(modality: Modality, adapter_paths: dict[str, str]) -> Adapter:
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


def _run_bounded(adapter: Adapter, adapter_input: AdapterInput, timeout: int) -> _RunOutcome:
    """Run the adapter in a daemon thread; give up waiting after `timeout` seconds.

    A timed-out thread is abandoned, not killed: it is a daemon (never blocks exit) and
    adapters doing I/O get the same timeout, so it ends on its own.
    """
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["output"] = adapter.run(adapter_input)
        except AdapterError as exc:
            box["error"] = _safe_message(str(exc)) or "The adapter failed."
        except Exception as exc:  # an adapter bug must fail the request, not the worker
            box["error"] = _safe_message(
                f"The adapter failed unexpectedly: {type(exc).__name__}: {exc}"
            )

    worker = threading.Thread(
        target=work, name=f"multimodal-{adapter_input.request_id}", daemon=True
    )
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        return _RunOutcome(None, f"The adapter timed out after {timeout} s.")
    if "error" in box:
        return _RunOutcome(None, box["error"])
    output = box.get("output")
    if not isinstance(output, AdapterOutput):
        return _RunOutcome(None, "The adapter returned no AdapterOutput.")
    problem = _output_problem(output)
    if problem is not None:
        return _RunOutcome(None, f"The adapter returned output that cannot be stored: {problem}")
    return _RunOutcome(output, "")


_service: MultimodalService | None = None
_service_lock = threading.Lock()


def get_multimodal_service() -> MultimodalService:
    """The process-wide service, built from settings on first use."""
    global _service
    with _service_lock:
        if _service is None:
            _service = MultimodalService(
                adapter_paths=dict(settings.MULTIMODAL_ADAPTERS),
                max_requests_per_tenant=getattr(
                    settings, "MULTIMODAL_MAX_REQUESTS_PER_TENANT", DEFAULT_MAX_REQUESTS_PER_TENANT
                ),
                max_bytes_per_tenant=getattr(
                    settings, "MULTIMODAL_MAX_BYTES_PER_TENANT", DEFAULT_MAX_BYTES_PER_TENANT
                ),
            )
        return _service


def reset_multimodal_service() -> None:
    """Forget all state (tests); the next call re-reads settings."""
    global _service
    with _service_lock:
        _service = None
