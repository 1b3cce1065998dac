"""The operations hub: aggregates every registered `ProcessSource`, applies controls.

The hub keeps no processes of its own, only the control history (per process id,
bounded). It asks each source for its live set (or one status) through indexed
calls, so the cost follows the live set, not the finished history.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from datetime import datetime, timedelta

from pydantic import BaseModel

from .domain import ControlRecord, ProcessNotFound, UnsupportedAction
from .registry import ProcessEntry, ProcessSource, SourceRegistry, StepActivity, registry
from .singleton import ServiceSingleton
from .sources.base import utc_now

DEFAULT_SINCE = timedelta(hours=24)
MAX_HISTORY_PER_PROCESS = 100
MAX_PROCESSES_WITH_HISTORY = 50_000
CONTROL_LOCK_STRIPES = 64


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
    def __init__(self, *, source_registry: SourceRegistry) -> None:
        self._registry = source_registry
        self._lock = threading.Lock()
        self._history: OrderedDict[str, deque[ControlRecord]] = OrderedDict()
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
            entries.extend(page.entries)
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
            raise ProcessNotFound(f"No process with id '{process_id}'.")
        return source, entry

    def detail(self, *, tenant_id: str | None, process_id: str) -> ProcessDetail:
        source, entry = self._locate(tenant_id=tenant_id, process_id=process_id)
        return self._detail(source, entry, tenant_id=tenant_id)

    def _detail(
        self, source: ProcessSource, entry: ProcessEntry, *, tenant_id: str | None
    ) -> ProcessDetail:
        with self._lock:
            history = list(self._history.get(entry.id, ()))
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
                f"A process of type '{source.process_type}' does not support '{action}'."
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
        )
        return source, updated

    def _remember(self, record: ControlRecord, *, process_id: str) -> None:
        with self._lock:
            history = self._history.get(process_id)
            if history is None:
                history = self._history[process_id] = deque(maxlen=MAX_HISTORY_PER_PROCESS)
                while len(self._history) > MAX_PROCESSES_WITH_HISTORY:
                    self._history.popitem(last=False)
            else:
                self._history.move_to_end(process_id)
            history.append(record)


_operations_service = ServiceSingleton(lambda: OperationsHubService(source_registry=registry))


def get_operations_service() -> OperationsHubService:
    return _operations_service.get()


def reset_operations_service() -> None:
    _operations_service.reset()
