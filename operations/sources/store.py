"""Indexed in-memory storage for one source's records, so the hub never scans history.

Indexes: live ids per tenant; every record by `started_at` (global and per tenant,
so "started since" is a bisect); every record by status (global and per tenant, so
"all in status X, newest first" is a slice).

Bounded per tenant in count and in bytes (contract §1): a tenant holds at most
`max_records_per_tenant` records and `max_bytes_per_tenant` estimated bytes. Records
outside the live states are "finished" and are evicted earliest finished first; live
records are never evicted, so when only live ones remain a growing write is refused
with 429 `quota_exceeded`, before anything changes.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from agent33_core.errors import QuotaExceeded


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
        size_of: Callable[[R], int],
        live_statuses: frozenset[str],
        max_records_per_tenant: int,
        max_bytes_per_tenant: int,
        noun: str = "record",
    ) -> None:
        self._status_of = status_of
        self._size_of = size_of
        self._live_statuses = live_statuses
        self._max_records = max(1, max_records_per_tenant)
        self._max_bytes = max(1, max_bytes_per_tenant)
        self._noun = noun
        self._records: dict[str, R] = {}
        self._sizes: dict[str, int] = {}
        self._count: dict[str, int] = defaultdict(int)  # per tenant, every record
        self._bytes: dict[str, int] = defaultdict(int)
        self._finished_bytes: dict[str, int] = defaultdict(int)
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

    def size_of(self, record_id: str) -> int:
        """The stored estimate of a record's bytes (0 when unknown)."""
        return self._sizes.get(record_id, 0)

    def usage(self, tenant_id: str) -> tuple[int, int]:
        """(records, estimated bytes) the tenant holds now."""
        return self._count.get(tenant_id, 0), self._bytes.get(tenant_id, 0)

    def put(self, record: R, *, size: int | None = None, may_refuse: bool = True) -> None:
        """Insert a new record or replace one (same id, same tenant and start time).

        `size` is the record's estimated bytes (default `size_of(record)`). When the write
        adds or grows a record and evicting every other finished record of the tenant
        would not bring it under its caps, it raises `QuotaExceeded` and changes nothing.
        `may_refuse=False` (a record finishing) is always stored: refusing it would keep
        live the very records whose finishing frees room.
        """
        size = self._size_of(record) if size is None else size
        if may_refuse:
            self._admit(record, size)
        old = self._records.get(record.id)
        status, tenant, key = self._status_of(record), record.tenant_id, _key(record)
        old_size = self._sizes.get(record.id, 0)
        self._records[record.id] = record
        self._sizes[record.id] = size
        self._bytes[tenant] += size - old_size
        if old is None:
            self._count[tenant] += 1
            self._started.add(key)
            self._started_by_tenant[tenant].add(key)
        else:
            was_finished = record.id in self._finished[tenant]
            if was_finished:
                self._finished_bytes[tenant] += size - old_size
            old_status = self._status_of(old)
            if old_status == status:
                self._evict_over_caps(tenant, keep=record.id)
                return
            self._by_status[old_status].discard(key)
            self._by_status_tenant[(old_status, tenant)].discard(key)
            self._live[tenant].pop(record.id, None)
            if was_finished:
                del self._finished[tenant][record.id]
                self._finished_bytes[tenant] -= size
        self._by_status[status].add(key)
        self._by_status_tenant[(status, tenant)].add(key)
        if status in self._live_statuses:
            self._live[tenant][record.id] = None
        else:
            self._finished[tenant][record.id] = None
            self._finished_bytes[tenant] += size
        self._evict_over_caps(tenant, keep=record.id)

    def _admit(self, record: R, size: int) -> None:
        """Raise `QuotaExceeded` when no eviction can make room for this write."""
        tenant = record.tenant_id
        old_size = self._sizes.get(record.id)
        count, used = self._count.get(tenant, 0), self._bytes.get(tenant, 0)
        count_after = count + (1 if old_size is None else 0)
        bytes_after = used - (old_size or 0) + size
        if count_after <= count and bytes_after <= used:
            return  # nothing grows
        finished = self._finished.get(tenant, {})
        freeable_count = len(finished)
        freeable_bytes = self._finished_bytes.get(tenant, 0)
        if record.id in finished:  # the record being written is never evicted by its own write
            freeable_count -= 1
            freeable_bytes -= old_size or 0
        if (
            count_after - freeable_count > self._max_records
            or bytes_after - freeable_bytes > self._max_bytes
        ):
            raise QuotaExceeded(
                f"This tenant's {self._noun} store is full of live records (at most "
                f"{self._max_records} records and {self._max_bytes} bytes per tenant); "
                f"finish some before adding more."
            )

    def _evict_over_caps(self, tenant: str, *, keep: str) -> None:
        """Evict the tenant's earliest finished records until it is within both caps."""
        finished = self._finished[tenant]
        while self._count[tenant] > self._max_records or self._bytes[tenant] > self._max_bytes:
            oldest_id = next((i for i in finished if i != keep), None)
            if oldest_id is None:
                return  # only live records (and the one just written) remain
            self._evict(tenant, oldest_id)

    def _evict(self, tenant: str, record_id: str) -> None:
        del self._finished[tenant][record_id]
        record = self._records.pop(record_id)
        size = self._sizes.pop(record_id)
        self._count[tenant] -= 1
        self._bytes[tenant] -= size
        self._finished_bytes[tenant] -= size
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
