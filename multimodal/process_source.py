"""Multimodal requests as processes of the operations hub (contract §5).

Imported only when the `operations` app is installed (see `MultimodalConfig.ready`). The
source describes itself (statuses, live statuses, controls); the hub derives what it
allows from that. Pages come from the request store's live and per-state indexes (the
requests themselves; the hub converts only those it shows with `to_entry`); the hub's
cancel is the API's cancel (same service call, same 409 from the lifecycle map).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from agent33_core.errors import NotFound
from operations.registry import (
    AppliedControl,
    PageOfRecords,
    ProcessEntry,
    ProcessPage,
    StepActivity,
)

from .domain import LIVE_STATES, REQUEST_ID_PREFIX, MultimodalRequest, RequestState
from .services import get_multimodal_service

CANCEL = "cancel"


class MultimodalProcessSource:
    process_type = "multimodal_request"
    include_key = "multimodal"
    id_prefix = REQUEST_ID_PREFIX
    statuses: tuple[str, ...] = tuple(state.value for state in RequestState)
    live_statuses: frozenset[str] = frozenset(state.value for state in LIVE_STATES)
    controls: Mapping[str, Mapping[str, str]] = {
        CANCEL: {state.value: RequestState.CANCELLED.value for state in LIVE_STATES}
    }

    def live_page(self, *, tenant_id: str | None, since: datetime, limit: int) -> PageOfRecords:
        """Pending and processing requests; `since` does not narrow live work."""
        return get_multimodal_service().live_page(tenant_id=tenant_id, limit=limit)

    def status_page(self, *, tenant_id: str | None, status: str, limit: int) -> PageOfRecords:
        if status not in self.statuses:
            return ProcessPage(0, [])  # not a multimodal state: no request has it
        return get_multimodal_service().state_page(
            tenant_id=tenant_id, state=RequestState(status), limit=limit
        )

    def sort_key(self, record: MultimodalRequest) -> tuple[datetime, str]:
        """A request starts when it is created (the order of the store's indexes too)."""
        return record.created_at, record.id

    def to_entry(self, record: MultimodalRequest) -> ProcessEntry:
        return ProcessEntry.trusted(
            id=record.id,
            type=self.process_type,
            status=str(record.state),
            started_at=record.created_at,
            name=str(record.modality) or record.id,
            tenant_id=record.tenant_id,
            metadata={
                "tenant_id": record.tenant_id,
                "requested_by": record.requested_by,
                "input_artifact_bytes": record.input_artifact_bytes,
                "result_id": record.result_id,
                "error_message": record.error_message,
            },
        )

    def get_process(self, *, tenant_id: str | None, process_id: str) -> ProcessEntry | None:
        try:
            record = get_multimodal_service().get_request(
                tenant_id=tenant_id, request_id=process_id
            )
        except NotFound:
            return None
        return self.to_entry(record)

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

    def apply_control(
        self, *, tenant_id: str | None, process_id: str, action: str, actor: str, reason: str
    ) -> AppliedControl:
        """The hub calls this only for an action in `controls`: here, always a cancel."""
        previous, record = get_multimodal_service().cancel_from(
            tenant_id=tenant_id, request_id=process_id
        )
        return AppliedControl(previous.value, self.to_entry(record))
