"""Multimodal requests as processes of the operations hub (contract §5).

Imported only when the `operations` app is installed (see `MultimodalConfig.ready`).
Reads go through the service's per-state indexes, never the finished history; the hub's
cancel is the API's cancel (same service call, same 409 from the lifecycle map).
"""

from __future__ import annotations

import heapq
from datetime import datetime

from operations.registry import AppliedControl, ProcessEntry, ProcessPage, StepActivity

from .domain import LIVE_STATES, MultimodalRequest, NotFound, RequestState, UnsupportedAction
from .services import get_multimodal_service

CANCEL = "cancel"


def _entry(record: MultimodalRequest) -> ProcessEntry:
    return ProcessEntry(
        id=record.id,
        type=MultimodalProcessSource.process_type,
        status=record.state.value,
        started_at=record.created_at,
        name=record.modality.value or record.id,
        tenant_id=record.tenant_id,
        metadata={
            "tenant_id": record.tenant_id,
            "requested_by": record.requested_by,
            "input_artifact_bytes": record.input_artifact_bytes,
            "result_id": record.result_id,
            "error_message": record.error_message,
        },
    )


class MultimodalProcessSource:
    process_type = "multimodal_request"
    include_key = "multimodal"
    id_prefix = "mmreq"

    def live_page(self, *, tenant_id: str | None, since: datetime, limit: int) -> ProcessPage:
        """Pending and processing requests; `since` does not narrow live work."""
        records = get_multimodal_service().live_requests(tenant_id=tenant_id)
        newest = heapq.nlargest(limit, records, key=lambda r: (r.created_at, r.id))
        return ProcessPage(len(records), [_entry(r) for r in newest])

    def status_page(self, *, tenant_id: str | None, status: str, limit: int) -> ProcessPage:
        try:
            state = RequestState(status)
        except ValueError:
            return ProcessPage(0, [])  # not a multimodal state: no request has it
        service = get_multimodal_service()
        records = service.list_requests(tenant_id=tenant_id, state=state, limit=limit)
        total = service.count_requests(tenant_id=tenant_id, state=state)
        return ProcessPage(total, [_entry(r) for r in records])  # newest first already

    def get_process(self, *, tenant_id: str | None, process_id: str) -> ProcessEntry | None:
        try:
            record = get_multimodal_service().get_request(
                tenant_id=tenant_id, request_id=process_id
            )
        except NotFound:
            return None
        return _entry(record)

    def step_activity(self, *, tenant_id: str | None, process_id: str) -> list[StepActivity]:
        """One step, `adapter`, counting adapter runs; none before the first run."""
        try:
            runs, last_completed = get_multimodal_service().adapter_runs(
                tenant_id=tenant_id, request_id=process_id
            )
        except NotFound:
            return []
        if runs == 0:
            return []
        return [StepActivity(step_id="adapter", action_count=runs, completed_at=last_completed)]

    def allowed_controls(self, entry: ProcessEntry) -> list[str]:
        return [CANCEL] if entry.status in {s.value for s in LIVE_STATES} else []

    def supported_controls(self) -> frozenset[str]:
        return frozenset({CANCEL})

    def apply_control(
        self, *, tenant_id: str | None, process_id: str, action: str, actor: str, reason: str
    ) -> AppliedControl:
        if action != CANCEL:
            raise UnsupportedAction(f"Multimodal requests support only 'cancel', not '{action}'.")
        previous, record = get_multimodal_service().cancel_from(
            tenant_id=tenant_id, request_id=process_id
        )
        return AppliedControl(previous.value, _entry(record))
