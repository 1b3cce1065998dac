"""Indexed in-memory storage for one source's records, so the hub never scans history.

Indexes: live ids per tenant; every record by `started_at` (global and per tenant,
so "started since" is a bisect); every record by status (global and per tenant, so
"all in status X, newest first" is a slice). Records outside the live states are
"finished": at most `max_finished_per_tenant` of them are kept per tenant, the
earliest finished going first; live records are never evicted.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Generic, Protocol, TypeVar


class StoredRecord(Protocol):
    id: str
    tenant_id: str
    started_at: datetime


R = TypeVar("R", bound=StoredRecord)


class SortedIndex:
    """Ids ordered by (started_at, id): newest-first slices and since-bisects in O(log n)."""

    __slots__ = ("_keys",)

    def __init__(self) -> None:
        self._keys: list[tuple[float, str]] = []

    def add(self, key: tuple[float, str]) -> None:
        insort(self._keys, key)

    def discard(self, key: tuple[float, str]) -> None:
        index = bisect_left(self._keys, key)
        if index < len(self._keys) and self._keys[index] == key:
            del self._keys[index]

    def __len__(self) -> int:
        return len(self._keys)

    def newest(self, limit: int) -> list[str]:
        if limit <= 0:
            return []
        return [record_id for _, record_id in reversed(self._keys[-limit:])]

    def since(self, timestamp: float) -> list[str]:
        start = bisect_left(self._keys, (timestamp, ""))
        return [record_id for _, record_id in reversed(self._keys[start:])]


def _key(record: StoredRecord) -> tuple[float, str]:
    return (record.started_at.timestamp(), record.id)


class RecordStore(Generic[R]):
    """Records by id plus the indexes above. Not thread-safe: the owning service locks."""

    def __init__(
        self,
        *,
        status_of: Callable[[R], str],
        live_statuses: frozenset[str],
        max_finished_per_tenant: int,
    ) -> None:
        self._status_of = status_of
        self._live_statuses = live_statuses
        self._max_finished = max(0, max_finished_per_tenant)
        self._records: dict[str, R] = {}
        self._live: dict[str, dict[str, None]] = defaultdict(dict)
        self._finished: dict[str, dict[str, None]] = defaultdict(dict)  # eviction order
        self._started = SortedIndex()
        self._started_by_tenant: dict[str, SortedIndex] = defaultdict(SortedIndex)
        self._by_status: dict[str, SortedIndex] = defaultdict(SortedIndex)
        self._by_status_tenant: dict[tuple[str, str], SortedIndex] = defaultdict(SortedIndex)

    def __len__(self) -> int:
        return len(self._records)

    def get(self, record_id: str) -> R | None:
        return self._records.get(record_id)

    def put(self, record: R) -> None:
        """Insert a new record or replace one (same id, same tenant and start time)."""
        old = self._records.get(record.id)
        self._records[record.id] = record
        status, tenant, key = self._status_of(record), record.tenant_id, _key(record)
        if old is None:
            self._started.add(key)
            self._started_by_tenant[tenant].add(key)
        else:
            old_status = self._status_of(old)
            if old_status == status:
                return
            self._by_status[old_status].discard(key)
            self._by_status_tenant[(old_status, tenant)].discard(key)
            self._live[tenant].pop(record.id, None)
            self._finished[tenant].pop(record.id, None)
        self._by_status[status].add(key)
        self._by_status_tenant[(status, tenant)].add(key)
        if status in self._live_statuses:
            self._live[tenant][record.id] = None
        else:
            self._finished[tenant][record.id] = None
            self._evict_finished(tenant)

    def _evict_finished(self, tenant: str) -> None:
        finished = self._finished[tenant]
        while len(finished) > self._max_finished:
            oldest_id = next(iter(finished))
            del finished[oldest_id]
            record = self._records.pop(oldest_id)
            key, status = _key(record), self._status_of(record)
            self._started.discard(key)
            self._started_by_tenant[tenant].discard(key)
            self._by_status[status].discard(key)
            self._by_status_tenant[(status, tenant)].discard(key)

    def _ids_to_records(self, ids: list[str]) -> list[R]:
        return [self._records[record_id] for record_id in ids]

    def live(self, *, tenant_id: str | None) -> list[R]:
        if tenant_id is None:
            return [self._records[i] for ids in self._live.values() for i in ids]
        return [self._records[i] for i in self._live.get(tenant_id, {})]

    def newest(self, *, tenant_id: str | None, status: str | None, limit: int) -> list[R]:
        return self._ids_to_records(self._index(tenant_id, status).newest(limit))

    def count(self, *, tenant_id: str | None, status: str | None) -> int:
        return len(self._index(tenant_id, status))

    def started_since(self, *, tenant_id: str | None, since: datetime) -> list[R]:
        return self._ids_to_records(self._index(tenant_id, None).since(since.timestamp()))

    def _index(self, tenant_id: str | None, status: str | None) -> SortedIndex:
        if status is None:
            if tenant_id is None:
                return self._started
            return self._started_by_tenant.get(tenant_id) or SortedIndex()
        if tenant_id is None:
            return self._by_status.get(status) or SortedIndex()
        return self._by_status_tenant.get((status, tenant_id)) or SortedIndex()
