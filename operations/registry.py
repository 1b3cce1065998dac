"""The one seam between the hub and the processes it shows: `ProcessSource` and its registry.

A source is any object that satisfies `ProcessSource`: it describes itself (type,
include key, id prefix, statuses, live statuses, controls) and answers seven calls. The
hub never imports a source's app: it finds a source by include key or by the id prefix
of a process (O(1): one dict lookup on the text before the first "-"), and derives
from `controls` which actions an entry allows and which are `unsupported_action`.

A page (`ProcessPage`) is `(total, records)`: the source's own stored records, opaque to
the hub, which only hands them back to the source: newest first by the source's
`sort_key` (a record's `(started_at, id)`). The hub merges every source's page on those
keys and converts only the `limit` records it returns, with the source's `to_entry`;
stored records were validated once, so `to_entry` builds with `ProcessEntry.trusted`.

Adding a sixth kind of process is one package plus one registration:
1. a package (here `operations/sources/<name>/`, or any app) whose `source.py` builds
   an object with the attributes and methods of `ProcessSource` (a `LifecycleService`
   subclass wrapped in `ServiceBackedSource` gives all of them);
2. `register_source(that_object)` in its app's `AppConfig.ready`.
The hub's `?include=` and `?status=` then accept its include key and statuses, and its
processes appear in the hub, the detail and the controls. (The schema's `ProcessType`
and `ProcessStatus` enums are documentation: extend them in `operations/domain.py` and
`operations/serializers.py` when the new values should be published.)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol, runtime_checkable

from pydantic import BaseModel, Field


class ProcessEntry(BaseModel):
    """One process, normalised for the hub (contract §5); `metadata` carries `tenant_id`."""

    id: str
    type: str
    status: str
    started_at: datetime
    name: str
    tenant_id: str
    metadata: dict[str, Any] = Field(default_factory=dict)

    @staticmethod
    def trusted(
        *,
        id: str,
        type: str,
        status: str,
        started_at: datetime,
        name: str,
        tenant_id: str,
        metadata: dict[str, Any],
    ) -> ProcessEntry:
        """An entry of values already validated (a stored record's): no second validation.

        What `model_construct` sets up, without its per-field alias search (3x faster);
        every field is a required keyword here, so none is left unset by mistake.
        """
        entry = ProcessEntry.__new__(ProcessEntry)
        _set_attribute(
            entry,
            "__dict__",
            {
                "id": id,
                "type": type,
                "status": status,
                "started_at": started_at,
                "name": name,
                "tenant_id": tenant_id,
                "metadata": metadata,
            },
        )
        _set_attribute(entry, "__pydantic_fields_set__", set(_ENTRY_FIELDS))
        _set_attribute(entry, "__pydantic_extra__", None)
        _set_attribute(entry, "__pydantic_private__", None)
        return entry


_ENTRY_FIELDS = frozenset(ProcessEntry.model_fields)
_set_attribute = object.__setattr__  # what pydantic's `model_construct` sets a model up with


class StepActivity(BaseModel):
    """Work done in one step of a process: how many actions, and when the last completed."""

    step_id: str
    action_count: int
    completed_at: datetime | None = None


class PageOfRecords(Protocol):
    """What the hub reads of a page: a `ProcessPage`, or a store's own `Page` handed on
    as it is (read only after every source was asked, so Redis sends all pages at once)."""

    @property
    def total(self) -> int: ...

    @property
    def records(self) -> Sequence[Any]: ...

    @property
    def keys(self) -> Sequence[tuple[float, str]] | None: ...


class ProcessPage(NamedTuple):
    """The newest `limit` matching records, and how many matched before the limit."""

    total: int
    records: Sequence[Any]  # the source's own, newest `sort_key` first; see `to_entry`
    # The records' `(timestamp of sort_key time, id)`, when the store gave them: the hub
    # then merges on these and reads only the records it shows.
    keys: Sequence[tuple[float, str]] | None = None


class AppliedControl(NamedTuple):
    """What a control did: the status it left (read in the same atomic step) and the result."""

    from_status: str
    entry: ProcessEntry


@runtime_checkable
class ProcessSource(Protocol):
    """What the hub needs from a kind of process.

    `tenant_id` is keyword-only everywhere: `None` means an operator (every tenant),
    a string limits the call to that tenant; a foreign process is "not found" (None).
    `controls` maps each control action to `{from_status: to_status}` ({} = no controls);
    the hub refuses any other action (409 `unsupported_action`) before `apply_control`,
    which raises the source's domain errors (e.g. 409 `invalid_transition`). Pages come
    from indexes of live (or per-status) records, never from a scan of finished history;
    they hold records, cheap to fetch, and only the ones the hub shows become entries.
    Every entry's `metadata` carries its `tenant_id`.
    """

    process_type: str  # "trace"
    include_key: str  # "traces", the value of the hub's `include` parameter
    id_prefix: str  # "trace", the text before the first "-" of every id
    statuses: tuple[str, ...]  # every status this type reports
    live_statuses: frozenset[str]  # what the default hub view shows
    controls: Mapping[str, Mapping[str, str]]

    def live_page(self, *, tenant_id: str | None, since: datetime, limit: int) -> PageOfRecords:
        """The default hub view of this type (contract §5; `since` bounds workflow runs)."""
        ...

    def status_page(self, *, tenant_id: str | None, status: str, limit: int) -> PageOfRecords:
        """Every process in `status` (none when the type has no such status)."""
        ...

    def sort_key(self, record: Any) -> tuple[datetime, str]:
        """A page record's `(started_at, id)`: the order of its pages and of the hub."""
        ...

    def to_entry(self, record: Any) -> ProcessEntry:
        """A page record as a hub entry, without validating it again."""
        ...

    def get_process(self, *, tenant_id: str | None, process_id: str) -> ProcessEntry | None: ...

    def step_activity(self, *, tenant_id: str | None, process_id: str) -> list[StepActivity]: ...

    def apply_control(
        self, *, tenant_id: str | None, process_id: str, action: str, actor: str, reason: str
    ) -> AppliedControl: ...


def allowed_controls(source: ProcessSource, status: str) -> list[str]:
    """The actions `source.controls` allows from `status`, in declaration order."""
    return [action for action, moves in source.controls.items() if status in moves]


class SourceRegistry:
    """Registered sources, indexed by type, include key and id prefix (idempotent per type)."""

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

    def statuses(self) -> list[str]:
        """Every status any registered source reports, sorted (the hub's `?status=` choices)."""
        return sorted({status for source in self for status in source.statuses})

    def __iter__(self) -> Iterator[ProcessSource]:
        return iter(list(self._by_type.values()))


registry = SourceRegistry()


def register_source(source: ProcessSource) -> None:
    """Add a source to the hub; call it from your app's `AppConfig.ready`."""
    registry.register(source)
