"""What the four sources share: a service over one store, and its `ProcessSource`.

A source service declares its lifecycle as data (`lifecycle`, `live_statuses`,
`controls`: action -> {from_status: to_status}), what `create` builds (`record_model`
in `initial_status`) and how a record becomes a hub entry (`to_entry`). Every change is
one atomic `store.update(...)` whose `change` runs `transition()`, so a hub control and
a source transition on the same record never interleave.

Memory (contract §1, §5): per tenant, each source's store keeps at most
`OPERATIONS_MAX_RECORDS_PER_TENANT` records and `OPERATIONS_MAX_BYTES_PER_TENANT`
estimated bytes; a record's nested list (a trace's actions, a run's events) holds at
most `OPERATIONS_MAX_ACTIONS_PER_TRACE` items. A record's bytes are an upper bound of
what it holds once read (`agent33_core.sizing`: every object, and the UTF-8 copy a rendered
non-ASCII string keeps) plus a fixed allowance for the store's own entries. The nested list
carries its items' bytes (`SizedItems`), so an append sizes only the new item.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Generic, Self, TypeVar

from django.conf import settings
from pydantic import BaseModel

from agent33_core.clock import new_id, utc_now
from agent33_core.errors import InvalidTransition, NotFound
from agent33_core.lifecycle import transition
from agent33_core.registry import ServiceHandle
from agent33_core.sizing import block_bytes, model_bytes, value_bytes
from agent33_core.store import Page, StoreSpec
from operations import stream
from operations.domain import shown
from operations.registry import (
    AppliedControl,
    PageOfRecords,
    ProcessEntry,
    ProcessPage,
    StepActivity,
)
from operations.stores import make_store

R = TypeVar("R", bound=BaseModel)

DEFAULT_MAX_RECORDS_PER_TENANT = 10_000
DEFAULT_MAX_BYTES_PER_TENANT = 16 * 1024 * 1024
DEFAULT_MAX_ACTIONS_PER_TRACE = 1_000
# What the store holds per record beyond the record itself: its index and size entries.
RECORD_OVERHEAD_BYTES = 1024


class SizedItems(list):
    """A record's nested list that knows its items' bytes (`agent33_core.sizing`)."""

    __slots__ = ("items_bytes",)

    def __init__(self, items: Iterable[Any], items_bytes: int) -> None:
        super().__init__(items)
        self.items_bytes = items_bytes


def items_bytes(items: list[Any]) -> int:
    """The bytes of a nested list's items (known when it is `SizedItems`)."""
    if isinstance(items, SizedItems):
        return items.items_bytes
    return sum(map(value_bytes, items))


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def max_records_per_tenant() -> int:
    """Records per tenant per source (live and finished together)."""
    return _setting("OPERATIONS_MAX_RECORDS_PER_TENANT", DEFAULT_MAX_RECORDS_PER_TENANT)


def max_bytes_per_tenant() -> int:
    return _setting("OPERATIONS_MAX_BYTES_PER_TENANT", DEFAULT_MAX_BYTES_PER_TENANT)


def max_items_per_record() -> int:
    """Actions per trace, and events per workflow run."""
    return _setting("OPERATIONS_MAX_ACTIONS_PER_TRACE", DEFAULT_MAX_ACTIONS_PER_TRACE)


class LifecycleService(Generic[R]):
    """One source's records in one store; tenant_id=None is an operator (every tenant)."""

    noun: ClassVar[str]  # "trace", used in error messages
    id_prefix: ClassVar[str]
    process_type: ClassVar[str]  # the hub's `type` of these records
    name_field: ClassVar[str]  # the record field the hub shows as `name`
    record_model: type[R]  # what `create` builds
    status_field: ClassVar[str] = "status"
    initial_status: ClassVar[str | None] = None  # None: the creator's fields carry it
    lifecycle: ClassVar[Mapping[str, frozenset[str]]]  # every status is a key
    live_statuses: ClassVar[frozenset[str]]
    controls: ClassVar[Mapping[str, Mapping[str, str]]] = {}
    nested_field: ClassVar[str | None] = None  # a list the record grows (a trace's actions)

    def __init__(
        self,
        *,
        max_records_per_tenant: int = DEFAULT_MAX_RECORDS_PER_TENANT,
        max_bytes_per_tenant: int = DEFAULT_MAX_BYTES_PER_TENANT,
        max_items_per_record: int = DEFAULT_MAX_ACTIONS_PER_TRACE,
    ) -> None:
        self._max_items = max_items_per_record
        self._store = make_store(
            StoreSpec(
                noun=self.noun,
                status_of=self.status_of,
                time_of=lambda record: record.started_at,
                size_of=self.record_bytes,
                live_statuses=frozenset(self.live_statuses),
                max_records=max(1, max_records_per_tenant),
                max_bytes=max(1, max_bytes_per_tenant),
            ),
            name=self.id_prefix,
            model=self.record_model,
        )

    @classmethod
    def from_settings(cls) -> Self:
        return cls(
            max_records_per_tenant=max_records_per_tenant(),
            max_bytes_per_tenant=max_bytes_per_tenant(),
            max_items_per_record=max_items_per_record(),
        )

    @classmethod
    def statuses(cls) -> tuple[str, ...]:
        return tuple(str(status) for status in cls.lifecycle)

    # --- records -----------------------------------------------------------------

    def status_of(self, record: R) -> str:
        return getattr(record, self.status_field)

    def record_bytes(self, record: R) -> int:
        """Upper bound of the whole record's bytes (what the per-tenant byte cap counts)."""
        field = self.nested_field
        if field is None:
            return model_bytes(record) + RECORD_OVERHEAD_BYTES
        items = getattr(record, field)
        return (
            model_bytes(record, exclude=field)
            + block_bytes(sys.getsizeof(items))
            + items_bytes(items)
            + RECORD_OVERHEAD_BYTES
        )

    def create(
        self, *, tenant_id: str, fields: dict[str, Any], started_at: datetime | None = None
    ) -> R:
        """A new record in `initial_status`, started at `started_at` (default now)."""
        now = utc_now()
        defaults: dict[str, Any] = {
            "id": new_id(self.id_prefix),
            "tenant_id": tenant_id,
            "started_at": started_at or now,
            "created_at": now,
            "updated_at": now,
        }
        if self.initial_status is not None:
            defaults[self.status_field] = self.initial_status
        record = self._store.insert(self.record_model(**defaults, **fields))
        stream.publish(stream.CREATED, record)
        return record

    def find(self, *, tenant_id: str | None, record_id: str) -> R | None:
        return self._store.get(record_id, tenant_id=tenant_id)

    def get(self, *, tenant_id: str | None, record_id: str) -> R:
        record = self.find(tenant_id=tenant_id, record_id=record_id)
        if record is None:
            raise self._not_found(record_id)
        return record

    def list(self, *, tenant_id: str | None, status: str | None, limit: int) -> list[R]:
        """Whole records, newest `started_at` first."""
        return list(self._store.newest(tenant_id=tenant_id, status=status, limit=limit).records)

    def list_summaries(
        self, *, tenant_id: str | None, status: str | None, limit: int
    ) -> list[BaseModel]:
        """What the list endpoint answers: newest first, each as `summary` shows it."""
        records = self.list(tenant_id=tenant_id, status=status, limit=limit)
        return [self.summary(record) for record in records]

    def summary(self, record: R) -> BaseModel:
        """The record as a list shows it (sources with a nested list show its length)."""
        return record

    def newest(self, *, tenant_id: str | None, status: str | None, limit: int) -> Page[R]:
        return self._store.newest(tenant_id=tenant_id, status=status, limit=limit)

    def newest_live(self, *, tenant_id: str | None, limit: int) -> Page[R]:
        return self._store.newest_live(tenant_id=tenant_id, limit=limit)

    # --- changes: each one atomic store step -----------------------------------------

    def _update(self, record_id: str, *, tenant_id: str | None, change: Callable[[R], R]) -> R:
        result = self._store.update(record_id, tenant_id=tenant_id, change=change)
        if result is None:
            raise self._not_found(record_id)
        stream.publish_moved(self.status_of(result[0]), self.status_of(result[1]), result[1])
        return result[1]

    def _not_found(self, record_id: str) -> NotFound:
        return NotFound(f"No {self.noun} with id '{shown(record_id)}'.")

    def _moved(self, record: R, target: str, *, refusal: str | None = None, **changes: Any) -> R:
        """`record` in `target` when the lifecycle allows it (else a 409), not yet stored."""
        current = self.status_of(record)
        transition(self.lifecycle, noun=self.noun, current=current, target=target, refusal=refusal)
        # model_copy does not validate: keep the field's enum type.
        return record.model_copy(
            update={self.status_field: type(current)(target), "updated_at": utc_now(), **changes}
        )

    def transition(
        self, *, tenant_id: str | None, record_id: str, target: str, **changes: Any
    ) -> R:
        return self._update(
            record_id,
            tenant_id=tenant_id,
            change=lambda record: self._moved(record, target, **changes),
        )

    def _append(
        self,
        record_id: str,
        *,
        tenant_id: str | None,
        item: BaseModel,
        check: Callable[[R], None] | None = None,
        **changes: Any,
    ) -> R:
        """Add `item` to the record's nested list: 409 when full, 429 when no room."""
        assert self.nested_field is not None
        field = self.nested_field

        def append(record: R) -> R:
            if check is not None:
                check(record)
            items = getattr(record, field)
            if len(items) >= self._max_items:
                raise InvalidTransition(f"A {self.noun} holds at most {self._max_items} {field}.")
            grown = SizedItems([*items, item], items_bytes(items) + value_bytes(item))
            return record.model_copy(update={field: grown, **changes})

        return self._update(record_id, tenant_id=tenant_id, change=append)

    def apply_control(self, *, tenant_id: str | None, record_id: str, action: str) -> tuple[str, R]:
        """(previous status, updated record), in one atomic step; `action` is in `controls`."""
        moves = self.controls[action]

        def control(record: R) -> R:
            current = self.status_of(record)
            refusal = f"Cannot {shown(action)} a {self.noun} that is '{current}'."
            return self._moved(record, moves.get(current, current), refusal=refusal)

        result = self._store.update(record_id, tenant_id=tenant_id, change=control)
        if result is None:
            raise self._not_found(record_id)
        before, after = result
        stream.publish_moved(self.status_of(before), self.status_of(after), after)
        return str(self.status_of(before)), after

    # --- what the hub reads --------------------------------------------------------

    def to_entry(self, record: R) -> ProcessEntry:
        """The record as a hub entry; `name` falls back to the id when the field is blank.

        The stored record was validated once: the entry takes its values as they are.
        """
        metadata = self.entry_metadata(record)
        metadata["tenant_id"] = record.tenant_id
        return ProcessEntry.trusted(
            id=record.id,
            type=self.process_type,
            status=str(self.status_of(record)),  # a StrEnum status as its plain text
            started_at=record.started_at,
            name=getattr(record, self.name_field) or record.id,
            tenant_id=record.tenant_id,
            metadata=metadata,
        )

    def entry_metadata(self, record: R) -> dict[str, Any]:
        """What the hub shows of this source's own fields: a new dict (the entry keeps it)
        of plain values (a StrEnum as `str(...)`: pydantic-core writes an enum in a free-form
        dict through Python, about 3 us a value).
        """
        raise NotImplementedError

    def step_activity(self, *, tenant_id: str | None, process_id: str) -> list[StepActivity]:
        return []


class ServiceBackedSource:
    """A `ProcessSource` over a `LifecycleService`: it describes itself from the service
    class and asks the registered service (`handle.get()`) on every call, so a test that
    resets the services needs no re-registration.
    """

    def __init__(
        self,
        *,
        service_class: type[LifecycleService],
        include_key: str,
        handle: ServiceHandle[LifecycleService],
    ) -> None:
        self.process_type = service_class.process_type
        self.include_key = include_key
        self.id_prefix = service_class.id_prefix
        self.statuses = service_class.statuses()
        self.live_statuses = frozenset(str(s) for s in service_class.live_statuses)
        self.controls = {
            action: {str(a): str(b) for a, b in moves.items()}
            for action, moves in service_class.controls.items()
        }
        self._handle = handle

    def live_page(self, *, tenant_id: str | None, since: datetime, limit: int) -> PageOfRecords:
        """Live records whenever they started (`since` does not narrow live work)."""
        return self._handle.get().newest_live(tenant_id=tenant_id, limit=limit)

    def status_page(self, *, tenant_id: str | None, status: str, limit: int) -> PageOfRecords:
        if status not in self.statuses:
            return ProcessPage(0, [])
        return self._handle.get().newest(tenant_id=tenant_id, status=status, limit=limit)

    def sort_key(self, record: BaseModel) -> tuple[datetime, str]:
        return record.started_at, record.id

    def to_entry(self, record: BaseModel) -> ProcessEntry:
        return self._handle.get().to_entry(record)

    def get_process(self, *, tenant_id: str | None, process_id: str) -> ProcessEntry | None:
        service = self._handle.get()
        record = service.find(tenant_id=tenant_id, record_id=process_id)
        return None if record is None else service.to_entry(record)

    def step_activity(self, *, tenant_id: str | None, process_id: str) -> list[StepActivity]:
        return self._handle.get().step_activity(tenant_id=tenant_id, process_id=process_id)

    def apply_control(
        self, *, tenant_id: str | None, process_id: str, action: str, actor: str, reason: str
    ) -> AppliedControl:
        service = self._handle.get()
        previous, record = service.apply_control(
            tenant_id=tenant_id, record_id=process_id, action=action
        )
        return AppliedControl(previous, service.to_entry(record))
