"""The operations hub: aggregates every registered `ProcessSource`, applies controls.

The hub keeps no processes of its own, only the control history (`history.py`): per process,
bounded per process and per tenant (the process's tenant) in count and bytes, so one
tenant's controls never evict another tenant's audit trail. It asks each source for its
live set (or one status) through indexed calls, so the cost follows the live set, not the
finished history; it merges the sources' pages of records and turns into entries only the
`limit` it returns.
"""

from __future__ import annotations

import heapq
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from hashlib import blake2b
from itertools import islice
from operator import itemgetter
from typing import Any

import pydantic_core
from django.conf import settings
from pydantic import BaseModel

from agent33_core.clock import utc_now
from agent33_core.errors import NotFound, UnsupportedAction
from agent33_core.redis_store import batched_reads
from agent33_core.registry import services
from agent33_core.store import LazyRecords

from . import stream
from .domain import ControlRecord, shown
from .history import make_control_history
from .registry import (
    PageOfRecords,
    ProcessEntry,
    ProcessSource,
    SourceRegistry,
    StepActivity,
    allowed_controls,
    registry,
)

DEFAULT_SINCE = timedelta(hours=24)
DEFAULT_MAX_CONTROL_HISTORY_PER_TENANT = 10_000
DEFAULT_MAX_CONTROL_HISTORY_BYTES_PER_TENANT = 4 * 1024 * 1024
# The JSON of recently shown hub entries the hub keeps, in bytes (each entry's text plus
# what keeping it costs): a bound that holds whatever the entries' sizes.
ENTRY_JSON_CACHE_BYTES = 4 * 1024 * 1024
ENTRY_JSON_OVERHEAD_BYTES = 256


class HubSnapshot(BaseModel):
    timestamp: datetime
    active_count: int
    counts: dict[str, int]
    processes: list[ProcessEntry]


class ProcessDetail(ProcessEntry):
    actions: list[StepActivity]
    controls: list[str]
    control_history: list[ControlRecord]


# A page record with its source, behind its sort key: what the hub's merge compares.
# (timestamp of the sort time, id), the source, the page's records, the record's position.
_Keyed = tuple[tuple[float, str], ProcessSource, Sequence[Any], int]


def _keyed(source: ProcessSource, page: PageOfRecords) -> Iterator[_Keyed]:
    """A page's records behind their merge keys: the store's own keys when it gave them
    (a record is then read only if the merge keeps it), else `source.sort_key`'s, each
    computed when the merge reaches it. Timestamps order exactly as the datetimes do."""
    records = page.records
    if page.keys is not None:
        return ((key, source, records, i) for i, key in enumerate(page.keys))
    sort_key = source.sort_key
    return (
        ((moment.timestamp(), record_id), source, records, i)
        for i, (moment, record_id) in enumerate(map(sort_key, records))
    )


class EntryJSON:
    """Each shown record's hub entry as JSON, rendered once and reused while the store
    still holds that very record: in memory, while it hands out the same record object
    (every change stores a new object); on Redis, while the record's stored text is the
    same (a digest of it is kept, never the text). An entry is a function of its record
    alone. At most `max_bytes` of entries are kept, the oldest rendered going first; the
    cache holds weak references to records, never the records themselves.
    """

    def __init__(self, *, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._rendered: OrderedDict[str, tuple[weakref.ref | bytes, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(
        self, source: ProcessSource, process_id: str, records: Sequence[Any], index: int
    ) -> bytes:
        """The entry of `records[index]`, whose id is `process_id`."""
        hit = self._rendered.get(process_id)
        if isinstance(records, LazyRecords):  # Redis: every read makes new objects
            seen: weakref.ref | bytes = blake2b(records.text(index), digest_size=16).digest()
            if hit is not None and hit[0] == seen:
                return hit[1]
            record = records[index]
        else:
            record = records[index]
            if hit is not None and isinstance(hit[0], weakref.ref) and hit[0]() is record:
                return hit[1]
            seen = weakref.ref(record)
        body = pydantic_core.to_json(source.to_entry(record))
        cost = len(body) + ENTRY_JSON_OVERHEAD_BYTES
        if cost <= self._max_bytes:
            with self._lock:
                old = self._rendered.pop(process_id, None)
                if old is not None:
                    self._bytes -= len(old[1]) + ENTRY_JSON_OVERHEAD_BYTES
                self._rendered[process_id] = (seen, body)
                self._bytes += cost
                while self._bytes > self._max_bytes:
                    _, (_, dropped) = self._rendered.popitem(last=False)
                    self._bytes -= len(dropped) + ENTRY_JSON_OVERHEAD_BYTES
        return body

    @property
    def bytes_held(self) -> int:
        return self._bytes


class OperationsHubService:
    def __init__(
        self,
        *,
        source_registry: SourceRegistry,
        max_history_per_tenant: int = DEFAULT_MAX_CONTROL_HISTORY_PER_TENANT,
        max_history_bytes_per_tenant: int = DEFAULT_MAX_CONTROL_HISTORY_BYTES_PER_TENANT,
    ) -> None:
        self._registry = source_registry
        self._history = make_control_history(
            max_records=max_history_per_tenant, max_bytes=max_history_bytes_per_tenant
        )
        self._entry_json = EntryJSON(max_bytes=ENTRY_JSON_CACHE_BYTES)

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
        counts, newest = self._newest(
            tenant_id=tenant_id, include=include, since=since, status=status, limit=limit
        )
        # Built from validated parts: no second validation of the entries.
        return HubSnapshot.model_construct(
            timestamp=utc_now(),
            active_count=sum(counts.values()),
            counts=counts,
            processes=[source.to_entry(records[i]) for _, source, records, i in newest],
        )

    def snapshot_json(
        self,
        *,
        tenant_id: str | None,
        include: list[str] | None,
        since: datetime | None,
        status: str | None,
        limit: int,
    ) -> bytes:
        """`snapshot(...)` as the JSON its model renders to, built from each entry's JSON
        (`EntryJSON`): a record shown again is not converted again."""
        counts, newest = self._newest(
            tenant_id=tenant_id, include=include, since=since, status=status, limit=limit
        )
        head = pydantic_core.to_json(
            {"timestamp": utc_now(), "active_count": sum(counts.values()), "counts": counts}
        )
        entries = b",".join(
            [self._entry_json(source, key[1], records, i) for key, source, records, i in newest]
        )
        return b"".join((head[:-1], b',"processes":[', entries, b"]}"))

    def _newest(
        self,
        *,
        tenant_id: str | None,
        include: list[str] | None,
        since: datetime | None,
        status: str | None,
        limit: int,
    ) -> tuple[dict[str, int], list[_Keyed]]:
        """Each source's count, and the newest `limit` records of all sources merged."""
        keys = self.include_keys() if include is None else include
        sources = [s for s in map(self._registry.by_include, keys) if s is not None]
        since = since or utc_now() - DEFAULT_SINCE
        # Ask every source first, read the pages after: on Redis the pages then travel
        # together, one round trip for all (`batched_reads`).
        with batched_reads():
            pages = [
                (
                    source,
                    source.live_page(tenant_id=tenant_id, since=since, limit=limit)
                    if status is None
                    else source.status_page(tenant_id=tenant_id, status=status, limit=limit),
                )
                for source in sources
            ]
        counts = {source.process_type: page.total for source, page in pages}
        # Every page is newest first: merge them, and convert only the `limit` shown.
        merged = heapq.merge(
            *(_keyed(source, page) for source, page in pages), key=itemgetter(0), reverse=True
        )
        return counts, list(islice(merged, limit))

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
        history = self._history.get(entry.tenant_id, entry.id)
        return self._detail(source, entry, tenant_id=tenant_id, history=history)

    def _detail(
        self,
        source: ProcessSource,
        entry: ProcessEntry,
        *,
        tenant_id: str | None,
        history: list[ControlRecord],
    ) -> ProcessDetail:
        # A shallow copy of the entry's fields: no dump, no second validation.
        return ProcessDetail.model_construct(
            **dict(entry),
            actions=source.step_activity(tenant_id=tenant_id, process_id=entry.id),
            controls=allowed_controls(source, entry.status),
            control_history=history,
        )

    def control(
        self, *, tenant_id: str | None, process_id: str, action: str, reason: str, actor: str
    ) -> ProcessDetail:
        """Apply `action` through the source's own lifecycle; record it in the history.

        Controls on one process take turns (`control_turn`, across server processes on
        Redis), so its history is in the order the controls were applied.
        """
        # Locate first: an unknown or foreign process is a 404 before any 409.
        source, entry = self._locate(tenant_id=tenant_id, process_id=process_id)
        if action not in source.controls:
            raise UnsupportedAction(
                f"A process of type '{source.process_type}' does not support '{shown(action)}'."
            )
        with self._history.control_turn(entry.tenant_id, process_id):
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
            # A refused control raised above: it appends nothing.
            history = self._history.append(updated.tenant_id, process_id, record)
            stream.publish(stream.CONTROL_APPLIED, updated, control=record)
        return self._detail(source, updated, tenant_id=tenant_id, history=history)


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
