"""The operations hub: aggregates every registered `ProcessSource`, applies controls.

The hub keeps no processes of its own, only the control history, in a store: one record
per tenant (the process's tenant) holding that tenant's history per process, bounded per
process and per tenant in count and bytes, so one tenant's controls never evict another
tenant's audit trail. It asks each source for its live set (or one status) through
indexed calls, so the cost follows the live set, not the finished history; it merges the
sources' pages of records and turns into entries only the `limit` it returns.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from itertools import islice
from operator import itemgetter
from typing import Any

from django.conf import settings
from pydantic import BaseModel

from agent33_core.clock import utc_now
from agent33_core.errors import NotFound, UnsupportedAction
from agent33_core.registry import services
from agent33_core.sizing import model_bytes
from agent33_core.store import StoreSpec

from .domain import ControlRecord, shown
from .registry import (
    ProcessEntry,
    ProcessSource,
    SourceRegistry,
    StepActivity,
    allowed_controls,
    registry,
)
from .stores import make_store

DEFAULT_SINCE = timedelta(hours=24)
MAX_HISTORY_PER_PROCESS = 100
DEFAULT_MAX_CONTROL_HISTORY_PER_TENANT = 10_000
DEFAULT_MAX_CONTROL_HISTORY_BYTES_PER_TENANT = 4 * 1024 * 1024
# What the history holds per control beyond the record: its list slot, dict entry share.
CONTROL_OVERHEAD_BYTES = 64
CONTROL_LOCK_STRIPES = 64
HISTORY_SLACK_BYTES = 64 * 1024


class HubSnapshot(BaseModel):
    timestamp: datetime
    active_count: int
    counts: dict[str, int]
    processes: list[ProcessEntry]


class ProcessDetail(ProcessEntry):
    actions: list[StepActivity]
    controls: list[str]
    control_history: list[ControlRecord]


class TenantControlHistory(BaseModel):
    """One tenant's control history: per process, least recently controlled first."""

    id: str
    tenant_id: str
    started_at: datetime
    processes: dict[str, list[ControlRecord]]
    records: int
    bytes: int


# A page record with its source, behind its sort key: what the hub's merge compares.
_Keyed = tuple[tuple[datetime, str], ProcessSource, Any]


def _keyed(source: ProcessSource, records: Sequence[Any]) -> Iterator[_Keyed]:
    """A page's records, each keyed by `source.sort_key` only when the merge reaches it."""
    sort_key = source.sort_key
    return ((sort_key(record), source, record) for record in records)


def _history_id(tenant_id: str) -> str:
    return f"controls:{tenant_id}"


def _control_bytes(record: ControlRecord) -> int:
    """Upper bound of what one kept control holds (`agent33_core.sizing`)."""
    return model_bytes(record) + CONTROL_OVERHEAD_BYTES


class OperationsHubService:
    def __init__(
        self,
        *,
        source_registry: SourceRegistry,
        max_history_per_tenant: int = DEFAULT_MAX_CONTROL_HISTORY_PER_TENANT,
        max_history_bytes_per_tenant: int = DEFAULT_MAX_CONTROL_HISTORY_BYTES_PER_TENANT,
    ) -> None:
        self._registry = source_registry
        self._max_history = max(1, max_history_per_tenant)
        self._max_history_bytes = max(1, max_history_bytes_per_tenant)
        # One record per tenant, never live: the record trims itself to the caps above.
        self._history = make_store(
            StoreSpec(
                noun="control history",
                status_of=lambda history: "kept",
                time_of=lambda history: history.started_at,
                size_of=lambda history: history.bytes,
                live_statuses=frozenset(),
                max_records=1,
                # The record trims itself; the slack lets one oversized control be kept.
                max_bytes=self._max_history_bytes + HISTORY_SLACK_BYTES,
            ),
            name="controls",
            model=TenantControlHistory,
        )
        # Controls on one process are serialised, so its history is in the order applied.
        self._control_locks = [threading.Lock() for _ in range(CONTROL_LOCK_STRIPES)]

    def include_keys(self) -> list[str]:
        return self._registry.include_keys()

    def statuses(self) -> list[str]:
        """Every status a registered source reports (what `status=` may ask for)."""
        return self._registry.statuses()

    def snapshot(
        self,
        *,
        tenant_id: str | None,
        include: list[str] | None,
        since: datetime | None,
        status: str | None,
        limit: int,
    ) -> HubSnapshot:
        """Live processes (or every process in `status`), newest first, at most `limit`.

        `counts` and `active_count` count the whole result before `limit` cuts it.
        """
        keys = self.include_keys() if include is None else include
        sources = [s for s in map(self._registry.by_include, keys) if s is not None]
        since = since or utc_now() - DEFAULT_SINCE
        counts: dict[str, int] = {}
        pages: list[Iterator[_Keyed]] = []
        for source in sources:
            if status is None:
                page = source.live_page(tenant_id=tenant_id, since=since, limit=limit)
            else:
                page = source.status_page(tenant_id=tenant_id, status=status, limit=limit)
            counts[source.process_type] = page.total
            pages.append(_keyed(source, page.records))
        # Every page is newest first: merge them, and convert only the `limit` shown.
        newest = islice(heapq.merge(*pages, key=itemgetter(0), reverse=True), limit)
        # Built from validated parts: no second validation of the entries.
        return HubSnapshot.model_construct(
            timestamp=utc_now(),
            active_count=sum(counts.values()),
            counts=counts,
            processes=[source.to_entry(record) for _, source, record in newest],
        )

    def _locate(
        self, *, tenant_id: str | None, process_id: str
    ) -> tuple[ProcessSource, ProcessEntry]:
        source = self._registry.for_process_id(process_id)
        entry = source.get_process(tenant_id=tenant_id, process_id=process_id) if source else None
        if source is None or entry is None:
            raise NotFound(f"No process with id '{shown(process_id)}'.")
        return source, entry

    def detail(self, *, tenant_id: str | None, process_id: str) -> ProcessDetail:
        source, entry = self._locate(tenant_id=tenant_id, process_id=process_id)
        history = self._history.get(_history_id(entry.tenant_id), tenant_id=entry.tenant_id)
        return self._detail(source, entry, tenant_id=tenant_id, history=history)

    def _detail(
        self,
        source: ProcessSource,
        entry: ProcessEntry,
        *,
        tenant_id: str | None,
        history: TenantControlHistory | None,
    ) -> ProcessDetail:
        # A shallow copy of the entry's fields: no dump, no second validation.
        return ProcessDetail.model_construct(
            **dict(entry),
            actions=source.step_activity(tenant_id=tenant_id, process_id=entry.id),
            controls=allowed_controls(source, entry.status),
            control_history=list(history.processes.get(entry.id, ())) if history else [],
        )

    def control(
        self, *, tenant_id: str | None, process_id: str, action: str, reason: str, actor: str
    ) -> ProcessDetail:
        """Apply `action` through the source's own lifecycle; record it in the history."""
        with self._control_locks[hash(process_id) % CONTROL_LOCK_STRIPES]:
            # Locate first: an unknown or foreign process is a 404 before any 409.
            source, _ = self._locate(tenant_id=tenant_id, process_id=process_id)
            if action not in source.controls:
                raise UnsupportedAction(
                    f"A process of type '{source.process_type}' does not support '{shown(action)}'."
                )
            from_status, updated = source.apply_control(
                tenant_id=tenant_id,
                process_id=process_id,
                action=action,
                actor=actor,
                reason=reason,
            )
            record = ControlRecord(
                action=action,
                reason=reason,
                actor=actor,
                at=utc_now(),
                from_status=from_status,
                to_status=updated.status,
            )
            history = self._remember(record, process_id=process_id, tenant_id=updated.tenant_id)
        return self._detail(source, updated, tenant_id=tenant_id, history=history)

    def _remember(
        self, record: ControlRecord, *, process_id: str, tenant_id: str
    ) -> TenantControlHistory:
        """Append to the process's history in one store step (inserting the tenant's first)."""

        def append(history: TenantControlHistory) -> TenantControlHistory:
            return self._appended(history, record, process_id)

        history_id = _history_id(tenant_id)
        changed = self._history.update(history_id, tenant_id=tenant_id, change=append)
        if changed is not None:
            return changed[1]
        empty = TenantControlHistory(
            id=history_id,
            tenant_id=tenant_id,
            started_at=utc_now(),
            processes={},
            records=0,
            bytes=0,
        )
        try:
            return self._history.insert(append(empty))
        except ValueError:  # another process of this tenant inserted it first
            return self._history.update(history_id, tenant_id=tenant_id, change=append)[1]

    def _appended(
        self, history: TenantControlHistory, record: ControlRecord, process_id: str
    ) -> TenantControlHistory:
        """A new version with `record` appended; the oldest controls of the tenant's least
        recently controlled processes dropped until within every cap (always keeping one).
        """
        processes = dict(history.processes)
        kept = [*processes.pop(process_id, ()), record]
        processes[process_id] = kept  # now the most recently controlled
        records, size = history.records + 1, history.bytes + _control_bytes(record)
        if len(kept) > MAX_HISTORY_PER_PROCESS:
            processes[process_id] = kept[1:]
            records, size = records - 1, size - _control_bytes(kept[0])
        while records > 1 and (records > self._max_history or size > self._max_history_bytes):
            oldest_process = next(iter(processes))
            oldest, *rest = processes[oldest_process]
            if rest:
                processes[oldest_process] = rest
            else:
                del processes[oldest_process]
            records, size = records - 1, size - _control_bytes(oldest)
        return history.model_copy(
            update={"processes": processes, "records": records, "bytes": size}
        )


def max_control_history_per_tenant() -> int:
    return int(
        getattr(
            settings,
            "OPERATIONS_MAX_CONTROL_HISTORY_PER_TENANT",
            DEFAULT_MAX_CONTROL_HISTORY_PER_TENANT,
        )
    )


def max_control_history_bytes_per_tenant() -> int:
    return int(
        getattr(
            settings,
            "OPERATIONS_MAX_CONTROL_HISTORY_BYTES_PER_TENANT",
            DEFAULT_MAX_CONTROL_HISTORY_BYTES_PER_TENANT,
        )
    )


operations_service = services.register(
    "operations.hub",
    lambda: OperationsHubService(
        source_registry=registry,
        max_history_per_tenant=max_control_history_per_tenant(),
        max_history_bytes_per_tenant=max_control_history_bytes_per_tenant(),
    ),
)


def get_operations_service() -> OperationsHubService:
    return operations_service.get()
