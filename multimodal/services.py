"""`MultimodalService`: the only place multimodal state changes.

It orchestrates the policy checks (`policy`), the adapter runs (`runner`) and the state
(`stores`). Every lifecycle move (claim, complete, fail, cancel, retry) is ONE atomic
`update` of the request store whose change runs `transition()`, so ten concurrent
executes run the adapter once, and a request cancelled while its adapter ran stays
cancelled (the late output is dropped).

Memory is bounded per tenant in records and bytes by the request store: making room
evicts the earliest-finished request with its companions; live requests (pending,
processing) are never evicted. When the live ones alone leave no room, a new request is
a 429 `quota_exceeded` storing nothing; a successful run whose output cannot fit ends
`failed` instead (its output dropped, retry allowed).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from agent33_core.clock import new_id, utc_now
from agent33_core.errors import InvalidTransition, QuotaExceeded
from agent33_core.lifecycle import transition
from agent33_core.registry import services
from agent33_core.store import Page, PageWhenRead
from operations import stream

from . import policy as rules
from .adapters.base import AdapterInput
from .domain import (
    ARTIFACT_ID_PREFIX,
    LIVE_STATES,
    REQUEST_ID_PREFIX,
    RESULT_ID_PREFIX,
    TRANSITIONS,
    InvalidInput,
    Modality,
    MultimodalRequest,
    MultimodalResult,
    RequestNotFound,
    RequestState,
    ResultState,
    TenantPolicy,
    refusal,
)
from .runner import RunOutcome, load_adapter, run_bounded
from .stores import (
    FAILED_RUN_BYTES,
    RECORD_OVERHEAD_BYTES,
    MultimodalStores,
    StoredArtifact,
    StoredRequest,
    artifact_bytes,
    make_stores,
    request_size,
    result_size,
    utf8_len,
)

DEFAULT_MAX_REQUESTS_PER_TENANT = 10_000
DEFAULT_MAX_BYTES_PER_TENANT = 64 * 1024 * 1024
# A modality filter reads pages this many times larger until enough requests match.
_MODALITY_FETCH_GROWTH = 4
# A claimed request's lease: its run's timeout plus this (for storing what the run made).
DEFAULT_LEASE_GRACE_SECONDS = 10
WORKER_LOST = "worker lost: the process running this request stopped before it finished."


def lease_grace() -> timedelta:
    return timedelta(
        seconds=getattr(settings, "MULTIMODAL_LEASE_GRACE_SECONDS", DEFAULT_LEASE_GRACE_SECONDS)
    )


def _lease_ran_out(stored: StoredRequest, now: datetime) -> bool:
    return (
        stored.state is RequestState.PROCESSING
        and stored.lease_expires_at is not None
        and stored.lease_expires_at <= now
    )


def _moved(stored: StoredRequest, target: RequestState, **changes: Any) -> StoredRequest:
    """`stored` in `target` if the lifecycle map allows it (else a 409), stamped now."""
    current = stored.state
    transition(
        TRANSITIONS,
        noun="request",
        current=current,
        target=target,
        refusal=refusal(current, target),
    )
    request = stored.request.model_copy(
        update={"state": target, "updated_at": utc_now(), **changes.pop("request", {})}
    )
    return stored.model_copy(update={"request": request, "incoming_bytes": 0, **changes})


class MultimodalService:
    def __init__(self, *, adapter_paths: dict[str, str], stores: MultimodalStores) -> None:
        self._adapters = {m: load_adapter(m, adapter_paths) for m in Modality}
        self._adapter_paths = {m: adapter_paths[m.value] for m in Modality}
        # The most a failed run can add: it names its adapter in the result's metadata.
        self._run_reserve = FAILED_RUN_BYTES + max(map(utf8_len, self._adapter_paths.values()))
        self.stores = stores
        self._requests = stores.requests

    @classmethod
    def from_settings(cls) -> MultimodalService:
        max_requests = getattr(
            settings, "MULTIMODAL_MAX_REQUESTS_PER_TENANT", DEFAULT_MAX_REQUESTS_PER_TENANT
        )
        max_bytes = getattr(
            settings, "MULTIMODAL_MAX_BYTES_PER_TENANT", DEFAULT_MAX_BYTES_PER_TENANT
        )
        if max_requests < 1:
            raise ImproperlyConfigured("MULTIMODAL_MAX_REQUESTS_PER_TENANT must be at least 1.")
        if max_bytes < 1:
            raise ImproperlyConfigured("MULTIMODAL_MAX_BYTES_PER_TENANT must be at least 1.")
        return cls(
            adapter_paths=dict(settings.MULTIMODAL_ADAPTERS),
            stores=make_stores(
                max_requests_per_tenant=max_requests, max_bytes_per_tenant=max_bytes
            ),
        )

    # --- policies -------------------------------------------------------------------

    def get_policy(self, *, tenant_id: str | None, policy_tenant_id: str) -> TenantPolicy:
        """A tenant reads only its own policy; an operator (None) reads any."""
        rules.require_reader(tenant_id=tenant_id, policy_tenant_id=policy_tenant_id)
        return rules.effective(self.stores.policies.get(policy_tenant_id))

    def replace_policy(
        self, *, tenant_id: str | None, policy_tenant_id: str, policy: TenantPolicy
    ) -> TenantPolicy:
        """Operators (None) only: store `policy` as the tenant's whole policy."""
        rules.require_writer(tenant_id=tenant_id)
        self.stores.policies.put(policy_tenant_id, policy)
        return policy

    def update_policy(
        self, *, tenant_id: str | None, policy_tenant_id: str, changes: dict[str, Any]
    ) -> TenantPolicy:
        """Operators (None) only: merge `changes` into the current policy (validated whole)."""
        rules.require_writer(tenant_id=tenant_id)
        return self.stores.policies.update(
            policy_tenant_id, lambda stored: rules.merged(stored, changes)
        )

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
        artifact = rules.check_inputs(
            modality=modality,
            input_text=input_text,
            input_artifact_id=input_artifact_id,
            input_artifact_base64=input_artifact_base64,
        )
        policy = rules.effective(self.stores.policies.get(tenant_id))
        timeout = rules.check_request(
            policy,
            modality=modality,
            input_text=input_text,
            requested_timeout_seconds=requested_timeout_seconds,
        )
        if input_artifact_id:
            stored_artifact = self.stores.artifacts.get(input_artifact_id)
            if stored_artifact is None or stored_artifact.tenant_id != tenant_id:
                raise InvalidInput(f"input_artifact_id '{input_artifact_id}' is not known.")
            artifact = stored_artifact.data
        rules.check_artifact_size(policy, artifact)
        now = utc_now()
        request = MultimodalRequest(
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
        fixed_bytes = RECORD_OVERHEAD_BYTES + artifact_bytes(artifact)
        fixed_bytes += sum(map(utf8_len, (tenant_id, input_text, input_artifact_id, requested_by)))
        stored = StoredRequest(
            request=request, fixed_bytes=fixed_bytes, reserve_bytes=self._run_reserve
        )
        if artifact is not None:  # first, so no claim ever finds a request without its input
            self.stores.inputs.put(
                request.id,
                StoredArtifact(
                    tenant_id=tenant_id, request_id=request.id, content_type="", data=artifact
                ),
            )
        try:
            self._requests.insert(stored)
        except QuotaExceeded:
            self.stores.inputs.delete(request.id)
            raise self._no_room_for_request(tenant_id, request_size(stored)) from None
        stream.publish(stream.CREATED, request)
        return request

    def get_request(self, *, tenant_id: str | None, request_id: str) -> MultimodalRequest:
        return self._get(tenant_id, request_id).request

    def list_requests(
        self,
        *,
        tenant_id: str | None,
        modality: Modality | None = None,
        state: RequestState | None = None,
        limit: int = 50,
    ) -> list[MultimodalRequest]:
        """Newest first, from the store's (per-state) index."""
        status = state.value if state is not None else None
        fetch = limit
        while True:
            page = self._requests.newest(tenant_id=tenant_id, status=status, limit=fetch)
            found = [s.request for s in self._reaped_all(page.records)]
            if state is not None:  # a request reaped just now left this state
                found = [r for r in found if r.state is state]
            if modality is not None:
                found = [r for r in found if r.modality is modality]
            if modality is None or len(found) >= limit or fetch >= page.total:
                return found[:limit]
            fetch *= _MODALITY_FETCH_GROWTH

    def execute(self, *, tenant_id: str | None, request_id: str) -> MultimodalRequest:
        """Run the adapter once (pending or failed -> processing -> completed | failed)."""
        claimed = self._claim(tenant_id, request_id)
        request = claimed.request
        stored_input = self.stores.inputs.get(request.id)
        adapter_input = AdapterInput(
            request_id=request.id,
            tenant_id=request.tenant_id,
            modality=request.modality.value,
            input_text=request.input_text,
            input_artifact=stored_input.data if stored_input is not None else None,
            timeout_seconds=request.requested_timeout_seconds,
        )
        started_at = utc_now()
        outcome = run_bounded(
            self._adapters[request.modality], adapter_input, request.requested_timeout_seconds
        )
        return self._finish(claimed, started_at, outcome)

    def claim(self, *, tenant_id: str | None, request_id: str) -> MultimodalRequest:
        """Only the first half of `execute`: move the request to processing for a worker
        elsewhere (the demo data uses it to show a request in flight; cancel still works)."""
        return self._claim(tenant_id, request_id).request

    def cancel(self, *, tenant_id: str | None, request_id: str) -> MultimodalRequest:
        return self.cancel_from(tenant_id=tenant_id, request_id=request_id)[1]

    def cancel_from(
        self, *, tenant_id: str | None, request_id: str
    ) -> tuple[RequestState, MultimodalRequest]:
        """Cancel, and report the state it left (read in the same atomic step)."""
        before, after = self._update(
            tenant_id, request_id, lambda s: _moved(s, RequestState.CANCELLED)
        )
        return before.state, after.request

    def get_result(self, *, tenant_id: str | None, request_id: str) -> MultimodalResult:
        result_id = self._get(tenant_id, request_id).request.result_id
        result = self.stores.results.get(result_id) if result_id else None
        if result is None:
            raise RequestNotFound(f"Request {request_id} has no result yet.")
        return result

    # --- what the operations hub reads ----------------------------------------------

    def live_page(self, *, tenant_id: str | None, limit: int) -> Page[MultimodalRequest]:
        """Pending and processing requests, newest first, from the live index."""
        page = self._requests.newest_live(tenant_id=tenant_id, limit=limit)
        return self._still(page, LIVE_STATES)

    def state_page(
        self, *, tenant_id: str | None, state: RequestState, limit: int
    ) -> Page[MultimodalRequest]:
        page = self._requests.newest(tenant_id=tenant_id, status=state.value, limit=limit)
        return self._still(page, frozenset({state}))

    def adapter_runs(
        self, *, tenant_id: str | None, request_id: str
    ) -> tuple[int, datetime | None]:
        """How many times the adapter ran for a request, and when the last run ended."""
        stored = self._get(tenant_id, request_id)
        return stored.attempts, stored.last_run_completed_at

    # --- internals ------------------------------------------------------------------

    def _get(self, tenant_id: str | None, request_id: str) -> StoredRequest:
        stored = self._requests.get(request_id, tenant_id=tenant_id)
        if stored is None:
            raise RequestNotFound(f"Request {request_id} not found.")
        return self._reaped(stored)

    def _reaped(self, stored: StoredRequest) -> StoredRequest:
        """`stored`, or, when it is processing and its lease ran out (the worker that
        claimed it is gone: a process that died mid-run), the same request ended failed."""
        if not _lease_ran_out(stored, utc_now()):
            return stored

        def lose(current: StoredRequest) -> StoredRequest:
            if not _lease_ran_out(current, utc_now()):
                return current  # finished (or reaped) in the meantime
            return _moved(current, RequestState.FAILED, request={"error_message": WORKER_LOST})

        changed = self._requests.update(stored.id, tenant_id=stored.tenant_id, change=lose)
        if changed is not None:
            stream.publish_moved(changed[0].state, changed[1].state, changed[1].request)
        return stored if changed is None else changed[1]

    def _still(self, page: Page[StoredRequest], states: frozenset) -> Page[MultimodalRequest]:
        """The page's requests still in `states` once reaped, and the total without those
        that left them just now; worked out when first read, so that the store's read can
        wait with the hub's other pages (`batched_reads`)."""

        def still() -> Page[MultimodalRequest]:
            reaped = self._reaped_all(page.records)
            kept = [s.request for s in reaped if s.state in states]
            return Page(page.total - (len(reaped) - len(kept)), kept)

        return PageWhenRead(still)  # type: ignore[return-value]  (it reads as a Page)

    def _reaped_all(self, records: list[StoredRequest]) -> list[StoredRequest]:
        now = utc_now()
        return [self._reaped(s) if _lease_ran_out(s, now) else s for s in records]

    def _update(
        self,
        tenant_id: str | None,
        request_id: str,
        change: Callable[[StoredRequest], StoredRequest],
    ) -> tuple[StoredRequest, StoredRequest]:
        changed = self._requests.update(request_id, tenant_id=tenant_id, change=change)
        if changed is None:
            raise RequestNotFound(f"Request {request_id} not found.")
        stream.publish_moved(changed[0].state, changed[1].state, changed[1].request)
        return changed

    def _claim(self, tenant_id: str | None, request_id: str) -> StoredRequest:
        def claim(stored: StoredRequest) -> StoredRequest:
            if _lease_ran_out(stored, utc_now()):  # its worker is gone: it failed, runs again
                stored = _moved(stored, RequestState.FAILED, request={"error_message": WORKER_LOST})
            timeout = timedelta(seconds=stored.request.requested_timeout_seconds)
            return _moved(
                stored,
                RequestState.PROCESSING,
                request={"error_message": ""},
                attempts=stored.attempts + 1,
                lease_expires_at=utc_now() + timeout + lease_grace(),
            )

        return self._update(tenant_id, request_id, claim)[1]

    def _finish(
        self, claimed: StoredRequest, started_at: datetime, outcome: RunOutcome
    ) -> MultimodalRequest:
        """Store the run's result and move the request to completed or failed, in one step;
        a request cancelled meanwhile stays as it is and the output is dropped."""
        request, tenant_id = claimed.request, claimed.tenant_id
        completed_at = utc_now()
        result, artifact = self._result_of(claimed, started_at, completed_at, outcome)
        size = result_size(result, artifact)
        if outcome.output is not None and not self._admit_output(claimed, size):
            outcome = RunOutcome(None, self._no_room_for_output(tenant_id, size))
            result, artifact = self._result_of(claimed, started_at, completed_at, outcome)
            size = result_size(result, artifact)
        target = RequestState.FAILED if outcome.output is None else RequestState.COMPLETED
        self.stores.results.put(result.id, result)
        if artifact is not None:
            self.stores.artifacts.put(result.output_artifact_id, artifact)

        def finish(stored: StoredRequest) -> StoredRequest:
            try:
                return _moved(
                    stored,
                    target,
                    request={"result_id": result.id, "error_message": outcome.error},
                    result_bytes=size,
                    output_artifact_id=result.output_artifact_id,
                    last_run_completed_at=completed_at,
                )
            except InvalidTransition:
                return stored  # cancelled while the adapter ran: the map refuses the finish

        changed = self._requests.update(request.id, tenant_id=tenant_id, change=finish)
        if changed is None or changed[1].request.result_id != result.id:
            self.stores.results.delete(result.id)  # the finish was refused: drop the output
            self.stores.artifacts.delete(result.output_artifact_id)
            if changed is None:  # cancelled, then evicted to make room
                raise RequestNotFound(f"Request {request.id} not found.")
            return changed[1].request
        before, after = changed
        stream.publish_moved(before.state, after.state, after.request)
        self.stores.results.delete(before.request.result_id)  # the previous run's
        self.stores.artifacts.delete(before.output_artifact_id)
        return after.request

    def _admit_output(self, claimed: StoredRequest, size: int) -> bool:
        """Hold `size` bytes for a completed run's result on the still-processing request:
        the store evicts finished requests to make room, or refuses (False) when the live
        requests leave too little. A failed run never needs this: it fits the reserve."""

        def hold(stored: StoredRequest) -> StoredRequest:
            if stored.state is not RequestState.PROCESSING:
                return stored  # cancelled meanwhile: the finish will be refused
            return stored.model_copy(update={"incoming_bytes": size})

        try:
            self._requests.update(claimed.id, tenant_id=claimed.tenant_id, change=hold)
        except QuotaExceeded:
            return False
        return True

    def _result_of(
        self,
        claimed: StoredRequest,
        started_at: datetime,
        completed_at: datetime,
        outcome: RunOutcome,
    ) -> tuple[MultimodalResult, StoredArtifact | None]:
        """The result of one run and its output artifact (named by the result, not stored)."""
        request = claimed.request
        metadata: dict[str, Any] = {
            "adapter": self._adapter_paths[request.modality],
            "attempt": claimed.attempts,
        }
        fields: dict[str, Any] = {
            "id": new_id(RESULT_ID_PREFIX),
            "request_id": request.id,
            "started_at": started_at,
            "completed_at": completed_at,
        }
        output = outcome.output
        if output is None:
            metadata["error"] = outcome.error
            return MultimodalResult(state=ResultState.FAILED, metadata=metadata, **fields), None
        output_data = dict(output.output_data)
        artifact = None
        if output.output_artifact is not None:
            fields["output_artifact_id"] = new_id(ARTIFACT_ID_PREFIX)
            output_data.setdefault("output_artifact_id", fields["output_artifact_id"])
            artifact = StoredArtifact(
                tenant_id=request.tenant_id,
                request_id=request.id,
                content_type=output.output_artifact_content_type or "application/octet-stream",
                data=output.output_artifact,
            )
        result = MultimodalResult(
            state=ResultState.COMPLETED,
            output_text=output.output_text,
            output_data=output_data,
            metadata=metadata | output.metadata,
            **fields,
        )
        return result, artifact

    def _live_usage(self, tenant_id: str) -> tuple[int, int]:
        """(live requests, their bytes): read only to explain a refusal."""
        limit = self._requests.spec.max_records
        page = self._requests.newest_live(tenant_id=tenant_id, limit=limit)
        return page.total, sum(map(request_size, page.records))

    def _no_room_for_request(self, tenant_id: str, size: int) -> QuotaExceeded:
        live_count, live_bytes = self._live_usage(tenant_id)
        if live_count >= self._requests.spec.max_records:
            return QuotaExceeded(
                f"The tenant already has {live_count} live requests, the per-tenant cap "
                f"(MULTIMODAL_MAX_REQUESTS_PER_TENANT); execute or cancel some first."
            )
        return QuotaExceeded(
            f"This request needs {size} bytes of multimodal storage and the tenant's live "
            f"requests hold {live_bytes} of its {self._requests.spec.max_bytes} bytes "
            f"(MULTIMODAL_MAX_BYTES_PER_TENANT); execute or cancel some first."
        )

    def _no_room_for_output(self, tenant_id: str, size: int) -> str:
        _, live_bytes = self._live_usage(tenant_id)
        return (
            f"The output ({size} bytes) does not fit the tenant's multimodal storage: "
            f"live requests hold {live_bytes} of its {self._requests.spec.max_bytes} bytes "
            f"(MULTIMODAL_MAX_BYTES_PER_TENANT). Retry once some have finished or been "
            f"cancelled."
        )


multimodal_service = services.register("multimodal", MultimodalService.from_settings)


def get_multimodal_service() -> MultimodalService:
    """The process-wide service, built from settings on first use."""
    return multimodal_service.get()
