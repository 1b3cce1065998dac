"""The one seam between the hub and the processes it shows: `ProcessSource` and its registry.

A source is any object that satisfies `ProcessSource`; it registers itself once
(`register_source(...)`, usually from its app's `AppConfig.ready`). The hub never
imports a source's app: it finds a source by include key, by process type, or by the
id prefix of a process (O(1): one dict lookup on the text before the first "-").
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any, NamedTuple, Protocol, runtime_checkable

from pydantic import BaseModel, Field


class ProcessEntry(BaseModel):
    """One process, normalised for the hub (contract §5)."""

    id: str
    type: str
    status: str
    started_at: datetime
    name: str
    tenant_id: str
    metadata: dict[str, Any] = Field(default_factory=dict)


class StepActivity(BaseModel):
    """Work done in one step of a process: how many actions, and when the last completed."""

    step_id: str
    action_count: int
    completed_at: datetime | None = None


class ProcessPage(NamedTuple):
    """The newest `limit` matching processes, and how many matched before the limit."""

    total: int
    entries: list[ProcessEntry]  # newest `started_at` first


class AppliedControl(NamedTuple):
    """What a control did: the status it left (read under the source's lock) and the result."""

    from_status: str
    entry: ProcessEntry


@runtime_checkable
class ProcessSource(Protocol):
    """What the hub needs from a kind of process.

    `tenant_id` is keyword-only everywhere: `None` means an operator (every tenant),
    a string limits the call to that tenant; a foreign process is "not found" (None).
    `apply_control` raises the source's own domain errors (they carry `http_status`
    and `error_code`, e.g. 409 `invalid_transition`). Pages must come from indexes of
    live (or per-status) records, never from a scan of the finished history.

    Entries need not put `tenant_id` in `metadata`: the hub adds it to every entry.
    Optional: a source whose states are not among contract §5's may declare them as
    `statuses: frozenset[str]`, so the hub's `?status=` accepts them too.
    """

    process_type: str  # "multimodal_request"
    include_key: str  # "multimodal", the value of the hub's `include` parameter
    id_prefix: str  # "mmreq", the text before the first "-" of every id

    def live_page(self, *, tenant_id: str | None, since: datetime, limit: int) -> ProcessPage:
        """The default hub view of this type (its live states; see contract §5)."""
        ...

    def status_page(self, *, tenant_id: str | None, status: str, limit: int) -> ProcessPage:
        """Every process in `status` (none when the type has no such status)."""
        ...

    def get_process(self, *, tenant_id: str | None, process_id: str) -> ProcessEntry | None: ...

    def step_activity(self, *, tenant_id: str | None, process_id: str) -> list[StepActivity]: ...

    def allowed_controls(self, entry: ProcessEntry) -> list[str]:
        """The control actions (`pause`, `resume`, `cancel`) the entry's status allows now."""
        ...

    def supported_controls(self) -> frozenset[str]:
        """Every control action this type has at all; others are 409 `unsupported_action`."""
        ...

    def apply_control(
        self, *, tenant_id: str | None, process_id: str, action: str, actor: str, reason: str
    ) -> AppliedControl: ...


class SourceRegistry:
    """Registered sources, indexed three ways. Registration is idempotent per type."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_type: dict[str, ProcessSource] = {}
        self._by_include: dict[str, ProcessSource] = {}
        self._by_prefix: dict[str, ProcessSource] = {}

    def register(self, source: ProcessSource) -> None:
        if not isinstance(source, ProcessSource):
            raise TypeError(f"{source!r} does not implement ProcessSource")
        with self._lock:
            self._by_type[source.process_type] = source
            self._by_include[source.include_key] = source
            self._by_prefix[source.id_prefix] = source

    def by_include(self, key: str) -> ProcessSource | None:
        return self._by_include.get(key)

    def by_type(self, process_type: str) -> ProcessSource | None:
        return self._by_type.get(process_type)

    def for_process_id(self, process_id: str) -> ProcessSource | None:
        prefix, sep, _ = process_id.partition("-")
        return self._by_prefix.get(prefix) if sep else None

    def include_keys(self) -> list[str]:
        return sorted(self._by_include)

    def __iter__(self) -> Iterator[ProcessSource]:
        return iter(list(self._by_type.values()))


registry = SourceRegistry()


def register_source(source: ProcessSource) -> None:
    """Add a source to the hub; call it from your app's `AppConfig.ready`."""
    registry.register(source)
