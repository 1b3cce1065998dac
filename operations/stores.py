"""Where this app's stores come from: one factory, so a backend plugs in at one place."""

from __future__ import annotations

from typing import TypeVar

from agent33_core.store import MemoryRecordStore, RecordStore, StoreSpec, TenantRecord

R = TypeVar("R", bound=TenantRecord)


def make_store(spec: StoreSpec[R]) -> RecordStore[R]:
    """The store for records described by `spec` (in memory today; Redis plugs in here)."""
    return MemoryRecordStore(spec)
