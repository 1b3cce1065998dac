"""The operations hub: aggregates every registered `ProcessSource`, applies controls.

The hub keeps no processes of its own, only the control history: per process, and
bounded per tenant (the process's tenant), so one tenant's controls never evict another
tenant's audit trail. It asks each source for its live set (or one status) through
indexed calls, so the cost follows the live set, not the finished history.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from pydantic import BaseModel

from agent33_core.fields import json_size

from .domain import ControlRecord, ProcessNotFound, UnsupportedAction, shown
from .registry import ProcessEntry, ProcessSource, SourceRegistry, StepActivity, registry
from .singleton import ServiceSingleton
from .sources.base import ITEM_OVERHEAD_BYTES, utc_now

DEFAULT_SINCE = timedelta(hours=24)
MAX_HISTORY_PER_PROCESS = 100
DEFAULT_MAX_CONTROL_HISTORY_PER_TENANT = 10_000
DEFAULT_MAX_CONTROL_HISTORY_BYTES_PER_TENANT = 4 * 1024 * 1024
CONTROL_LOCK_STRIPES = 64


@dataclass
class TenantHistory:
    """One tenant's control history: per process, least recently controlled first."""

    by_process: OrderedDict[str, deque[tuple[ControlRecord, int]]] = field(
        default_factory=OrderedDict
    )
    records: int = 0
    bytes: int = 0


class HubSnapshot(BaseModel):
    timestamp: datetime
    active_count: int
    counts: dict[str, int]
    processes: list[ProcessEntry]


class ProcessDetail(ProcessEntry):
    actions: list[StepActivity]
    controls: list[str]
    control_history: list[ControlRecord]


class OperationsHubService:
    def __init__(
        self,
        *,
        source_registry: SourceRegistry,
        max_history_per_tenant: int = DEFAULT_MAX_CONTROL_HISTORY_PER_TENANT,
        max_history_bytes_per_tenant: int = DEFAULT_MAX_CONTROL_HISTORY_BYTES_PER_TENANT,
    ) -> None:
        self._registry = source_registry
        self._lock = threading.Lock()
        self._max_history = max(1, max_history_per_tenant)
        self._max_history_bytes = max(1, max_history_bytes_per_tenant)
        self._history: dict[str, TenantHistory] = {}
        # Controls on one process are serialised, so its history is in the order applied.
        self._control_locks = [threading.Lock() for _ in range(CONTROL_LOCK_STRIPES)]

    def include_keys(self) -> list[str]:
        return self._registry.include_keys()

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
        entries: list[ProcessEntry] = []
        for source in sources:
            if status is None:
                page = source.live_page(tenant_id=tenant_id, since=since, limit=limit)
            else:
                page = source.status_page(tenant_id=tenant_id, status=status, limit=limit)
            counts[source.process_type] = page.total
            entries.extend(map(_with_tenant_metadata, page.entries))
        entries.sort(key=lambda e: (e.started_at, e.id), reverse=True)
        return HubSnapshot(
            timestamp=utc_now(),
            active_count=sum(counts.values()),
            counts=counts,
            processes=entries[:limit],
        )

    def _locate(
        self, *, tenant_id: str | None, process_id: str
    ) -> tuple[ProcessSource, ProcessEntry]:
        source = self._registry.for_process_id(process_id)
        entry = source.get_process(tenant_id=tenant_id, process_id=process_id) if source else None
        if source is None or entry is None:
            raise ProcessNotFound(f"No process with id '{shown(process_id)}'.")
        return source, _with_tenant_metadata(entry)

    def detail(self, *, tenant_id: str | None, process_id: str) -> ProcessDetail:
        source, entry = self._locate(tenant_id=tenant_id, process_id=process_id)
        return self._detail(source, entry, tenant_id=tenant_id)

    def _detail(
        self, source: ProcessSource, entry: ProcessEntry, *, tenant_id: str | None
    ) -> ProcessDetail:
        with self._lock:
            tenant_history = self._history.get(entry.tenant_id)
            kept = tenant_history.by_process.get(entry.id, ()) if tenant_history else ()
            history = [record for record, _ in kept]
        return ProcessDetail(
            **entry.model_dump(),
            actions=source.step_activity(tenant_id=tenant_id, process_id=entry.id),
            controls=source.allowed_controls(entry),
            control_history=history,
        )

    def control(
        self, *, tenant_id: str | None, process_id: str, action: str, reason: str, actor: str
    ) -> ProcessDetail:
        """Apply `action` through the source's own lifecycle; record it in the history."""
        with self._control_locks[hash(process_id) % CONTROL_LOCK_STRIPES]:
            source, updated = self._apply(
                tenant_id=tenant_id,
                process_id=process_id,
                action=action,
                reason=reason,
                actor=actor,
            )
        return self._detail(source, updated, tenant_id=tenant_id)

    def _apply(
        self, *, tenant_id: str | None, process_id: str, action: str, reason: str, actor: str
    ) -> tuple[ProcessSource, ProcessEntry]:
        # Locate first: an unknown or foreign process is a 404 before any 409.
        source, _ = self._locate(tenant_id=tenant_id, process_id=process_id)
        if action not in source.supported_controls():
            raise UnsupportedAction(
                f"A process of type '{source.process_type}' does not support '{shown(action)}'."
            )
        from_status, updated = source.apply_control(
            tenant_id=tenant_id, process_id=process_id, action=action, actor=actor, reason=reason
        )
        self._remember(
            ControlRecord(
                action=action,
                reason=reason,
                actor=actor,
                at=utc_now(),
                from_status=from_status,
                to_status=updated.status,
            ),
            process_id=process_id,
            tenant_id=updated.tenant_id,
        )
        return source, _with_tenant_metadata(updated)

    def _remember(self, record: ControlRecord, *, process_id: str, tenant_id: str) -> None:
        """Append to the process's history; evict only this tenant's oldest history."""
        size = json_size(record.model_dump(mode="json")) + ITEM_OVERHEAD_BYTES
        with self._lock:
            tenant = self._history.setdefault(tenant_id, TenantHistory())
            history = tenant.by_process.get(process_id)
            if history is None:
                history = tenant.by_process[process_id] = deque()
            else:
                tenant.by_process.move_to_end(process_id)
            history.append((record, size))
            tenant.records += 1
            tenant.bytes += size
            if len(history) > MAX_HISTORY_PER_PROCESS:
                self._forget_oldest(tenant, process_id)
            while tenant.records > 1 and (
                tenant.records > self._max_history or tenant.bytes > self._max_history_bytes
            ):
                self._forget_oldest(tenant, next(iter(tenant.by_process)))

    @staticmethod
    def _forget_oldest(tenant: TenantHistory, process_id: str) -> None:
        history = tenant.by_process[process_id]
        _, size = history.popleft()
        tenant.records -= 1
        tenant.bytes -= size
        if not history:
            del tenant.by_process[process_id]


def _with_tenant_metadata(entry: ProcessEntry) -> ProcessEntry:
    """Every hub entry's `metadata` carries its `tenant_id`, whichever source made it."""
    if entry.metadata.get("tenant_id") == entry.tenant_id:
        return entry
    return entry.model_copy(update={"metadata": {**entry.metadata, "tenant_id": entry.tenant_id}})


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


_operations_service = ServiceSingleton(
    lambda: OperationsHubService(
        source_registry=registry,
        max_history_per_tenant=max_control_history_per_tenant(),
        max_history_bytes_per_tenant=max_control_history_bytes_per_tenant(),
    )
)


def get_operations_service() -> OperationsHubService:
    return _operations_service.get()


def reset_operations_service() -> None:
    _operations_service.reset()
