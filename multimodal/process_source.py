"""Multimodal requests as processes of the operations hub (contract §5).

Imported only when the `operations` app is installed (see `MultimodalConfig.ready`).
Reads go through the service's per-state indexes, never the finished history; the hub's
cancel is the API's cancel (same service call, same 409 from the lifecycle map).
"""

from __future__ import annotations

from datetime import datetime

from operations.registry import ProcessEntry, StepActivity

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

    def live_processes(self, *, tenant_id: str | None, since: datetime) -> list[ProcessEntry]:
        """Every pending or processing request; `since` does not narrow live work."""
        records = get_multimodal_service().live_requests(tenant_id=tenant_id)
        return sorted((_entry(r) for r in records), key=lambda e: e.started_at, reverse=True)

    def processes_with_status(
        self, *, tenant_id: str | None, status: str, limit: int
    ) -> list[ProcessEntry]:
        try:
            state = RequestState(status)
        except ValueError:
            return []  # not a multimodal state: no process of this type has it
        records = get_multimodal_service().list_requests(
            tenant_id=tenant_id, state=state, limit=limit
        )
        return [_entry(r) for r in records]  # newest first already (creation order)

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
    ) -> ProcessEntry:
        if action != CANCEL:
            raise UnsupportedAction(f"Multimodal requests support only 'cancel', not '{action}'.")
        record = get_multimodal_service().cancel(tenant_id=tenant_id, request_id=process_id)
        return _entry(record)
