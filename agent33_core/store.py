"""The store interface: one tenant-stamped collection of records, indexed and bounded.

Every service keeps its records through a `RecordStore` and nothing else, so the same
service runs on any backend. A store holds pydantic records with `id` and `tenant_id`;
its `StoreSpec` says how to read a record's status, time and size. It promises:

- reads by id (tenant-filtered: another tenant's record is None), newest first by time
  (every record, one status, the live ones, or those since a time), with counts;
- `insert` and `update` are each one atomic step: `update` runs `change(current)` and
  stores its answer with no other write in between (a lock in memory; a script or
  WATCH/MULTI in Redis), so a lifecycle check and its write never interleave with another;
- per tenant at most `max_records` records and `max_bytes` bytes: finished records (status
  outside `live_statuses`) are evicted earliest finished first; a write that eviction
  cannot make room for raises `QuotaExceeded` and changes nothing. A write that finishes a
  record is never refused: finishing is what frees room.

`tenant_id=None` means an operator: every tenant.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, insort
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from .errors import QuotaExceeded


class TenantRecord(Protocol):
    id: str
    tenant_id: str


R = TypeVar("R", bound=TenantRecord)
V = TypeVar("V")


@dataclass(frozen=True)
class StoreSpec(Generic[R]):
    """What a store needs to know about its records, and its per-tenant caps."""

    noun: str  # "trace", in messages
    status_of: Callable[[R], str]
    time_of: Callable[[R], datetime]  # the order of every "newest first"
    size_of: Callable[[R], int]  # estimated bytes the record costs
    live_statuses: frozenset[str]
    max_records: int
    max_bytes: int
    on_evict: Callable[[R], None] | None = None  # drop what lives beside the record


@dataclass(frozen=True)
class Page(Generic[R]):
    """The newest `limit` matching records, and how many matched before the limit.

    `keys` are the records' index keys, `(timestamp of time_of, id)`, in the same order:
    a reader that merges pages (the hub) compares keys and touches only the records it
    keeps (Redis parses a record when it is first read, see `LazyRecords`).
    """

    total: int
    records: Sequence[R]
    keys: Sequence[tuple[float, str]] | None = None


class PageWhenRead(Generic[R]):
    """A `Page` worked out by `build` when one of its fields is first read: a read waiting
    in a `redis_store.batched_reads()` block, or a page made from one, which so leaves the
    store's read waiting with the others."""

    __slots__ = ("_build", "_page")

    def __init__(self, build: Callable[[], Page[R]]) -> None:
        self._build: Callable[[], Page[R]] | None = build
        self._page: Page[R] | None = None

    def _built(self) -> Page[R]:
        if self._page is None:
            assert self._build is not None
            self._page, self._build = self._build(), None
        return self._page

    @property
    def total(self) -> int:
        return self._built().total

    @property
    def records(self) -> Sequence[R]:
        return self._built().records

    @property
    def keys(self) -> Sequence[tuple[float, str]] | None:
        return self._built().keys


class LazyRecords(Sequence[R]):
    """Stored JSON texts read as records when first indexed (each parsed at most once)."""

    __slots__ = ("_parse", "_parsed", "_raws")

    def __init__(self, raws: list[bytes], parse: Callable[[bytes], R]) -> None:
        self._raws = raws
        self._parse = parse
        self._parsed: list[R | None] = [None] * len(raws)

    def __len__(self) -> int:
        return len(self._raws)

    def text(self, index: int) -> bytes:
        """The stored JSON text of record `index` (not parsed)."""
        return self._raws[index]

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self._raws)))]
        record = self._parsed[index]
        if record is None:
            record = self._parsed[index] = self._parse(self._raws[index])
        return record


class RecordStore(Protocol[R]):
    spec: StoreSpec[R]

    def get(self, record_id: str, *, tenant_id: str | None) -> R | None: ...

    def insert(self, record: R) -> R: ...

    def update(
        self, record_id: str, *, tenant_id: str | None, change: Callable[[R], R]
    ) -> tuple[R, R] | None: ...

    def newest(self, *, tenant_id: str | None, status: str | None, limit: int) -> Page[R]: ...

    def newest_live(self, *, tenant_id: str | None, limit: int) -> Page[R]: ...

    def since(self, *, tenant_id: str | None, since: datetime, limit: int) -> Page[R]: ...

    def usage(self, tenant_id: str) -> tuple[int, int]: ...


class SortedIndex:
    """Ids ordered by (time, id): newest-first slices and since-bisects in O(log n)."""

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

    def newest(self, limit: int, start: int = 0) -> list[tuple[float, str]]:
        """The newest `limit` keys at or after position `start`, newest first."""
        if limit <= 0:
            return []
        window = self._keys[max(start, len(self._keys) - limit) :]
        return window[::-1]

    def since(self, timestamp: float) -> int:
        """The position of the first key at or after `timestamp`."""
        return bisect_left(self._keys, (timestamp, ""))


_EMPTY = SortedIndex()


class MemoryRecordStore(Generic[R]):
    """The embedded backend: dicts and sorted lists behind one lock, in this process."""

    def __init__(self, spec: StoreSpec[R]) -> None:
        self.spec = spec
        self._lock = threading.RLock()
        self._records: dict[str, R] = {}
        self._keys: dict[str, tuple[float, str]] = {}
        self._sizes: dict[str, int] = {}
        self._count: dict[str, int] = defaultdict(int)
        self._bytes: dict[str, int] = defaultdict(int)
        self._finished_bytes: dict[str, int] = defaultdict(int)
        self._finished: dict[str, dict[str, None]] = defaultdict(dict)  # eviction order
        # (tenant or None for all, status or None for all, or "live") -> index
        self._indexes: dict[tuple[str | None, str | None], SortedIndex] = defaultdict(SortedIndex)

    # --- reads ---------------------------------------------------------------------

    def get(self, record_id: str, *, tenant_id: str | None) -> R | None:
        record = self._records.get(record_id)
        if record is None or (tenant_id is not None and record.tenant_id != tenant_id):
            return None
        return record

    def newest(self, *, tenant_id: str | None, status: str | None, limit: int) -> Page[R]:
        with self._lock:
            return self._page(self._indexes.get((tenant_id, status), _EMPTY), limit)

    def newest_live(self, *, tenant_id: str | None, limit: int) -> Page[R]:
        with self._lock:
            return self._page(self._indexes.get((tenant_id, _LIVE), _EMPTY), limit)

    def since(self, *, tenant_id: str | None, since: datetime, limit: int) -> Page[R]:
        with self._lock:
            index = self._indexes.get((tenant_id, None), _EMPTY)
            start = index.since(since.timestamp())
            keys = index.newest(limit, start)
            return Page(len(index) - start, self._ids(keys), keys)

    def usage(self, tenant_id: str) -> tuple[int, int]:
        """(records, estimated bytes) the tenant holds now."""
        with self._lock:
            return self._count.get(tenant_id, 0), self._bytes.get(tenant_id, 0)

    def __len__(self) -> int:
        return len(self._records)

    def _page(self, index: SortedIndex, limit: int) -> Page[R]:
        keys = index.newest(limit)
        return Page(len(index), self._ids(keys), keys)

    def _ids(self, keys: list[tuple[float, str]]) -> list[R]:
        return [self._records[record_id] for _, record_id in keys]

    # --- writes --------------------------------------------------------------------

    def insert(self, record: R) -> R:
        with self._lock:
            if record.id in self._records:
                raise ValueError(f"Duplicate {self.spec.noun} id {record.id!r}.")
            size = self.spec.size_of(record)
            self._admit(record, size, old_size=None)
            self._store(record, size, old=None)
        return record

    def update(
        self, record_id: str, *, tenant_id: str | None, change: Callable[[R], R]
    ) -> tuple[R, R] | None:
        """(before, after), or None when there is no such record for this tenant.

        `change` sees the current record under the lock and returns its new version (or
        raises a domain error to refuse, and nothing changes).
        """
        with self._lock:
            current = self.get(record_id, tenant_id=tenant_id)
            if current is None:
                return None
            updated = change(current)
            if updated is current:
                return current, current
            size = self.spec.size_of(updated)
            if self.spec.status_of(updated) in self.spec.live_statuses:
                self._admit(updated, size, old_size=self._sizes[record_id])
            self._store(updated, size, old=current)
            return current, updated

    def _admit(self, record: R, size: int, *, old_size: int | None) -> None:
        """Raise `QuotaExceeded` when no eviction can make room for this write."""
        tenant = record.tenant_id
        count, used = self._count.get(tenant, 0), self._bytes.get(tenant, 0)
        count_after = count + (1 if old_size is None else 0)
        bytes_after = used - (old_size or 0) + size
        if count_after <= count and bytes_after <= used:
            return  # nothing grows
        finished = self._finished.get(tenant, {})
        freeable_count, freeable_bytes = len(finished), self._finished_bytes.get(tenant, 0)
        if record.id in finished:  # a write never evicts the record it writes
            freeable_count -= 1
            freeable_bytes -= old_size or 0
        if (
            count_after - freeable_count > self.spec.max_records
            or bytes_after - freeable_bytes > self.spec.max_bytes
        ):
            raise QuotaExceeded(
                f"This tenant's {self.spec.noun} store is full of live records (at most "
                f"{self.spec.max_records} records and {self.spec.max_bytes} bytes per "
                f"tenant); finish some before adding more."
            )

    def _store(self, record: R, size: int, *, old: R | None) -> None:
        spec, tenant = self.spec, record.tenant_id
        status = spec.status_of(record)
        if old is None:
            key = (spec.time_of(record).timestamp(), record.id)
            self._keys[record.id] = key
            self._count[tenant] += 1
            self._index_add(key, tenant, None)
        else:
            key = self._keys[record.id]
            old_status = spec.status_of(old)
            self._bytes[tenant] -= self._sizes[record.id]
            if record.id in self._finished[tenant]:
                self._finished_bytes[tenant] -= self._sizes[record.id]
            if old_status != status:
                self._index_discard(key, tenant, old_status)
                self._finished[tenant].pop(record.id, None)
                if old_status in spec.live_statuses:
                    self._index_discard(key, tenant, _LIVE)
        self._records[record.id] = record
        self._sizes[record.id] = size
        self._bytes[tenant] += size
        if old is None or spec.status_of(old) != status:
            self._index_add(key, tenant, status)
            if status in spec.live_statuses:
                self._index_add(key, tenant, _LIVE)
            else:
                self._finished[tenant][record.id] = None
        if status not in spec.live_statuses:
            self._finished_bytes[tenant] += size
        self._evict_over_caps(tenant, keep=record.id)

    def _evict_over_caps(self, tenant: str, *, keep: str) -> None:
        finished = self._finished[tenant]
        while self._count[tenant] > self.spec.max_records or (
            self._bytes[tenant] > self.spec.max_bytes
        ):
            oldest = next((i for i in finished if i != keep), None)
            if oldest is None:
                return  # only live records (and the one just written) remain
            self._evict(tenant, oldest)

    def _evict(self, tenant: str, record_id: str) -> None:
        del self._finished[tenant][record_id]
        record = self._records.pop(record_id)
        size = self._sizes.pop(record_id)
        key = self._keys.pop(record_id)
        self._count[tenant] -= 1
        self._bytes[tenant] -= size
        self._finished_bytes[tenant] -= size
        self._index_discard(key, tenant, None)
        self._index_discard(key, tenant, self.spec.status_of(record))
        if self.spec.on_evict is not None:
            self.spec.on_evict(record)

    def _index_add(self, key: tuple[float, str], tenant: str, status: str | None) -> None:
        self._indexes[(tenant, status)].add(key)
        self._indexes[(None, status)].add(key)

    def _index_discard(self, key: tuple[float, str], tenant: str, status: str | None) -> None:
        self._indexes[(tenant, status)].discard(key)
        self._indexes[(None, status)].discard(key)


class KeyedStore(Protocol[V]):
    """Values by key: each call is one round trip (GET, SET, DEL, WATCH/MULTI in Redis)."""

    def get(self, key: str) -> V | None: ...

    def put(self, key: str, value: V) -> None: ...

    def update(self, key: str, change: Callable[[V | None], V]) -> V: ...

    def delete(self, *keys: str) -> None: ...


class MemoryKeyedStore(Generic[V]):
    """The embedded backend: one dict behind one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, V] = {}

    def get(self, key: str) -> V | None:
        return self._values.get(key)

    def put(self, key: str, value: V) -> None:
        with self._lock:
            self._values[key] = value

    def update(self, key: str, change: Callable[[V | None], V]) -> V:
        """Store `change(current)` with no other write in between."""
        with self._lock:
            value = change(self._values.get(key))
            self._values[key] = value
            return value

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._values.pop(key, None)

    def __len__(self) -> int:
        return len(self._values)


# The index of live records sits beside the per-status ones under a name no status has.
_LIVE = "\x00live"
