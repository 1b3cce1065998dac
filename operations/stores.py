"""Where this app's stores come from: one factory, so the backend is chosen in one place."""

from __future__ import annotations

from typing import TypeVar

from agent33_core.state import record_store
from agent33_core.store import RecordStore, StoreSpec, TenantRecord

R = TypeVar("R", bound=TenantRecord)


def make_store(spec: StoreSpec[R], *, name: str, model: type[R]) -> RecordStore[R]:
    """The store for records described by `spec`, on `AGENT33_STATE_BACKEND` (`name` keeps
    its Redis keys apart, `model` reads its records back)."""
    return record_store(spec, name=f"ops:{name}", model=model)
