"""Idempotency keys of `POST /v1/outcomes/events`: a retry returns the first event.

One `IdempotencyKeys` per tenant (owned by `index.TenantOutcomes`), oldest first. A key
is remembered for the store's TTL (24 h) and never dropped before: when a tenant
holds its cap of live keys, the store refuses a new keyed write (429) instead of
forgetting one. Nothing here locks; the store holds its lock around every call.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from datetime import datetime
from typing import Generic, TypeVar

from agent33_core.sizing import text_bytes

T = TypeVar("T")

# What one remembered key costs besides its text: the ordered-dict entry and its tuple.
KEY_OVERHEAD_BYTES = 200


def key_bytes(key: str) -> int:
    """Memory one remembered key holds, its own text included (not the event it names)."""
    return KEY_OVERHEAD_BYTES + text_bytes(key)


class IdempotencyKeys(Generic[T]):
    """One tenant's keys -> (remembered at, record), oldest first."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: OrderedDict[str, tuple[datetime, T]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> T | None:
        entry = self._entries.get(key)
        return entry[1] if entry is not None else None

    def add(self, key: str, record: T, now: datetime) -> None:
        self._entries[key] = (now, record)

    def expire(self, cutoff: datetime) -> Iterator[tuple[str, T]]:
        """Drop every key remembered at or before `cutoff`, yielding each (key, record)."""
        entries = self._entries
        while entries:
            key, (remembered_at, record) = next(iter(entries.items()))
            if remembered_at > cutoff:
                return
            del entries[key]
            yield key, record
